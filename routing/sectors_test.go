package routing

import (
	"math/rand/v2"
	"testing"
)

func TestSectorsShareStopsAndFleet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	p := &Problem{Depot: Depot{Location: Location{Lat: 31.2, Lon: 121.4}},
		Vehicles: []VehicleType{{Name: "VAN", Count: 37}, {Name: "TRUCK", Count: 5}, {Name: "ANY", Count: 0}}}
	for i := range 2500 {
		p.Stops = append(p.Stops, Stop{ID: IntID(int64(i)),
			Location: Location{Lat: 31.2 + rng.NormFloat64()*0.1, Lon: 121.4 + rng.NormFloat64()*0.1},
			Demand:   Load{int64(1000 + rng.IntN(50000)), 1000}})
	}
	parts := Sectors(p, 600, nil)
	if len(parts) != 5 {
		t.Fatalf("%d sectors, want 5", len(parts))
	}
	seen := map[int64]bool{}
	used := map[string]int{}
	for _, sp := range parts {
		if len(sp.Stops) > 600 {
			t.Fatalf("a sector of %d stops", len(sp.Stops))
		}
		for _, s := range sp.Stops {
			if seen[s.ID.Num] {
				t.Fatalf("stop %d in two sectors", s.ID.Num)
			}
			seen[s.ID.Num] = true
		}
		for _, v := range sp.Vehicles {
			used[v.Name] += v.Count
			if v.Count < 0 {
				t.Fatalf("negative count in %+v", v)
			}
		}
	}
	if len(seen) != 2500 || used["VAN"] != 37 || used["TRUCK"] != 5 || used["ANY"] != 0 {
		t.Fatalf("stops %d, fleet used %v", len(seen), used)
	}
	if small := Sectors(&Problem{Stops: p.Stops[:100], Vehicles: p.Vehicles}, 600, nil); len(small) != 1 || len(small[0].Stops) != 100 {
		t.Fatal("a small problem should stay whole")
	}
}

func TestSectorsFollowAreas(t *testing.T) {
	p := &Problem{Vehicles: []VehicleType{{Name: "VAN", Count: 10}}}
	var areas [][]int64
	for a := range 40 { // 40 areas of 30 stops each: 1,200 stops
		var ids []int64
		for i := range 30 {
			id := int64(a*30 + i)
			ids = append(ids, id)
			p.Stops = append(p.Stops, Stop{ID: IntID(id), Demand: Load{1000, 1000}})
		}
		areas = append(areas, ids)
	}
	parts := Sectors(p, 500, areas)
	if len(parts) != 3 {
		t.Fatalf("%d sectors", len(parts))
	}
	total := 0
	for _, sp := range parts {
		if len(sp.Stops)%30 != 0 {
			t.Fatalf("a sector of %d stops cuts through an area", len(sp.Stops))
		}
		// Each sector holds whole areas, in their order.
		for i, s := range sp.Stops {
			if i > 0 && s.ID.Num != sp.Stops[i-1].ID.Num+1 {
				t.Fatalf("stops out of area order: %d after %d", s.ID.Num, sp.Stops[i-1].ID.Num)
			}
		}
		total += len(sp.Stops)
	}
	if total != 1200 {
		t.Fatalf("%d stops in sectors", total)
	}
}

// TestSectorsOfOneLargeArea: delivery areas are bounded by a truck's load,
// not by stops, so one area may hold most of a wave. Sectors are then cut
// inside it (each keeps a stop at least), every stop in one; stops with no
// demand given weigh nothing.
func TestSectorsOfOneLargeArea(t *testing.T) {
	p := &Problem{Vehicles: []VehicleType{{Name: "V", Count: 10}}}
	areas := make([][]int64, 2)
	for i := range 3044 {
		p.Stops = append(p.Stops, Stop{ID: IntID(int64(i)), Demand: Load{1000, 1000}, Location: Location{Lat: 31 + float64(i)*1e-5, Lon: 121}})
		a := 0
		if i >= 789 {
			a = 1
		}
		areas[a] = append(areas[a], int64(i))
	}
	p.Stops[7].Demand = nil
	seen := map[int64]int{}
	parts := Sectors(p, 600, areas)
	for _, sp := range parts {
		if len(sp.Stops) == 0 || len(sp.Stops) > 2255 {
			t.Errorf("a sector of %d stops", len(sp.Stops))
		}
		for _, s := range sp.Stops {
			seen[s.ID.Num]++
		}
	}
	if len(parts) != 6 || len(seen) != 3044 {
		t.Fatalf("%d sectors hold %d of 3044 stops", len(parts), len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("stop %d in %d sectors", id, n)
		}
	}
}
