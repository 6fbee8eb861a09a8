package pickup

import (
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"

	"groupbuy/pickup/geo"
	"groupbuy/pickup/geo/geotest"
)

// BenchmarkNearby searches 20,000 points spread over a 40 km city with
// queries from random places in it (radius 2 km and limit 10, the resident's
// case, then wider ones), and reports queries/s, the p99 latency and how many
// times faster than brute force the index is in the same run. Run with -cpu 1.
func BenchmarkNearby(b *testing.B) {
	r := rand.New(rand.NewPCG(20_000, 1))
	const lat, lng = 31.23, 121.47
	points := cityPoints(r, 20_000, lat, lng, 40)
	set, err := newPointSet(points)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		radiusM float64
		limit   int
	}{{"r=2km,limit=10", 2000, 10}, {"r=5km,limit=50", 5000, 50}, {"r=50km,limit=100", 50_000, 100}} {
		queries := make([]NearbyQuery, 4096)
		for i := range queries {
			queries[i] = NearbyQuery{Lat: lat + (r.Float64()-0.5)*0.36, Lng: lng + (r.Float64()-0.5)*0.42, RadiusM: c.radiusM, Limit: c.limit}
		}
		b.Run(c.name, func(b *testing.B) { benchNearby(b, set, points, queries) })
	}
}

func benchNearby(b *testing.B, set *pointSet, points []Point, queries []NearbyQuery) {
	lat99 := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		t0 := time.Now()
		if _, err := set.nearby(queries[i%len(queries)]); err != nil {
			b.Fatal(err)
		}
		lat99 = append(lat99, time.Since(t0))
	}
	elapsed := time.Since(start)
	b.StopTimer()
	slices.Sort(lat99)
	p99 := lat99[len(lat99)*99/100]
	// Brute force over the same queries, timed beside it.
	n := min(b.N, 200)
	t0 := time.Now()
	for i := range n {
		NearbyBruteForce(points, queries[i%len(queries)])
	}
	brute := time.Since(t0) / time.Duration(n)
	perQuery := elapsed / time.Duration(b.N)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "queries/s")
	b.ReportMetric(float64(p99.Nanoseconds())/1000, "p99-µs")
	b.ReportMetric(float64(brute.Nanoseconds())/1000, "brute-µs/op")
	b.ReportMetric(float64(brute)/float64(perQuery), "x-faster-than-brute")
}

// BenchmarkPartitionAreas partitions 10,000 points of one warehouse with
// demand into delivery areas of one van's capacity.
func BenchmarkPartitionAreas(b *testing.B) {
	r := rand.New(rand.NewPCG(10_000, 2))
	points := areaPoints(r, 10_000)
	b.ResetTimer()
	var areas []geo.DeliveryArea
	for range b.N {
		var err error
		if areas, err = geo.PartitionAreas(h3.LatLng{Lat: 31.23, Lng: 121.47}, points, geo.DefaultAreaLimit(), geo.AreaRes); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(areas)), "areas")
}

// BenchmarkDeliveryAreaMap is what the areas endpoint computes for 10,000
// points besides reading them: the partition, the GeoJSON map and its JSON.
func BenchmarkDeliveryAreaMap(b *testing.B) {
	r := rand.New(rand.NewPCG(10_000, 2))
	points := areaPoints(r, 10_000)
	stored := make([]Point, len(points))
	demand := make(map[int64]Demand, len(points))
	for i, p := range points {
		stored[i] = Point{ID: p.ID, Lat: p.Lat, Lng: p.Lng}
		demand[p.ID] = Demand{PointID: p.ID, WeightG: p.WeightG, VolumeML: p.VolumeML}
	}
	w := Warehouse{ID: 1, Lat: 31.23, Lng: 121.47}
	b.ResetTimer()
	var size int
	for range b.N {
		areas, err := geo.PartitionAreas(h3.LatLng{Lat: w.Lat, Lng: w.Lng}, points, geo.DefaultAreaLimit(), geo.AreaRes)
		if err != nil {
			b.Fatal(err)
		}
		fc, err := areasGeoJSON(w, stored, demand, areas, geo.DefaultAreaLimit())
		if err != nil {
			b.Fatal(err)
		}
		raw, err := json.Marshal(fc)
		if err != nil {
			b.Fatal(err)
		}
		size = len(raw)
	}
	b.ReportMetric(float64(size)/1e6, "MB-json")
}

// areaPoints is a city of n points with 5-60 kg and 10-80 l of demand each.
func areaPoints(r *rand.Rand, n int) []geo.AreaPoint {
	ps := cityPoints(r, n, 31.23, 121.47, 40)
	out := make([]geo.AreaPoint, n)
	for i, p := range ps {
		out[i] = geo.AreaPoint{ID: p.ID, Lat: p.Lat, Lng: p.Lng}
		out[i].WeightG, out[i].VolumeML = geotest.Demand(r)
	}
	return out
}
