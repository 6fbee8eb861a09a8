package routeplan

import (
	"testing"
	"time"

	"groupbuy/fulfillment/wave"
	"groupbuy/routing"
)

// TestMeterAddsSectorsAndThrottles: the meter reports at its start and at
// each sector's end, and in between at most once a second however often
// the solver calls; stops served and cost add up over the sectors.
func TestMeterAddsSectorsAndThrottles(t *testing.T) {
	var got []wave.RouteProgress
	m := newMeter(func(p wave.RouteProgress) { got = append(got, p) }, 2, 5, time.Now().Add(10*time.Second))
	first := m.sector()
	for range 100 {
		first(routing.Progress{Served: 2, BestCost: 1000.4})
	}
	if len(got) != 1 || got[0].SectorsTotal != 2 || got[0].StopsTotal != 5 || got[0].SecondsLeft != 10 {
		t.Fatalf("a hundred calls within a second: %+v", got)
	}
	m.ended(&routing.Solution{Cost: 1000.4, Routes: []routing.Route{{Visits: make([]routing.Visit, 3)}}}, true)
	m.last = time.Time{} // as if a second had passed
	m.sector()(routing.Progress{Served: 1, BestCost: 500})
	m.ended(&routing.Solution{Cost: 499.7, Routes: []routing.Route{{Visits: make([]routing.Visit, 2)}}}, true)
	want := []wave.RouteProgress{
		{SectorsDone: 1, SectorsTotal: 2, StopsServed: 3, StopsTotal: 5, BestCostFen: 1000},
		{SectorsDone: 1, SectorsTotal: 2, StopsServed: 4, StopsTotal: 5, BestCostFen: 1500},
		{SectorsDone: 2, SectorsTotal: 2, StopsServed: 5, StopsTotal: 5, BestCostFen: 1500},
	}
	if len(got) != 4 {
		t.Fatalf("reports %+v", got)
	}
	for i, w := range want {
		g := got[i+1]
		g.SecondsLeft = 0
		if g != w {
			t.Errorf("report %d: %+v, want %+v", i+1, g, w)
		}
	}
}
