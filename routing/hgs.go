package routing

import (
	"context"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"time"
)

// shared lets parallel searches exchange their best solution.
type shared struct {
	mu   sync.Mutex
	best *individual
}

func (s *shared) offer(ind *individual) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.best == nil || ind.parts.cost < s.best.parts.cost-eps {
		s.best = ind
	}
}

func (s *shared) get() *individual {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.best
}

// hgs is one hybrid genetic search (Vidal 2022) on a core instance.
type hgs struct {
	c        *core
	rng      *rand.Rand
	ls       *localSearch
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

func newHGS(c *core, seed uint64) *hgs {
	h := &hgs{c: c, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), maxNoImp: 20000, initSize: popMu}
	h.ls = newLocalSearch(c, h.rng)
	maxDem := 0.0
	for v := 1; v <= c.n; v++ {
		for d := 0; d < c.dims; d++ {
			maxDem = math.Max(maxDem, c.node[v].load[d]/c.capRef[d])
		}
	}
	perDist := c.classes[0].perDist
	h.pc = perDist * c.maxDist / math.Max(maxDem, 1e-3)
	h.pcMin, h.pcMax = h.pc*1e-3, h.pc*1e4
	// Time warp is in seconds, cost in distance units: start from the
	// ratio of distance to time so both penalties weigh alike.
	sd, st := 0.0, 0.0
	for i := range c.dist {
		sd += c.dist[i]
		st += c.tt[i]
	}
	h.ptw = perDist
	if st > 0 && sd > 0 {
		h.ptw = perDist * sd / st
	}
	h.ptwMin, h.ptwMax = h.ptw*1e-3, h.ptw*1e4
	return h
}

func (h *hgs) educate(ind *individual, pc, ptw float64) {
	ind.routes = h.ls.run(ind.routes, pc, ptw)
	h.c.evaluate(ind)
	h.c.rebuildTour(ind)
	ind.pen = ind.parts.penalised(h.pc, h.ptw)
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

// step runs one generation; it returns false when nothing can be done.
func (h *hgs) step() {
	var child *individual
	if len(h.feas.inds)+len(h.infeas.inds) < 2 {
		child = h.newRandom()
	} else {
		child = h.crossover(h.tournament(), h.tournament())
	}
	h.educate(child, h.pc, h.ptw)
	improved := h.add(child, true)
	if !child.feasible && h.rng.IntN(2) == 0 {
		rep := &individual{routes: child.routes}
		h.educate(rep, h.pc*10, h.ptw*10)
		if !rep.feasible {
			h.educate(rep, h.pc*100, h.ptw*100)
		}
		if rep.feasible {
			improved = h.add(rep, false) || improved
		}
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
	if h.noImpr >= h.maxNoImp {
		h.restart()
	}
}

func (h *hgs) restart() {
	h.feas, h.infeas = subpop{}, subpop{}
	h.noImpr = 0
	h.initial(nil)
}

// initial fills the population with 4*mu random educated individuals.
func (h *hgs) initial(stop func() bool) {
	for i := 0; i < h.initSize; i++ {
		if stop != nil && stop() {
			return
		}
		ind := h.newRandom()
		h.educate(ind, h.pc, h.ptw)
		h.add(ind, true)
		if !ind.feasible && h.rng.IntN(2) == 0 {
			rep := &individual{routes: ind.routes}
			h.educate(rep, h.pc*10, h.ptw*10)
			if rep.feasible {
				h.add(rep, false)
			}
		}
		h.iter++
	}
}

// inject copies an individual from another search into this population.
func (h *hgs) inject(o *individual) {
	ind := &individual{routes: make([][]int, len(o.routes))}
	for r := range o.routes {
		ind.routes[r] = append([]int(nil), o.routes[r]...)
	}
	h.c.evaluate(ind)
	h.c.rebuildTour(ind)
	h.add(ind, false)
}

// runHGS runs the search until stop; threads > 1 run independent searches
// with consecutive seeds that share their best solution.
func runHGS(ctx context.Context, c *core, opt Options, deadline time.Time) (*individual, *individual, int) {
	threads := max(1, opt.Threads)
	sh := &shared{}
	results := make([]*hgs, threads)
	var wg sync.WaitGroup
	for t := range threads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h := newHGS(c, uint64(opt.Seed)+uint64(t)*1000003)
			results[t] = h
			stop := func() bool {
				if ctx.Err() != nil {
					return true
				}
				if opt.MaxIterations > 0 && h.iter >= opt.MaxIterations {
					return true
				}
				return !deadline.IsZero() && time.Now().After(deadline)
			}
			h.initial(stop)
			for !stop() {
				h.step()
				if threads > 1 && h.iter%200 == 0 {
					if h.best != nil {
						sh.offer(h.best)
					}
					if b := sh.get(); b != nil && b != h.best && (h.best == nil || b.parts.cost < h.best.parts.cost-eps) {
						h.inject(b)
					}
				}
			}
		}()
	}
	wg.Wait()
	var best, bestInf *individual
	iters := 0
	for _, h := range results {
		iters += h.iter
		if h.best != nil && (best == nil || h.best.parts.cost < best.parts.cost-eps) {
			best = h.best
		}
		if h.bestInf != nil && (bestInf == nil || h.bestInf.pen < bestInf.pen) {
			bestInf = h.bestInf
		}
	}
	return best, bestInf, iters
}
