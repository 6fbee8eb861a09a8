package routing

import (
	"slices"
	"testing"
)

// Each stop's own window (a pickup point's receiving hours within the
// warehouse's delivery window) is kept: every stop is served, and from
// within its window.
func TestStopWindowsNarrowerThanTheDay(t *testing.T) {
	p := smallCity(120, 21)
	for i := range p.Stops {
		if i%3 == 0 {
			h := int64(7 + i%9/3) // 07:00–08:00, 08:00–09:00 or 09:00–10:00
			p.Stops[i].Window = TimeWindow{Start: h * 3600, End: (h + 1) * 3600}
		}
	}
	sol := mustSolve(t, p, Options{MaxIterations: 30, Seed: 3, Threads: 1})
	if len(sol.Unserved) != 0 {
		t.Fatalf("unserved %v", sol.Unserved)
	}
	for _, r := range sol.Routes {
		for _, v := range r.Visits {
			if w := p.Stops[v.Stop].Window; v.Start < float64(w.Start) || v.Start > float64(w.End) {
				t.Errorf("stop %s served at %s, outside %s–%s", v.ID, clock(v.Start), clock(float64(w.Start)), clock(float64(w.End)))
			}
		}
	}
}

// unservedByID maps a solution's unserved stops by ID.
func unservedByID(sol *Solution) map[string]Unserved {
	got := map[string]Unserved{}
	for _, u := range sol.Unserved {
		got[u.ID.String()] = u
	}
	return got
}

// coldCity is smallCity with a fifth of the stops requiring chilled or
// frozen compartments, a large cheap ambient fleet and a few expensive
// refrigerated vans, so that every move of the search would rather put a
// cold stop on an ambient van.
func coldCity(n int, timed bool) *Problem {
	p := smallCity(n, 33)
	p.Vehicles = []VehicleType{
		{Name: "van", Count: 20, Capacity: Load{1_500_000, 8_000_000}, Shift: TimeWindow{6 * 3600, 11 * 3600}, FixedCost: 50, DistanceCost: 0.001},
		{Name: "cold", Count: 4, Capacity: Load{800_000, 4_000_000}, Shift: TimeWindow{6 * 3600, 11 * 3600}, FixedCost: 400, DistanceCost: 0.004,
			Offers: []string{"chilled", "frozen"}},
	}
	for i := range p.Stops {
		switch i % 10 {
		case 3:
			p.Stops[i].Requires = []string{"chilled"}
		case 7:
			p.Stops[i].Requires = []string{"chilled", "frozen"}
		}
		if !timed {
			p.Stops[i].Window = TimeWindow{}
		}
	}
	if !timed {
		p.Depot.Window = TimeWindow{}
		for i := range p.Vehicles {
			p.Vehicles[i].Shift = TimeWindow{}
		}
	}
	return p
}

// Stops that require chilled or frozen compartments ride only vehicles
// that offer them, through the construction alone and after the search
// (local search and SWAP*), with and without time constraints; the
// checker verifies every route.
func TestCompatibilityKeepsColdStopsOnColdVans(t *testing.T) {
	for _, timed := range []bool{true, false} {
		for _, iters := range []int{1, 60} {
			p := coldCity(150, timed)
			sol := mustSolve(t, p, Options{MaxIterations: iters, Seed: 5, Threads: 1})
			if len(sol.Unserved) != 0 {
				t.Fatalf("timed %v, %d generations: unserved %v", timed, iters, sol.Unserved)
			}
			cold := 0
			for _, r := range sol.Routes {
				if r.Vehicle == "cold" {
					cold++
				}
			}
			if cold == 0 || cold > 4 {
				t.Fatalf("timed %v, %d generations: %d cold vans used, want 1 to 4", timed, iters, cold)
			}
		}
	}
}

// A stop whose requirements no vehicle type offers in full is unserved
// with the compatibility cause, what it requires and what each type
// offers; a stop the cold vans cannot carry says so among them.
func TestCompatibilityCauses(t *testing.T) {
	p := coldCity(30, true)
	p.Vehicles[1].Offers = []string{"chilled"}
	deep := p.Stops[0]
	deep.ID, deep.Requires = StringID("deep-frozen"), []string{"frozen"}
	heavy := p.Stops[1]
	heavy.ID, heavy.Requires, heavy.Demand = StringID("heavy-chilled"), []string{"chilled"}, Load{1_000_000, 1000}
	p.Stops = append(p.Stops[2:], deep, heavy)
	for i := range p.Stops {
		if slices.Contains(p.Stops[i].Requires, "frozen") && p.Stops[i].ID.String() != "deep-frozen" {
			p.Stops[i].Requires = []string{"chilled"}
		}
	}
	sol := mustSolve(t, p, Options{MaxIterations: 20, Seed: 1, Threads: 1})
	got := unservedByID(sol)
	if len(got) != 2 {
		t.Fatalf("unserved %v, want deep-frozen and heavy-chilled", sol.Unserved)
	}
	want := "no compatible vehicle: it requires frozen, and none of the 2 vehicle types (24 vehicles) offers all of it: van offers nothing; cold offers chilled"
	if u := got["deep-frozen"]; u.Cause != CauseCompatible || u.Reason != want {
		t.Errorf("deep-frozen: %+v\nwant reason %q", u, want)
	}
	if u := got["heavy-chilled"]; u.Cause != CauseCapacity || u.Reason != "demand 1000 kg exceeds every vehicle's capacity among those offering chilled (largest 800 kg)" {
		t.Errorf("heavy-chilled: %+v", u)
	}
}

// Sectors give the refrigerated vans to the sectors with stops that need
// them, in proportion to those stops, and never more than the fleet has.
func TestSectorsShareRefrigeratedVansByColdStops(t *testing.T) {
	p := coldCity(900, true)
	for i := range p.Stops {
		if p.Stops[i].Location.Lat > p.Depot.Location.Lat {
			p.Stops[i].Requires = nil // cold stops only south of the warehouse
		}
	}
	parts := Sectors(p, 300, nil)
	given, withCold := 0, 0
	for _, sp := range parts {
		need := slices.ContainsFunc(sp.Stops, func(s Stop) bool { return len(s.Requires) > 0 })
		for _, v := range sp.Vehicles {
			if v.Name == "cold" {
				given += v.Count
				if !need {
					t.Errorf("a sector without cold stops got %d cold vans", v.Count)
				}
			}
		}
		if need {
			withCold++
		}
	}
	if len(parts) != 3 || withCold == 0 || given != 4 {
		t.Fatalf("%d sectors, %d with cold stops, %d cold vans given; want 3 sectors and all 4 vans", len(parts), withCold, given)
	}
}

// A maximum route duration per vehicle type (a driver's shift) holds for
// every route the construction and the search make, with compatibility
// and windows at once; the checker recomputes each route's duration.
func TestMaxDurationPerVehicleType(t *testing.T) {
	p := coldCity(150, true)
	p.Vehicles[0].MaxDuration, p.Vehicles[1].MaxDuration = 100*60, 150*60
	for _, iters := range []int{1, 40} {
		sol := mustSolve(t, p, Options{MaxIterations: iters, Seed: 2, Threads: 1})
		if len(sol.Unserved) != 0 {
			t.Fatalf("%d generations: unserved %v", iters, sol.Unserved)
		}
		for _, r := range sol.Routes {
			if limit := p.Vehicles[r.VehicleType].MaxDuration; r.Duration > float64(limit) {
				t.Errorf("%d generations: a %s route lasts %s, more than %s", iters, r.Vehicle, span(r.Duration), span(float64(limit)))
			}
		}
	}
}
