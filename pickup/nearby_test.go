package pickup

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/uber/h3-go/v4"

	"groupbuy/internal/apperr"

	"groupbuy/pickup/geo"
	"groupbuy/pickup/geo/geotest"
)

// cityPoints scatters n points around (lat, lng) within about spanKm, with
// ids from 1, half of them in clusters as real estates are.
func cityPoints(r *rand.Rand, n int, lat, lng, spanKm float64) []Point {
	points := make([]Point, 0, n)
	for i, ll := range geotest.City(r, n, lat, lng, spanKm) {
		points = append(points, Point{ID: int64(i + 1), Lat: ll.Lat, Lng: ll.Lng})
	}
	return points
}

// edgePoints returns locations on the boundaries of the geo.SearchRes cells
// around a location: vertices and edge midpoints, the hardest cases.
func edgePoints(t testing.TB, lat, lng float64, firstID int64) []Point {
	c, err := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, geo.SearchRes)
	if err != nil {
		t.Fatal(err)
	}
	disk, err := h3.GridDisk(c, 2)
	if err != nil {
		t.Fatal(err)
	}
	var out []Point
	for _, d := range disk {
		b, err := h3.CellToBoundary(d)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range b {
			w := b[(i+1)%len(b)]
			for _, ll := range []h3.LatLng{v, {Lat: (v.Lat + w.Lat) / 2, Lng: (v.Lng + w.Lng) / 2}} {
				out = append(out, Point{ID: firstID + int64(len(out)), Lat: ll.Lat, Lng: ll.Lng})
			}
		}
	}
	return out
}

func sameResults(t *testing.T, q NearbyQuery, got, want []NearbyPoint) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("query %+v: %d results, brute force %d", q, len(got), len(want))
	}
	for i := range got {
		if got[i].ID != want[i].ID || got[i].DistanceM != want[i].DistanceM {
			t.Fatalf("query %+v: result %d is point %d at %v m, brute force point %d at %v m",
				q, i, got[i].ID, got[i].DistanceM, want[i].ID, want[i].DistanceM)
		}
	}
}

func TestNearbyMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 2))
	const lat, lng = 31.23, 121.47
	points := cityPoints(r, 4000, lat, lng, 40)
	points = append(points, edgePoints(t, lat, lng, 100_000)...)
	points = append(points, edgePoints(t, lat+0.05, lng-0.03, 200_000)...)
	set, err := newPointSet(points)
	if err != nil {
		t.Fatal(err)
	}
	queries := 0
	check := func(q NearbyQuery) {
		t.Helper()
		if err := q.Validate(); err != nil {
			t.Fatalf("query %+v: %v", q, err)
		}
		got, err := set.nearby(q)
		if err != nil {
			t.Fatal(err)
		}
		sameResults(t, q, got, NearbyBruteForce(points, q))
		queries++
	}
	for range 400 {
		q := NearbyQuery{Lat: lat + (r.Float64()-0.5)*0.5, Lng: lng + (r.Float64()-0.5)*0.5,
			RadiusM: []float64{50, 300, 1000, 2500, 8000, 50_000}[r.IntN(6)] * (0.5 + r.Float64()),
			Limit:   1 + r.IntN(MaxNearbyLimit)}
		q.RadiusM = min(q.RadiusM, MaxNearbyRadiusM)
		check(q)
	}
	// Exactly at the radius: a point at distance d is found with radius d,
	// from queries on cell edges too.
	for range 400 {
		p := points[r.IntN(len(points))]
		from := points[r.IntN(len(points))]
		d := geo.DistanceM(from.Lat, from.Lng, p.Lat, p.Lng)
		if d == 0 || d > MaxNearbyRadiusM {
			continue
		}
		q := NearbyQuery{Lat: from.Lat, Lng: from.Lng, RadiusM: d, Limit: MaxNearbyLimit}
		check(q)
		got, _ := set.nearby(NearbyQuery{Lat: from.Lat, Lng: from.Lng, RadiusM: d, Limit: MaxNearbyLimit})
		if len(got) < MaxNearbyLimit && !containsPoint(got, p.ID) {
			t.Fatalf("point %d at exactly the radius %v m was missed", p.ID, d)
		}
	}
	// Far from every point, and across the antimeridian.
	check(NearbyQuery{Lat: 0, Lng: 0, RadiusM: 50_000, Limit: 10})
	check(NearbyQuery{Lat: 31.23, Lng: 121.47 + 0.6, RadiusM: 50_000, Limit: 100})
	t.Logf("%d queries matched brute force over %d points", queries, len(points))
}

func containsPoint(ps []NearbyPoint, id int64) bool {
	for _, p := range ps {
		if p.ID == id {
			return true
		}
	}
	return false
}

func TestNearbyAntimeridianAndPoles(t *testing.T) {
	points := []Point{{ID: 1, Lat: 0, Lng: 179.999}, {ID: 2, Lat: 0, Lng: -179.999}, {ID: 3, Lat: 89.9999, Lng: 10},
		{ID: 4, Lat: 89.9999, Lng: -170}}
	set, err := newPointSet(points)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []NearbyQuery{{Lat: 0, Lng: 180, RadiusM: 1000, Limit: 5}, {Lat: 90, Lng: 0, RadiusM: 100, Limit: 5}} {
		got, err := set.nearby(q)
		if err != nil {
			t.Fatal(err)
		}
		sameResults(t, q, got, NearbyBruteForce(points, q))
		if len(got) != 2 {
			t.Errorf("query %+v found %d points, want 2", q, len(got))
		}
	}
}

func TestNearbyUpdatesAndRemovals(t *testing.T) {
	set, err := newPointSet([]Point{{ID: 1, Lat: 31.2, Lng: 121.4}, {ID: 2, Lat: 31.21, Lng: 121.4}})
	if err != nil {
		t.Fatal(err)
	}
	// Point 1 moves 30 km away; point 2 is removed; point 3 arrives.
	next, err := set.with([]Point{{ID: 1, Lat: 31.5, Lng: 121.4}, {ID: 3, Lat: 31.2001, Lng: 121.4}}, []int64{2})
	if err != nil {
		t.Fatal(err)
	}
	got, err := next.nearby(NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 5000, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 3 {
		t.Fatalf("after the update got %+v, want only point 3", got)
	}
	if old, _ := set.nearby(NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 5000, Limit: 10}); len(old) != 2 {
		t.Fatalf("the old snapshot changed: %+v", old)
	}
}

func TestNearbyQueryValidation(t *testing.T) {
	good := NearbyQuery{Lat: 31, Lng: 121, RadiusM: 1000, Limit: 10}
	for field, mutate := range map[string][]func(*NearbyQuery){
		"lat":      {func(q *NearbyQuery) { q.Lat = 90.001 }, func(q *NearbyQuery) { q.Lat = math.NaN() }, func(q *NearbyQuery) { q.Lat = -91 }},
		"lng":      {func(q *NearbyQuery) { q.Lng = 180.5 }, func(q *NearbyQuery) { q.Lng = math.NaN() }},
		"radius_m": {func(q *NearbyQuery) { q.RadiusM = 0 }, func(q *NearbyQuery) { q.RadiusM = -1 }, func(q *NearbyQuery) { q.RadiusM = 50_000.1 }},
		"limit":    {func(q *NearbyQuery) { q.Limit = 0 }, func(q *NearbyQuery) { q.Limit = 101 }},
	} {
		for _, m := range mutate {
			q := good
			m(&q)
			var e *apperr.Error
			if err := q.Validate(); !errors.As(err, &e) || e.Field != field || e.Kind != apperr.Invalid {
				t.Errorf("bad %s (%+v): got %v", field, q, err)
			}
		}
	}
	for _, q := range []NearbyQuery{good, {Lat: 90, Lng: 180, RadiusM: 50_000, Limit: 100}, {Lat: -90, Lng: -180, RadiusM: 0.001, Limit: 1}} {
		if err := q.Validate(); err != nil {
			t.Errorf("%+v refused: %v", q, err)
		}
	}
}
