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
	// Patience ends the search once this many generations in a row have
	// not found a better plan. 0 scales it with the number of stops, from
	// 1,000 generations for a handful to 20,000 (Vidal's value) from 800
	// stops on; negative never ends early: the population restarts
	// instead, as in HGS, until the time limit.
	Patience int
	// Progress, when set, is called from the goroutine running Solve with
	// the state of the search, at most about four times a second and once
	// when it ends; it must return quickly.
	Progress func(Progress)
}

// Progress is the state of a running search.
type Progress struct {
	Iterations int           // generations so far
	Elapsed    time.Duration // since Solve was called
	// BestCost is the cost of the best plan so far. It never rises while
	// Served stays the same, and Served never falls.
	BestCost float64
	// Feasible tells whether that plan serves every stop some vehicle can
	// serve on its own.
	Feasible         bool
	Served, Unserved int
}

// progressEvery spaces the calls of Options.Progress.
const progressEvery = 250 * time.Millisecond

// patience is the default number of generations without improvement after
// which the search ends, for n customers.
func patience(n int) int { return min(20000, max(1000, 25*n)) }

// Solve plans routes for p. A fast construction gives a complete plan
// first; the genetic search then improves it until the time limit, the
// iteration budget or the context ends the search, or it stops finding
// better plans. Solve returns the best feasible plan found; cancelling ctx
// is not an error once the search has started. A stop is left unserved
// only when no vehicle could serve it alone or when no route nor free
// vehicle had room for it, and its Unserved entry says which, with the
// numbers.
func Solve(ctx context.Context, p *Problem, opt Options) (*Solution, error) {
	if opt.TimeLimit <= 0 && opt.MaxIterations <= 0 && ctx.Done() == nil {
		return nil, errors.New("routing: set Options.TimeLimit, Options.MaxIterations or a cancellable context")
	}
	// The limit covers the matrix and set-up too: callers budget wall time.
	started := time.Now()
	deadline := time.Time{}
	if opt.TimeLimit > 0 {
		deadline = started.Add(opt.TimeLimit)
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
	rep := &reporter{fn: opt.Progress, start: started, screened: len(cp.unserved), n: c.n}
	if c.n == 0 {
		rep.send(0, 0, 0, true)
		return sol, nil
	}
	first := c.construct(nil)
	var h *hgs
	if c.n > 1 {
		h = runHGS(ctx, c, opt, deadline, first, rep)
		sol.Iterations = h.iter
	}
	routes, left := c.choose(h, first)
	for _, v := range left {
		s := c.stop[v]
		sol.Unserved = append(sol.Unserved, Unserved{Stop: s, ID: p.Stops[s].ID, Cause: CauseFleetFull, Reason: c.fleetFull(p, routes)})
	}
	sol.Feasible = len(left) == 0
	c.buildSolution(p, cp.m, routes, sol)
	rep.send(sol.Iterations, sol.Cost, len(left), true)
	return sol, nil
}

// choose returns the plan Solve answers with: the best complete plan, or
// failing one the construction's or the best infeasible individual's with
// the stops that break it left out, whichever serves more, then costs less.
// Either way the stops left out get a last chance at any place with room.
func (c *core) choose(h *hgs, first plan) ([][]int, []int) {
	if h != nil && h.best != nil {
		return h.best.routes, nil
	}
	if len(first.left) == 0 {
		return first.routes, nil
	}
	routes, left := c.fill(first.routes, first.left)
	if h == nil || h.bestInf == nil {
		return routes, left
	}
	var dropped []int
	alt := c.repair(h.bestInf.routes, func(v int) { dropped = append(dropped, v) })
	alt, dropped = c.fill(alt, dropped)
	if len(dropped) < len(left) || (len(dropped) == len(left) && c.planCost(alt) < c.planCost(routes)) {
		return alt, dropped
	}
	return routes, left
}

func (c *core) planCost(routes [][]int) float64 {
	ind := &individual{routes: routes}
	c.evaluate(ind)
	return ind.parts.cost
}

// reporter calls Options.Progress, at most every progressEvery.
type reporter struct {
	fn          func(Progress)
	start, last time.Time
	screened, n int
}

// due reports whether a progress call is due now.
func (r *reporter) due() bool {
	return r.fn != nil && time.Since(r.last) >= progressEvery
}

func (r *reporter) send(iter int, cost float64, left int, final bool) {
	if r.fn == nil || (!final && !r.due()) {
		return
	}
	r.last = time.Now()
	r.fn(Progress{Iterations: iter, Elapsed: r.last.Sub(r.start), BestCost: cost, Feasible: left == 0,
		Served: r.n - left, Unserved: r.screened + left})
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

// buildSolution schedules each route of the search's plan.
func (c *core) buildSolution(p *Problem, m *Matrix, routes [][]int, sol *Solution) {
	stops := make([]int, 0, c.n)
	for r, rt := range routes {
		if len(rt) == 0 {
			continue
		}
		stops = stops[:0]
		for _, v := range rt {
			stops = append(stops, c.stop[v])
		}
		sol.add(scheduleRoute(p, m, c.classes[c.slots[r]].vt, c.loadDims, stops))
	}
}
