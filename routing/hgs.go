package routing

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// hgs is one hybrid genetic search (Vidal 2022) on a core instance.
type hgs struct {
	c        *core
	rng      *rand.Rand
	workers  []*localSearch
	pc, ptw  float64
	pcMin    float64
	pcMax    float64
	ptwMin   float64
	ptwMax   float64
	feas     subpop
	infeas   subpop
	best     *individual
	bestInf  *individual
	histCap  []bool
	histTW   []bool
	iter     int
	noImpr   int
	maxNoImp int
	initSize int
}

func newHGS(c *core, seed uint64, workers int) *hgs {
	h := &hgs{c: c, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxNoImp: 20000, initSize: popMu}
	for range workers {
		wr := rand.New(rand.NewPCG(h.rng.Uint64(), h.rng.Uint64()))
		h.workers = append(h.workers, newLocalSearch(c, wr))
	}
	maxDem := 0.0
	for v := 1; v <= c.n; v++ {
		for d := 0; d < c.loadDims; d++ {
			maxDem = math.Max(maxDem, c.node[v].load[d]/c.capRef[d])
		}
	}
	perDist := c.classes[0].perDist
	h.pc = perDist * c.maxDist / math.Max(maxDem, 1e-3)
	h.pcMin, h.pcMax = h.pc*1e-3, h.pc*1e4
	// Time warp is in seconds, cost in distance units: start from the
	// ratio of distance to time, times 10 as the EURO Meets NeurIPS
	// baseline advises: with less, educated children seldom come out
	// feasible at first.
	sd, st := 0.0, 0.0
	for i := range c.dist {
		sd += c.dist[i]
		st += c.tt[i]
	}
	h.ptw = 10 * perDist
	if st > 0 && sd > 0 {
		h.ptw = 10 * perDist * sd / st
	}
	h.ptwMin, h.ptwMax = h.ptw*1e-3, h.ptw*1e4
	return h
}

// educate runs the local search of worker w on ind. Workers own their
// local search and random source, so several can run at once.
func (h *hgs) educate(w int, ind *individual, pc, ptw float64) {
	ind.routes = h.workers[w].run(ind.routes, pc, ptw)
	h.c.evaluate(ind)
	h.c.rebuildTour(ind)
}

// offspring is a child and, if it was infeasible, its repaired version.
type offspring struct {
	child, repaired *individual
}

// educateAll educates the children in parallel, one per worker, and
// repairs infeasible ones half of the time (as HGS does).
func (h *hgs) educateAll(children []*individual) []offspring {
	out := make([]offspring, len(children))
	work := func(w int) {
		ind := children[w]
		h.educate(w, ind, h.pc, h.ptw)
		out[w].child = ind
		if !ind.feasible && h.workers[w].rng.IntN(2) == 0 {
			rep := &individual{routes: ind.routes}
			h.educate(w, rep, h.pc*10, h.ptw*10)
			if !rep.feasible {
				h.educate(w, rep, h.pc*100, h.ptw*100)
			}
			if rep.feasible {
				out[w].repaired = rep
			}
		}
	}
	if len(children) == 1 {
		work(0)
		return out
	}
	var wg sync.WaitGroup
	for w := range children {
		wg.Add(1)
		go func() {
			defer wg.Done()
			work(w)
		}()
	}
	wg.Wait()
	return out
}

func (h *hgs) newRandom() *individual {
	ind := &individual{tour: make([]int, h.c.n)}
	for i := range ind.tour {
		ind.tour[i] = i + 1
	}
	h.rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
	h.c.split(ind, h.pc, h.ptw)
	return ind
}

// crossover is the ordered crossover (OX) on giant tours.
func (h *hgs) crossover(a, b *individual) *individual {
	n := h.c.n
	child := &individual{tour: make([]int, n)}
	used := make([]bool, h.c.nn)
	start := h.rng.IntN(n)
	end := h.rng.IntN(n)
	for end == start && n > 1 {
		end = h.rng.IntN(n)
	}
	for j := start; j != (end+1)%n; j = (j + 1) % n {
		child.tour[j] = a.tour[j]
		used[a.tour[j]] = true
	}
	pos := (end + 1) % n
	for i := 1; i <= n; i++ {
		v := b.tour[(end+i)%n]
		if !used[v] {
			child.tour[pos] = v
			pos = (pos + 1) % n
		}
	}
	h.c.split(child, h.pc, h.ptw)
	return child
}

// offspring crosses a and b both ways, OX and SREX, and keeps the child
// of lower penalised cost, as the EURO Meets NeurIPS 2022 baseline does.
func (h *hgs) offspring(a, b *individual) *individual {
	ox := h.crossover(a, b)
	sx := h.srex(a, b)
	if sx == nil {
		return ox
	}
	h.c.evaluate(ox)
	if ox.parts.penalised(h.pc, h.ptw) <= sx.pen {
		return ox
	}
	return sx
}

func (h *hgs) tournament() *individual {
	updateBiased1 := func(sp *subpop) {
		if len(sp.inds) > 0 {
			updateBiased(sp)
		}
	}
	updateBiased1(&h.feas)
	updateBiased1(&h.infeas)
	total := len(h.feas.inds) + len(h.infeas.inds)
	pick := func() *individual {
		i := h.rng.IntN(total)
		if i < len(h.feas.inds) {
			return h.feas.inds[i]
		}
		return h.infeas.inds[i-len(h.feas.inds)]
	}
	x, y := pick(), pick()
	if y.biased < x.biased {
		return y
	}
	return x
}

// add inserts an educated individual; it reports whether it improved the best.
func (h *hgs) add(ind *individual, record bool) bool {
	if record {
		h.histCap = append(h.histCap, ind.parts.excess < 1e-9)
		h.histTW = append(h.histTW, ind.parts.warp < 1e-9)
	}
	ind.pen = ind.parts.penalised(h.pc, h.ptw)
	if ind.feasible {
		h.c.addTo(&h.feas, ind)
		if h.best == nil || ind.parts.cost < h.best.parts.cost-eps {
			h.best = ind
			return true
		}
		return false
	}
	h.c.addTo(&h.infeas, ind)
	if h.bestInf == nil || ind.pen < h.bestInf.pen {
		h.bestInf = ind
	}
	return false
}

func (h *hgs) managePenalties() {
	adj := func(hist []bool, p, lo, hi float64) float64 {
		if len(hist) == 0 {
			return p
		}
		n := 0
		for _, f := range hist {
			if f {
				n++
			}
		}
		frac := float64(n) / float64(len(hist))
		switch {
		case frac <= 0.01:
			// Hardly any feasible child: raise fast (the baseline's booster).
			p = math.Min(hi, p*2)
		case frac < targetFeas-0.05:
			p = math.Min(hi, p*1.2)
		case frac > targetFeas+0.05:
			p = math.Max(lo, p*0.85)
		}
		return p
	}
	h.pc = adj(h.histCap, h.pc, h.pcMin, h.pcMax)
	h.ptw = adj(h.histTW, h.ptw, h.ptwMin, h.ptwMax)
	h.histCap, h.histTW = h.histCap[:0], h.histTW[:0]
	for _, ind := range h.infeas.inds {
		ind.pen = ind.parts.penalised(h.pc, h.ptw)
	}
	sort.SliceStable(h.infeas.inds, func(a, b int) bool { return h.infeas.inds[a].pen < h.infeas.inds[b].pen })
}

// step runs one generation per worker: parents and crossovers are drawn
// in sequence from the search's random source, the children are educated
// in parallel, and added in a fixed order, so the result depends only on
// the seed, the number of workers and the iteration budget.
func (h *hgs) step() {
	children := make([]*individual, len(h.workers))
	for w := range children {
		if len(h.feas.inds)+len(h.infeas.inds) < 2 {
			children[w] = h.newRandom()
		} else {
			children[w] = h.offspring(h.tournament(), h.tournament())
		}
	}
	for _, o := range h.educateAll(children) {
		improved := h.add(o.child, true)
		if o.repaired != nil {
			improved = h.add(o.repaired, false) || improved
		}
		h.iter++
		if improved {
			h.noImpr = 0
		} else {
			h.noImpr++
		}
		if h.iter%100 == 0 {
			h.managePenalties()
		}
	}
	if h.noImpr >= h.maxNoImp {
		h.restart()
	}
}

func (h *hgs) restart() {
	h.feas, h.infeas = subpop{}, subpop{}
	h.noImpr = 0
	h.initial(nil)
}

// initial fills the population with educated individuals: random giant
// tours split, or randomised constructions (see constructed).
func (h *hgs) initial(stop func() bool) {
	for n := 0; n < h.initSize; n += len(h.workers) {
		if stop != nil && stop() {
			return
		}
		children := make([]*individual, len(h.workers))
		for w := range children {
			if h.constructed() {
				children[w] = h.fromPlan(h.c.construct(h.rng))
			} else {
				children[w] = h.newRandom()
			}
		}
		for _, o := range h.educateAll(children) {
			h.add(o.child, true)
			if o.repaired != nil {
				h.add(o.repaired, false)
			}
			h.iter++
		}
	}
}

// constructed tells whether initial individuals come from a
// randomised construction rather than a random giant tour: on large
// problems with time windows, where educating a random tour takes a good
// part of a second and the construction's start is worth more than the
// diversity it loses. (Without time windows random tours did better.)
func (h *hgs) constructed() bool {
	return h.c.timed && h.c.n > constructAbove
}

// constructAbove is the problem size from which the initial population is
// built by construction.
const constructAbove = 200

// fromPlan makes an individual of a plan: its routes when it is complete;
// else a giant tour with the customers it left out next to their nearest
// neighbours, split.
func (h *hgs) fromPlan(pl plan) *individual {
	c := h.c
	ind := &individual{routes: pl.routes}
	if len(pl.left) == 0 {
		return ind
	}
	c.evaluate(ind)
	c.rebuildTour(ind)
	tour := ind.tour
	in := make([]bool, c.nn)
	for _, v := range tour {
		in[v] = true
	}
	for _, u := range pl.left {
		at := 0
		for _, v := range c.neigh[u] {
			if in[v] {
				for i, x := range tour {
					if x == v {
						at = i + 1
					}
				}
				break
			}
		}
		tour = append(tour, 0)
		copy(tour[at+1:], tour[at:])
		tour[at] = u
		in[u] = true
	}
	child := &individual{tour: tour}
	c.split(child, h.pc, h.ptw)
	return child
}

// seed puts the construction into the population: as it is when it is
// complete, and educated.
func (h *hgs) seed(first plan) {
	c := h.c
	if len(first.left) == 0 {
		ind := &individual{routes: first.routes}
		c.evaluate(ind)
		c.rebuildTour(ind)
		h.add(ind, false)
	}
	// Education may trade the plan's feasibility for distance: repair it
	// always, so the improved plan is there at once.
	child := h.fromPlan(first)
	h.educate(0, child, h.pc, h.ptw)
	h.add(child, true)
	for _, f := range []float64{10, 100} {
		if child.feasible {
			break
		}
		child = &individual{routes: child.routes}
		h.educate(0, child, h.pc*f, h.ptw*f)
		if child.feasible {
			h.add(child, false)
		}
	}
}

// runHGS runs one search whose population, seeded with the construction,
// is fed by opt.Threads workers educating children in parallel, until ctx
// ends, the deadline passes, the iteration budget is spent or, with
// patience, the search stops improving.
func runHGS(ctx context.Context, c *core, opt Options, deadline time.Time, first plan, rep *reporter) *hgs {
	h := newHGS(c, uint64(opt.Seed), max(1, opt.Threads))
	stop := func() bool {
		if ctx.Err() != nil {
			return true
		}
		if opt.MaxIterations > 0 && h.iter >= opt.MaxIterations {
			return true
		}
		return !deadline.IsZero() && time.Now().After(deadline)
	}
	// Only real-time stops interrupt a local search: an iteration budget
	// must not, so that results stay reproducible.
	halt := func() bool {
		return ctx.Err() != nil || (!deadline.IsZero() && time.Now().After(deadline))
	}
	for _, w := range h.workers {
		w.halt = halt
	}
	wait := opt.Patience
	if wait == 0 {
		wait = patience(c.n)
	}
	report := func() {
		if !rep.due() {
			return
		}
		if h.best != nil {
			rep.send(h.iter, h.best.parts.cost, 0, false)
		} else {
			rep.send(h.iter, c.planCost(first.routes), len(first.left), false)
		}
	}
	report()
	h.seed(first)
	report()
	fleet, tries, since := c.fleetCostly(), 0, 0
	if fleet && !stop() {
		h.fewerRoutes(tries)
		tries++
	}
	h.initial(func() bool { report(); return stop() })
	for !stop() && (wait < 0 || h.noImpr < wait) {
		h.step()
		if since++; fleet && since >= fleetEvery && !stop() {
			if h.fewerRoutes(tries) {
				h.noImpr = 0
			}
			since = 0
			tries++
		}
		report()
	}
	return h
}
