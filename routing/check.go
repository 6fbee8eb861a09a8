package routing

import (
	"context"
	"fmt"
	"math"
)

// CheckResult is the verdict of CheckVRPLIB.
type CheckResult struct {
	Cost     float64
	Routes   int
	Feasible bool
	Problems []string // empty when feasible
}

// CheckVRPLIB verifies routes (node numbers, depot 0 excluded) against the
// raw instance, independently of the solver: every customer exactly once,
// capacity, time windows with waiting allowed, return to the depot in time,
// at most VEHICLES routes; and it recomputes the cost. VRPTW arithmetic is
// done in exact tenths.
func CheckVRPLIB(in *Instance, routes [][]int) CheckResult {
	res := CheckResult{}
	bad := func(format string, a ...any) {
		if len(res.Problems) < 20 {
			res.Problems = append(res.Problems, fmt.Sprintf(format, a...))
		}
	}
	tw := in.HasTimeWindows()
	// arc in the instance's unit: integer for CVRP, tenths for VRPTW.
	arc := func(i, j int) int64 {
		dx := in.Coords[i][0] - in.Coords[j][0]
		dy := in.Coords[i][1] - in.Coords[j][1]
		d := math.Sqrt(dx*dx + dy*dy)
		if tw {
			return int64(math.Floor(d * 10))
		}
		return int64(math.Floor(d + 0.5))
	}
	seen := make([]int, in.Dimension)
	var total int64
	for k, rt := range routes {
		if len(rt) == 0 {
			continue
		}
		res.Routes++
		var load int64
		var t int64 // tenths
		if tw {
			t = in.Windows[in.Depot][0] * 10
		}
		prev := in.Depot
		for _, v := range rt {
			if v < 0 || v >= in.Dimension || v == in.Depot {
				bad("route %d: %d is not a customer", k+1, v)
				continue
			}
			seen[v]++
			load += in.Demand[v]
			a := arc(prev, v)
			total += a
			if tw {
				t += a
				if e := in.Windows[v][0] * 10; t < e {
					t = e
				}
				if t > in.Windows[v][1]*10 {
					bad("route %d: customer %d served at %.1f after its due time %d", k+1, v, float64(t)/10, in.Windows[v][1])
				}
				t += in.Service[v] * 10
			}
			prev = v
		}
		a := arc(prev, in.Depot)
		total += a
		if tw {
			t += a
			if t > in.Windows[in.Depot][1]*10 {
				bad("route %d: back at the depot at %.1f after %d", k+1, float64(t)/10, in.Windows[in.Depot][1])
			}
		}
		if load > in.Capacity {
			bad("route %d: load %d exceeds capacity %d", k+1, load, in.Capacity)
		}
	}
	for v := range in.Dimension {
		if v == in.Depot {
			continue
		}
		if seen[v] != 1 {
			bad("customer %d visited %d times", v, seen[v])
		}
	}
	if in.Vehicles > 0 && res.Routes > in.Vehicles {
		bad("%d routes, at most %d vehicles", res.Routes, in.Vehicles)
	}
	res.Cost = float64(total)
	if tw {
		res.Cost /= 10
	}
	res.Feasible = len(res.Problems) == 0
	return res
}

// CheckSolution verifies a Solution against its Problem independently of
// the search: each stop served at most once and unserved ones listed,
// capacities in every dimension, vehicle counts per type, compatibility
// (Stop.Requires), time windows, shifts and maximum durations (recomputing
// the schedule from the route's departure), and the stated distances and
// costs.
func CheckSolution(p *Problem, sol *Solution) error {
	m, err := p.TravelMatrix(context.Background())
	if err != nil {
		return err
	}
	n := m.N
	const tol = 1e-6
	seen := make([]int, len(p.Stops))
	used := make([]int, len(p.Vehicles))
	total := 0.0
	for k, r := range sol.Routes {
		if r.VehicleType < 0 || r.VehicleType >= len(p.Vehicles) {
			return fmt.Errorf("route %d: vehicle type %d", k, r.VehicleType)
		}
		vt := p.Vehicles[r.VehicleType]
		used[r.VehicleType]++
		load := make([]int64, MaxDimensions)
		start, end := math.Inf(-1), math.Inf(1)
		if !p.Depot.Window.IsZero() {
			start, end = float64(p.Depot.Window.Start), float64(p.Depot.Window.End)
		}
		if !vt.Shift.IsZero() {
			start, end = math.Max(start, float64(vt.Shift.Start)), math.Min(end, float64(vt.Shift.End))
		}
		if r.Departure < start-tol {
			return fmt.Errorf("route %d leaves at %.0f before its shift %.0f", k, r.Departure, start)
		}
		t, dist, prev := r.Departure, 0.0, 0
		for _, v := range r.Visits {
			if v.Stop < 0 || v.Stop >= len(p.Stops) {
				return fmt.Errorf("route %d: stop %d out of range", k, v.Stop)
			}
			s := p.Stops[v.Stop]
			seen[v.Stop]++
			if !offersAll(vt.Offers, s.Requires) {
				return fmt.Errorf("route %d: stop %s requires %v, vehicle type %q offers %v", k, s.ID, s.Requires, vt.Name, vt.Offers)
			}
			t += m.Duration[prev*n+v.Stop+1]
			dist += m.Distance[prev*n+v.Stop+1]
			if !s.Window.IsZero() {
				t = math.Max(t, float64(s.Window.Start))
				if t > float64(s.Window.End)+tol {
					return fmt.Errorf("route %d: stop %s served at %.0f after its window end %d", k, s.ID, t, s.Window.End)
				}
			}
			t += float64(s.Service)
			for d, q := range s.Demand {
				load[d] += q
			}
			prev = v.Stop + 1
		}
		t += m.Duration[prev*n]
		dist += m.Distance[prev*n]
		if t > end+tol {
			return fmt.Errorf("route %d returns at %.0f after its shift end %.0f", k, t, end)
		}
		md := vt.MaxDuration
		if p.MaxRouteDuration > 0 && (md == 0 || p.MaxRouteDuration < md) {
			md = p.MaxRouteDuration
		}
		if md > 0 && t-r.Departure > float64(md)+tol {
			return fmt.Errorf("route %d lasts %.0f s, more than %d", k, t-r.Departure, md)
		}
		for d := range MaxDimensions {
			if d < len(vt.Capacity) && load[d] > vt.Capacity[d] {
				return fmt.Errorf("route %d: load %d in dimension %d exceeds capacity %d", k, load[d], d, vt.Capacity[d])
			}
		}
		if math.Abs(dist-r.Distance) > tol*math.Max(1, dist) {
			return fmt.Errorf("route %d: stated distance %.1f, recomputed %.1f", k, r.Distance, dist)
		}
		pd := vt.DistanceCost
		if pd == 0 {
			pd = 1
		}
		total += vt.FixedCost + pd*dist
	}
	for i, c := range used {
		if cnt := p.Vehicles[i].Count; cnt > 0 && c > cnt {
			return fmt.Errorf("%d vehicles of type %d used, %d available", c, i, cnt)
		}
	}
	for _, u := range sol.Unserved {
		if u.Stop < 0 || u.Stop >= len(p.Stops) {
			return fmt.Errorf("unserved stop %d out of range", u.Stop)
		}
		if u.Reason == "" {
			return fmt.Errorf("unserved stop %s has no reason", u.ID)
		}
		seen[u.Stop]++
	}
	for i, c := range seen {
		if c != 1 {
			return fmt.Errorf("stop %s appears %d times (routes plus unserved)", p.Stops[i].ID, c)
		}
	}
	if math.Abs(total-sol.Cost) > tol*math.Max(1, total) {
		return fmt.Errorf("stated cost %.3f, recomputed %.3f", sol.Cost, total)
	}
	return nil
}
