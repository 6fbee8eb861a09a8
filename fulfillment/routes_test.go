package fulfillment

import (
	"math/rand/v2"
	"testing"

	"groupbuy/routing"
)

func TestSectorsShareStopsAndFleet(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	p := &routing.Problem{Depot: routing.Depot{Location: routing.Location{Lat: 31.2, Lon: 121.4}},
		Vehicles: []routing.VehicleType{{Name: "VAN", Count: 37}, {Name: "TRUCK", Count: 5}, {Name: "ANY", Count: 0}}}
	for i := range 2500 {
		p.Stops = append(p.Stops, routing.Stop{ID: routing.IntID(int64(i)),
			Location: routing.Location{Lat: 31.2 + rng.NormFloat64()*0.1, Lon: 121.4 + rng.NormFloat64()*0.1},
			Demand:   routing.Load{int64(1000 + rng.IntN(50000)), 1000}})
	}
	parts := sectors(p, 600)
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
	if small := sectors(&routing.Problem{Stops: p.Stops[:100], Vehicles: p.Vehicles}, 600); len(small) != 1 || len(small[0].Stops) != 100 {
		t.Fatal("a small problem should stay whole")
	}
}
