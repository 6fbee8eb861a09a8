package routing

import (
	"math"
	"sort"
)

// individual is one member of the genetic population.
type individual struct {
	tour     []int   // giant tour of customers
	routes   [][]int // customers per route slot
	succ     []int   // successor of each node (0 = depot)
	pred     []int
	parts    costParts
	nRoutes  int
	feasible bool
	pen      float64 // penalised cost under the current penalties
	biased   float64
	prox     []proximity // sorted by distance
}

type proximity struct {
	d   float64
	ind *individual
}

// evaluate recomputes costs and the successor arrays from routes.
func (c *core) evaluate(ind *individual) {
	ind.parts = costParts{}
	ind.nRoutes = 0
	if ind.succ == nil {
		ind.succ = make([]int, c.nn)
		ind.pred = make([]int, c.nn)
	}
	for r, rt := range ind.routes {
		if len(rt) == 0 {
			continue
		}
		ind.nRoutes++
		cl := c.slots[r]
		s := c.depotSeg(cl)
		prev := 0
		for _, v := range rt {
			s = c.join(&s, &c.node[v])
			ind.pred[v] = prev
			if prev != 0 {
				ind.succ[prev] = v
			}
			prev = v
		}
		ind.succ[prev] = 0
		d := c.depotSeg(cl)
		s = c.join(&s, &d)
		p := c.parts(cl, &s, len(rt))
		ind.parts.cost += p.cost
		ind.parts.excess += p.excess
		ind.parts.warp += p.warp
	}
	ind.feasible = ind.parts.excess < 1e-9 && ind.parts.warp < 1e-9
}

// rebuildTour concatenates the routes in polar order (as HGS does) into
// the giant tour.
func (c *core) rebuildTour(ind *individual) {
	ind.tour = ind.tour[:0]
	for _, r := range c.polarOrder(ind) {
		ind.tour = append(ind.tour, ind.routes[r]...)
	}
}

// polarOrder lists ind's non-empty route slots by the polar angle of their
// barycentre around the depot.
func (c *core) polarOrder(ind *individual) []int {
	type ra struct {
		r int
		a float64
	}
	var order []ra
	for r, rt := range ind.routes {
		if len(rt) == 0 {
			continue
		}
		x, y := 0.0, 0.0
		for _, v := range rt {
			x += c.x[v]
			y += c.y[v]
		}
		n := float64(len(rt))
		order = append(order, ra{r, math.Atan2(y/n-c.y[0], x/n-c.x[0])})
	}
	sort.SliceStable(order, func(i, j int) bool { return order[i].a < order[j].a })
	out := make([]int, len(order))
	for i, o := range order {
		out[i] = o.r
	}
	return out
}

// brokenPairs is the broken-pairs distance between two individuals, in [0,1].
func (c *core) brokenPairs(a, b *individual) float64 {
	diff := 0
	for j := 1; j <= c.n; j++ {
		if a.succ[j] != b.succ[j] && a.succ[j] != b.pred[j] {
			diff++
		}
		if a.pred[j] == 0 && b.pred[j] != 0 && b.succ[j] != 0 {
			diff++
		}
	}
	return float64(diff) / float64(c.n)
}

// split cuts the giant tour into routes optimally (Bellman on the
// auxiliary graph, Prins 2004), with the fleet limit when it binds.
func (c *core) split(ind *individual, pc, ptw float64) {
	n := len(ind.tour)
	cl := c.slots[0]
	k := &c.classes[cl]
	depot := c.depotSeg(cl)
	cost := func(i int, s *seg, cnt int) float64 {
		e := c.join(s, &depot)
		return c.parts(cl, &e, cnt).penalised(pc, ptw)
	}
	tooFull := func(s *seg) bool {
		for d := 0; d < c.loadDims; d++ {
			if s.load[d] > 1.5*k.cap[d] && s.load[d] > 0 {
				return true
			}
		}
		return false
	}
	pot := make([]float64, n+1)
	pred := make([]int, n+1)
	for i := range pot {
		pot[i] = math.Inf(1)
	}
	pot[0] = 0
	for i := 0; i < n; i++ {
		s := depot
		for j := i + 1; j <= n; j++ {
			s = c.join(&s, &c.node[ind.tour[j-1]])
			if v := pot[i] + cost(i, &s, j-i); v < pot[j] {
				pot[j], pred[j] = v, i
			}
			if tooFull(&s) {
				break
			}
		}
	}
	var cuts []int
	for j := n; j > 0; j = pred[j] {
		cuts = append(cuts, j)
	}
	K := len(c.slots)
	if len(cuts) > K {
		cuts = c.splitLimited(ind.tour, K, cost, tooFull)
	}
	// cuts holds route ends from the last; rebuild routes in tour order.
	var chunks [][]int
	start := 0
	for x := len(cuts) - 1; x >= 0; x-- {
		chunks = append(chunks, ind.tour[start:cuts[x]])
		start = cuts[x]
	}
	c.assign(ind, chunks)
}

func (c *core) splitLimited(tour []int, K int, cost func(int, *seg, int) float64, tooFull func(*seg) bool) []int {
	n := len(tour)
	depot := c.depotSeg(c.slots[0])
	pot := make([][]float64, K+1)
	pred := make([][]int, K+1)
	for k := range pot {
		pot[k] = make([]float64, n+1)
		pred[k] = make([]int, n+1)
		for i := range pot[k] {
			pot[k][i] = math.Inf(1)
		}
	}
	pot[0][0] = 0
	for k := 0; k < K; k++ {
		for i := 0; i < n; i++ {
			if math.IsInf(pot[k][i], 1) {
				continue
			}
			s := depot
			for j := i + 1; j <= n; j++ {
				s = c.join(&s, &c.node[tour[j-1]])
				if v := pot[k][i] + cost(i, &s, j-i); v < pot[k+1][j] {
					pot[k+1][j], pred[k+1][j] = v, i
				}
				// The last route may not stop early: it must take the rest.
				if tooFull(&s) && k < K-1 {
					break
				}
			}
		}
	}
	best := 1
	for k := 1; k <= K; k++ {
		if pot[k][n] < pot[best][n] {
			best = k
		}
	}
	var cuts []int
	for j, k := n, best; j > 0; j, k = pred[k][j], k-1 {
		cuts = append(cuts, j)
	}
	return cuts
}

// assign gives route chunks to slots: biggest loads to biggest vehicles;
// but first, chunks with stops that require a capability to the largest
// free vehicles that offer it, so that split's tours do not start out
// incompatible.
func (c *core) assign(ind *individual, chunks [][]int) {
	ind.routes = make([][]int, len(c.slots))
	if len(c.classes) > 1 {
		size := func(ch []int) float64 {
			t := 0.0
			for _, v := range ch {
				for d := 0; d < c.loadDims; d++ {
					t += c.node[v].load[d] / c.capRef[d]
				}
			}
			return t
		}
		sort.SliceStable(chunks, func(a, b int) bool { return size(chunks[a]) > size(chunks[b]) })
	}
	if c.dims == c.loadDims {
		for i, ch := range chunks {
			ind.routes[i] = append([]int(nil), ch...)
		}
		return
	}
	taken := make([]bool, len(c.slots))
	placed := make([]bool, len(chunks))
	for i, ch := range chunks {
		var need [maxDims]float64
		restricted := false
		for _, v := range ch {
			for d := c.loadDims; d < c.dims; d++ {
				need[d] += c.node[v].load[d]
			}
			restricted = restricted || c.restricted(v)
		}
		for s, cl := range c.slots {
			if restricted && !taken[s] && c.offersFor(cl, &need) {
				ind.routes[s], taken[s], placed[i] = append([]int(nil), ch...), true, true
				break
			}
		}
	}
	s := 0
	for i, ch := range chunks {
		if placed[i] {
			continue
		}
		for taken[s] {
			s++
		}
		ind.routes[s], taken[s] = append([]int(nil), ch...), true
	}
}

// offersFor reports whether class cl offers every capability need counts.
func (c *core) offersFor(cl int, need *[maxDims]float64) bool {
	for d := c.loadDims; d < c.dims; d++ {
		if need[d] > 0 && c.classes[cl].cap[d] == 0 {
			return false
		}
	}
	return true
}
