package geo

import (
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/uber/h3-go/v4"

	"groupbuy/pickup/geo/geotest"
)

var testDepot = h3.LatLng{Lat: 31.23, Lng: 121.47}

// checkAreas verifies the partition's promises.
func checkAreas(t *testing.T, points []AreaPoint, areas []DeliveryArea, limit Capacity, res int) {
	t.Helper()
	byID := map[int64]AreaPoint{}
	for _, p := range points {
		byID[p.ID] = p
	}
	seen := map[int64]int{}
	for _, a := range areas {
		var w, v int64
		cellSet := map[h3.Cell]bool{}
		for _, c := range a.Cells {
			cellSet[c.Cell()] = true
		}
		for _, id := range a.PointIDs {
			if prev, dup := seen[id]; dup {
				t.Fatalf("point %d is in areas %d and %d", id, prev, a.ID)
			}
			seen[id] = a.ID
			p := byID[id]
			w, v = w+p.WeightG, v+p.VolumeML
			c, _ := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, res)
			if !cellSet[c] {
				t.Fatalf("area %d holds point %d but not its cell %s", a.ID, id, c)
			}
		}
		if w != a.WeightG || v != a.VolumeML {
			t.Fatalf("area %d says %d g %d ml, its points weigh %d g %d ml", a.ID, a.WeightG, a.VolumeML, w, v)
		}
		if !limit.holds(w, v) && !(a.OverLimit && len(a.PointIDs) == 1) {
			t.Fatalf("area %d (%d points) exceeds the limit: %d g %d ml", a.ID, len(a.PointIDs), w, v)
		}
		if a.OverLimit && limit.holds(w, v) {
			t.Fatalf("area %d is marked over the limit but is not", a.ID)
		}
		if !connected(t, a.Cells) {
			t.Fatalf("area %d's %d cells are not one connected component", a.ID, len(a.Cells))
		}
	}
	if len(seen) != len(points) {
		t.Fatalf("%d of %d points are in an area", len(seen), len(points))
	}
}

// connected reports whether cells form one component under gridDisk k=1.
func connected(t *testing.T, cells []CellID) bool {
	set := map[h3.Cell]bool{}
	for _, c := range cells {
		set[c.Cell()] = true
	}
	stack := []h3.Cell{cells[0].Cell()}
	reached := map[h3.Cell]bool{cells[0].Cell(): true}
	for len(stack) > 0 {
		c := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		disk, err := h3.GridDisk(c, 1)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range disk {
			if set[n] && !reached[n] {
				reached[n] = true
				stack = append(stack, n)
			}
		}
	}
	return len(reached) == len(set)
}

func TestPartitionAreas(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	points := areaPoints(r, 3000)
	// A hot cell: many points in one spot, over the limit together, and a
	// single point heavier than a van.
	for i := range 60 {
		points = append(points, AreaPoint{ID: int64(50_000 + i), Lat: 31.2301 + float64(i)*1e-6, Lng: 121.4701, WeightG: 40_000, VolumeML: 50_000})
	}
	points = append(points, AreaPoint{ID: 60_000, Lat: 31.3, Lng: 121.5, WeightG: 2_000_000, VolumeML: 1000})
	points = append(points, AreaPoint{ID: 60_001, Lat: 31.31, Lng: 121.51}) // no demand
	limit := DefaultAreaLimit()
	areas, err := PartitionAreas(testDepot, points, limit, AreaRes)
	if err != nil {
		t.Fatal(err)
	}
	checkAreas(t, points, areas, limit, AreaRes)
	var split, over int
	for _, a := range areas {
		if a.Split {
			split++
		}
		if a.OverLimit {
			over++
		}
	}
	if split < 2 || over != 1 {
		t.Errorf("want the hot cell split and one area over the limit, got %d split and %d over", split, over)
	}
	// Determinism: the same points in another order give the same areas.
	shuffled := append([]AreaPoint(nil), points...)
	r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	again, err := PartitionAreas(testDepot, shuffled, limit, AreaRes)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(areas, again) {
		t.Fatal("the same points in another order gave other areas")
	}
	t.Logf("%d points in %d areas", len(points), len(areas))
}

func TestPartitionAreasSmallCases(t *testing.T) {
	if areas, err := PartitionAreas(testDepot, nil, DefaultAreaLimit(), AreaRes); err != nil || len(areas) != 0 {
		t.Fatalf("no points: %v %v", areas, err)
	}
	if _, err := PartitionAreas(testDepot, nil, Capacity{}, AreaRes); err == nil {
		t.Fatal("a zero limit was accepted")
	}
	// Tight limits at several resolutions still keep every promise.
	r := rand.New(rand.NewPCG(1, 9))
	points := areaPoints(r, 500)
	for _, res := range []int{6, 7, 8, 9} {
		for _, limit := range []Capacity{{WeightG: 100_000, VolumeML: 200_000}, {WeightG: 1 << 40, VolumeML: 1 << 40}} {
			areas, err := PartitionAreas(testDepot, points, limit, res)
			if err != nil {
				t.Fatal(err)
			}
			checkAreas(t, points, areas, limit, res)
		}
	}
}

// areaPoints is a city of n points with 5-60 kg and 10-80 l of demand each,
// spread over 40 km around the test depot in clusters of two.
func areaPoints(r *rand.Rand, n int) []AreaPoint {
	out := make([]AreaPoint, 0, n)
	for i, ll := range geotest.City(r, n, testDepot.Lat, testDepot.Lng, 40) {
		out = append(out, AreaPoint{ID: int64(i + 1), Lat: ll.Lat, Lng: ll.Lng})
	}
	for i := range out {
		out[i].WeightG, out[i].VolumeML = geotest.Demand(r)
	}
	return out
}
