package routing

import (
	"context"
	"fmt"
	"math"
)

// Assignment is one route of a plan made outside Solve: a vehicle type and
// the stops it serves in order.
type Assignment struct {
	VehicleType int   // index in Problem.Vehicles
	Stops       []int // indexes in Problem.Stops
}

// ReasonNotPlanned is the reason Schedule gives the stops no route serves.
const ReasonNotPlanned = "not in any route of the plan"

// Schedule times a plan made elsewhere (by hand or by another solver) as
// Solve times its own, so that CheckSolution can judge it by the same
// rules and costs. Stops in no route are listed unserved.
func Schedule(ctx context.Context, p *Problem, plan []Assignment) (*Solution, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m, err := p.TravelMatrix(ctx)
	if err != nil {
		return nil, err
	}
	dims := 0
	for _, v := range p.Vehicles {
		dims = max(dims, len(v.Capacity))
	}
	for _, s := range p.Stops {
		dims = max(dims, len(s.Demand))
	}
	sol := &Solution{Feasible: true}
	served := make([]bool, len(p.Stops))
	for k, a := range plan {
		if a.VehicleType < 0 || a.VehicleType >= len(p.Vehicles) {
			return nil, fmt.Errorf("routing: route %d: vehicle type %d", k, a.VehicleType)
		}
		for _, s := range a.Stops {
			if s < 0 || s >= len(p.Stops) {
				return nil, fmt.Errorf("routing: route %d: stop %d out of range", k, s)
			}
			served[s] = true
		}
		if len(a.Stops) > 0 {
			sol.add(scheduleRoute(p, m, a.VehicleType, dims, a.Stops))
		}
	}
	for i, ok := range served {
		if !ok {
			sol.Unserved = append(sol.Unserved, Unserved{Stop: i, ID: p.Stops[i].ID, Reason: ReasonNotPlanned})
		}
	}
	return sol, nil
}

// scheduleRoute times one route of vehicle type vt through stops (indexes
// in p.Stops) at its least duration, as the search judges it: served from
// the earliest departure each stop at the earliest, it waits where windows
// open later; it leaves later by all the waiting it can spare without
// making a stop late, so it returns no later and lasts no longer than
// needed (a cap on its duration holds where the search found it did).
func scheduleRoute(p *Problem, m *Matrix, vt, dims int, stops []int) Route {
	v := p.Vehicles[vt]
	start := 0.0
	if !p.Depot.Window.IsZero() {
		start = float64(p.Depot.Window.Start)
	}
	if !v.Shift.IsZero() {
		start = math.Max(start, float64(v.Shift.Start))
	}
	first := timeRoute(p, m, vt, dims, stops, start)
	// Leaving d later moves stop i by d less the waiting up to it (waited),
	// which its window's end allows up to waited + (end - start).
	spare, waited := math.Inf(1), 0.0
	for _, vis := range first.Visits {
		waited += vis.Start - vis.Arrival
		if w := p.Stops[vis.Stop].Window; !w.IsZero() {
			spare = math.Min(spare, waited+float64(w.End)-vis.Start)
		}
	}
	if delay := math.Min(spare, waited); delay > 0 {
		return timeRoute(p, m, vt, dims, stops, start+delay)
	}
	return first
}

// timeRoute times a route leaving the depot at start, serving each stop at
// the earliest.
func timeRoute(p *Problem, m *Matrix, vt, dims int, stops []int, start float64) Route {
	v := p.Vehicles[vt]
	np := m.N
	route := Route{VehicleType: vt, Vehicle: v.Name, Departure: start}
	load := make(Load, dims)
	t, prev := start, 0
	for _, s := range stops {
		st := &p.Stops[s]
		t += m.Duration[prev*np+s+1]
		route.Distance += m.Distance[prev*np+s+1]
		vis := Visit{Stop: s, ID: st.ID, Arrival: t}
		if !st.Window.IsZero() {
			t = math.Max(t, float64(st.Window.Start))
		}
		vis.Start = t
		t += float64(st.Service)
		vis.Depart = t
		for d, q := range st.Demand {
			load[d] += q
		}
		vis.Load = append(Load(nil), load...)
		route.Visits = append(route.Visits, vis)
		prev = s + 1
	}
	t += m.Duration[prev*np]
	route.Distance += m.Distance[prev*np]
	route.Return = t
	route.Duration = t - start
	route.Load = load
	perDist := v.DistanceCost
	if perDist == 0 {
		perDist = 1
	}
	route.Cost = v.FixedCost + perDist*route.Distance
	return route
}

// add appends a route to the solution and its totals.
func (sol *Solution) add(r Route) {
	sol.Cost += r.Cost
	sol.Distance += r.Distance
	sol.Routes = append(sol.Routes, r)
}
