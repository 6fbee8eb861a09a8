package routing

import (
	"math"
	"sort"
)

// bigTime stands for "no time limit"; finite so that arithmetic stays exact enough.
const bigTime = 1e15

// maxDims is the number of dimensions the search's loads have: the load
// dimensions, then one per capability. A stop requiring capability j
// carries 1 in its dimension; a class offering it has room without
// limit there and one without none, so every check and penalty of load
// enforces compatibility too.
const maxDims = MaxDimensions + MaxCapabilities

// restricted reports whether customer u requires a capability some class lacks.
func (c *core) restricted(u int) bool {
	for d := c.loadDims; d < c.dims; d++ {
		if c.node[u].load[d] > 0 {
			return true
		}
	}
	return false
}

// class is a vehicle type as the search sees it.
type class struct {
	vt         int // index in Problem.Vehicles
	cap        [maxDims]float64
	fixed      float64
	perDist    float64
	start, end float64
	maxDur     float64 // 0 = none
	offers     []string
	name       string
	count      int
	unlimited  bool // as many vehicles as needed
}

// core is the compiled, solver-side instance: node 0 is the depot, nodes
// 1..n the served customers.
type core struct {
	n, nn    int
	dims     int // load dimensions, then one per capability that sets classes apart
	loadDims int // the load dimensions alone
	capNames []string
	dist, tt []float64
	stop     []int // node -> index in Problem.Stops (-1 for depot)
	node     []seg // single-node segments
	service  []float64
	classes  []class
	slots    []int // route slot -> class, larger capacity first
	capRef   [maxDims]float64
	timed    bool
	sym      bool
	neigh    [][]int
	maxDist  float64
	x, y     []float64 // for polar ordering; may be zero
	angle    []float64 // polar angle around the depot, in [0, 2π)
}

// seg summarises a sequence of visits for O(1) concatenation
// (Vidal et al. 2013, time-warp formulation).
type seg struct {
	first, last int
	dist        float64
	dur, tw     float64
	e, l        float64
	load        [maxDims]float64
}

func (c *core) join(a, b *seg) seg {
	var s seg
	s.first, s.last = a.first, b.last
	k := a.last*c.nn + b.first
	s.dist = a.dist + c.dist[k] + b.dist
	for d := 0; d < c.dims; d++ {
		s.load[d] = a.load[d] + b.load[d]
	}
	if c.timed {
		t := c.tt[k]
		delta := a.dur - a.tw + t
		// Plain comparisons: math.Max/Min handle NaN and signed zeros, which
		// cannot occur here, and cost a lot in this hot path.
		wt, tw := b.e-delta-a.l, a.e+delta-b.l
		if wt < 0 {
			wt = 0
		}
		if tw < 0 {
			tw = 0
		}
		s.dur = a.dur + b.dur + t + wt
		s.tw = a.tw + b.tw + tw
		e, l := b.e-delta, b.l-delta
		if a.e > e {
			e = a.e
		}
		if a.l < l {
			l = a.l
		}
		s.e = e - wt
		s.l = l + tw
	}
	return s
}

// segments fills fwd[k] with the segment of seq[0..k] and bwd[k] with
// that of seq[k..], for a route of class cl whose seq starts and ends at
// the depot.
func (c *core) segments(cl int, seq []int, fwd, bwd []seg) {
	m := len(seq)
	dep := c.depotSeg(cl)
	fwd[0] = dep
	for k := 1; k < m; k++ {
		ns := &dep
		if k < m-1 {
			ns = &c.node[seq[k]]
		}
		fwd[k] = c.join(&fwd[k-1], ns)
	}
	bwd[m-1] = dep
	for k := m - 2; k >= 0; k-- {
		ns := &dep
		if k > 0 {
			ns = &c.node[seq[k]]
		}
		bwd[k] = c.join(ns, &bwd[k+1])
	}
}

// depotSeg is the depot as start or end of a route of class cl.
func (c *core) depotSeg(cl int) seg {
	k := &c.classes[cl]
	return seg{e: k.start, l: k.end}
}

// parts of a route's penalised cost.
type costParts struct {
	cost   float64 // fixed + distance cost
	excess float64 // capacity excess, in vehicle fractions
	warp   float64 // time warp + duration excess
}

func (c *core) parts(cl int, s *seg, customers int) costParts {
	if customers == 0 {
		return costParts{}
	}
	k := &c.classes[cl]
	p := costParts{cost: k.fixed + k.perDist*s.dist}
	for d := 0; d < c.dims; d++ {
		if s.load[d] > k.cap[d] {
			p.excess += (s.load[d] - k.cap[d]) / c.capRef[d]
		}
	}
	if c.timed {
		p.warp = s.tw
		if k.maxDur > 0 && s.dur > k.maxDur {
			p.warp += s.dur - k.maxDur
		}
	}
	return p
}

func (p costParts) penalised(pc, ptw float64) float64 {
	return p.cost + pc*p.excess + ptw*p.warp
}

// buildNeighbours computes the granular neighbourhood: for each customer,
// the k most related customers by distance plus time-window incompatibility
// (waiting and warp weights as in PyVRP).
func (c *core) buildNeighbours(k int) {
	k = min(k, c.n-1)
	c.neigh = make([][]int, c.nn)
	type cand struct {
		v int
		w float64
	}
	cands := make([]cand, 0, c.n)
	for u := 1; u <= c.n; u++ {
		cands = cands[:0]
		for v := 1; v <= c.n; v++ {
			if v == u {
				continue
			}
			w := c.dist[u*c.nn+v]
			if c.timed {
				a, b := &c.node[u], &c.node[v]
				// v after u: wait if v opens late, warp if v closes early.
				t := c.tt[u*c.nn+v]
				w += 0.2*math.Max(b.e-t-c.service[u]-a.l, 0) + math.Max(a.e+c.service[u]+t-b.l, 0)
			}
			cands = append(cands, cand{v, w})
		}
		// Only the k nearest matter: select them, then sort those.
		less := func(i, j int) bool {
			if cands[i].w != cands[j].w {
				return cands[i].w < cands[j].w
			}
			return cands[i].v < cands[j].v
		}
		selectSmallest(len(cands), k, less, func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		sort.Slice(cands[:k], less)
		for i := range k {
			c.neigh[u] = append(c.neigh[u], cands[i].v)
		}
	}
	// Make the relation symmetric, as HGS does: if v is close to u, moves
	// from v towards u are worth trying too.
	has := make(map[[2]int]bool, c.nn*k*2)
	for u := 1; u <= c.n; u++ {
		for _, v := range c.neigh[u] {
			has[[2]int{u, v}] = true
		}
	}
	for u := 1; u <= c.n; u++ {
		for _, v := range c.neigh[u][:k] {
			if !has[[2]int{v, u}] {
				has[[2]int{v, u}] = true
				c.neigh[v] = append(c.neigh[v], u)
			}
		}
	}
}

// selectSmallest reorders n items so that the k smallest come first, in
// any order (quickselect, median-of-three pivots).
func selectSmallest(n, k int, less func(i, j int) bool, swap func(i, j int)) {
	lo, hi := 0, n-1
	for lo < hi && k > lo && k <= hi {
		mid := lo + (hi-lo)/2
		if less(mid, lo) {
			swap(mid, lo)
		}
		if less(hi, lo) {
			swap(hi, lo)
		}
		if less(hi, mid) {
			swap(hi, mid)
		}
		// The median sits at mid; park it at hi-1... simpler: at hi.
		swap(mid, hi)
		p := lo
		for i := lo; i < hi; i++ {
			if less(i, hi) {
				swap(i, p)
				p++
			}
		}
		swap(p, hi)
		switch {
		case p == k || p == k-1:
			return
		case p > k:
			hi = p - 1
		default:
			lo = p + 1
		}
	}
}
