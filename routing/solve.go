package routing

import (
	"context"
	"errors"
	"math"
	"time"
)

// Options tune Solve.
type Options struct {
	// TimeLimit stops the search; 0 means no limit (then set MaxIterations
	// or cancel the context).
	TimeLimit time.Duration
	// MaxIterations stops each search thread after this many generations; 0 = none.
	MaxIterations int
	// Seed makes the search reproducible: with the same Threads and
	// MaxIterations (and no time limit cutting in first) the result is
	// identical.
	Seed int64
	// Threads is the number of children educated in parallel per
	// generation, all feeding one population; 0 means 1.
	Threads int
	// Granularity is the number of neighbours each stop considers in the
	// local search; 0 means 20.
	Granularity int
}

// Solve plans routes for p. It returns the best plan found when the time
// limit, iteration budget or context ends the search; cancelling ctx is not
// an error once the search has started.
func Solve(ctx context.Context, p *Problem, opt Options) (*Solution, error) {
	if opt.TimeLimit <= 0 && opt.MaxIterations <= 0 && ctx.Done() == nil {
		return nil, errors.New("routing: set Options.TimeLimit, Options.MaxIterations or a cancellable context")
	}
	// The limit covers the matrix and set-up too: callers budget wall time.
	deadline := time.Time{}
	if opt.TimeLimit > 0 {
		deadline = time.Now().Add(opt.TimeLimit)
	}
	if opt.Granularity <= 0 {
		opt.Granularity = 20
	}
	cp, err := compile(ctx, p, opt.Granularity)
	if err != nil {
		return nil, err
	}
	c := cp.c
	sol := &Solution{Unserved: cp.unserved, Feasible: true}
	if c.n == 0 {
		return sol, nil
	}
	var routes [][]int
	if c.n == 1 {
		routes = make([][]int, len(c.slots))
		routes[0] = []int{1}
	} else {
		best, bestInf, iters := runHGS(ctx, c, opt, deadline)
		sol.Iterations = iters
		switch {
		case best != nil:
			routes = best.routes
		case bestInf != nil:
			sol.Feasible = false
			routes = bestInf.routes
		default:
			// Stopped before the first individual: split the identity tour.
			ind := &individual{tour: make([]int, c.n)}
			for i := range ind.tour {
				ind.tour[i] = i + 1
			}
			c.split(ind, 1e6, 1e6)
			c.evaluate(ind)
			sol.Feasible = ind.feasible
			routes = ind.routes
		}
	}
	routes = c.repair(routes, func(v int) {
		s := c.stop[v]
		sol.Unserved = append(sol.Unserved, Unserved{Stop: s, ID: p.Stops[s].ID, Reason: ReasonNoVehicle})
	})
	c.buildSolution(p, cp.m, routes, sol)
	return sol, nil
}

// repair drops stops from infeasible routes, each time the one whose
// removal cuts the violation most, until every route is feasible.
func (c *core) repair(routes [][]int, drop func(v int)) [][]int {
	out := make([][]int, len(routes))
	for r, rt := range routes {
		rt = append([]int(nil), rt...)
		for len(rt) > 0 {
			v0 := c.violation(r, rt)
			if v0 < 1e-9 {
				break
			}
			bestK, bestV := 0, math.Inf(1)
			tmp := make([]int, 0, len(rt))
			for k := range rt {
				tmp = append(append(tmp[:0], rt[:k]...), rt[k+1:]...)
				if v := c.violation(r, tmp); v < bestV {
					bestK, bestV = k, v
				}
			}
			drop(rt[bestK])
			rt = append(rt[:bestK], rt[bestK+1:]...)
		}
		out[r] = rt
	}
	return out
}

func (c *core) violation(r int, rt []int) float64 {
	cl := c.slots[r]
	s := c.depotSeg(cl)
	for _, v := range rt {
		s = c.join(&s, &c.node[v])
	}
	d := c.depotSeg(cl)
	s = c.join(&s, &d)
	p := c.parts(cl, &s, len(rt))
	return p.excess + p.warp
}

// buildSolution schedules each route: leave the depot as late as possible
// without delaying the first stop, then serve each stop at the earliest.
func (c *core) buildSolution(p *Problem, m *Matrix, routes [][]int, sol *Solution) {
	np := m.N
	for r, rt := range routes {
		if len(rt) == 0 {
			continue
		}
		cl := &c.classes[c.slots[r]]
		vt := p.Vehicles[cl.vt]
		route := Route{VehicleType: cl.vt, Vehicle: vt.Name}
		dims := c.dims
		load := make(Load, dims)
		first := c.stop[rt[0]] + 1
		startT := cl.start
		if c.timed {
			startT = math.Max(cl.start, c.node[rt[0]].e-m.Duration[first])
		}
		if startT >= bigTime/2 {
			startT = 0
		}
		route.Departure = startT
		t := startT
		prev := 0
		for _, v := range rt {
			s := c.stop[v]
			idx := s + 1
			t += m.Duration[prev*np+idx]
			route.Distance += m.Distance[prev*np+idx]
			arr := t
			if c.timed {
				t = math.Max(t, c.node[v].e)
			}
			vis := Visit{Stop: s, ID: p.Stops[s].ID, Arrival: arr, Start: t}
			t += float64(p.Stops[s].Service)
			vis.Depart = t
			for d, q := range p.Stops[s].Demand {
				load[d] += q
			}
			vis.Load = append(Load(nil), load...)
			route.Visits = append(route.Visits, vis)
			prev = idx
		}
		t += m.Duration[prev*np]
		route.Distance += m.Distance[prev*np]
		route.Return = t
		route.Duration = t - startT
		route.Load = load
		route.Cost = cl.fixed + cl.perDist*route.Distance
		sol.Cost += route.Cost
		sol.Distance += route.Distance
		sol.Routes = append(sol.Routes, route)
	}
}
