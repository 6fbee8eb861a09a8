package routing

import (
	"math"
	"math/rand/v2"
)

// The construction gives the search a complete, feasible plan within a
// fraction of a second, so that a small budget or a loaded machine still
// gets every stop served: the genetic search only ever improves on it.

// builder is one route under construction, with prefix and suffix
// segments so that an insertion is checked in O(1).
type builder struct {
	c        *core
	cl       int
	seq      []int // depot, customers..., depot
	fwd, bwd []seg
	pos      []int // node -> position in seq, valid for the route's nodes
}

func (b *builder) reset(cl int, customers []int) {
	b.cl = cl
	b.seq = append(append(append(b.seq[:0], 0), customers...), 0)
	b.refresh()
}

func (b *builder) refresh() {
	c := b.c
	m := len(b.seq)
	b.fwd, b.bwd = growSegs(b.fwd, m), growSegs(b.bwd, m)
	c.segments(b.cl, b.seq, b.fwd, b.bwd)
	if b.pos == nil {
		b.pos = make([]int, c.nn)
	}
	for k := 1; k < m-1; k++ {
		b.pos[b.seq[k]] = k
	}
}

func growSegs(s []seg, m int) []seg {
	if cap(s) < m {
		return make([]seg, m, 2*m)
	}
	return s[:m]
}

// cost is the added distance of inserting u after position i, or +Inf
// when the route would break a constraint.
func (b *builder) cost(u, i int) float64 {
	c := b.c
	k := &c.classes[b.cl]
	last := &b.fwd[len(b.seq)-1]
	for d := 0; d < c.dims; d++ {
		if last.load[d]+c.node[u].load[d] > k.cap[d] {
			return math.Inf(1)
		}
	}
	x, y := b.seq[i], b.seq[i+1]
	add := c.dist[x*c.nn+u] + c.dist[u*c.nn+y] - c.dist[x*c.nn+y]
	if c.timed {
		s := c.join(&b.fwd[i], &c.node[u])
		s = c.join(&s, &b.bwd[i+1])
		if p := c.parts(b.cl, &s, len(b.seq)-1); p.warp > 0 {
			return math.Inf(1)
		}
	}
	return add
}

// best is u's cheapest feasible insertion: the position after which it
// goes (-1 if none) and the added distance.
func (b *builder) best(u int) (int, float64) {
	at, cost := -1, math.Inf(1)
	for i := 0; i < len(b.seq)-1; i++ {
		if x := b.cost(u, i); x < cost {
			at, cost = i, x
		}
	}
	return at, cost
}

func (b *builder) insert(u, i int) {
	b.seq = append(b.seq, 0)
	copy(b.seq[i+2:], b.seq[i+1:])
	b.seq[i+1] = u
	b.refresh()
}

// feasibleFor reports whether the route under construction is feasible
// for class cl, and at what cost.
func (b *builder) feasibleFor(cl int) (bool, float64) {
	c := b.c
	s := c.depotSeg(cl)
	for _, v := range b.seq[1 : len(b.seq)-1] {
		s = c.join(&s, &c.node[v])
	}
	d := c.depotSeg(cl)
	s = c.join(&s, &d)
	p := c.parts(cl, &s, len(b.seq)-2)
	return p.excess < 1e-9 && p.warp < 1e-9, p.cost
}

// alone reports whether class cl can serve customer u on its own.
func (c *core) alone(cl, u int) bool {
	s := c.depotSeg(cl)
	s = c.join(&s, &c.node[u])
	d := c.depotSeg(cl)
	s = c.join(&s, &d)
	p := c.parts(cl, &s, 1)
	return p.excess < 1e-9 && p.warp < 1e-9
}

// plan is a set of routes, one per slot, and the customers it leaves out.
type plan struct {
	routes [][]int
	left   []int
}

// construct builds a plan by sequential insertion (Solomon 1987, I1): a
// route starts from the unrouted customer farthest from the depot on the
// largest vehicle left, takes one at a time the customer whose cheapest
// feasible insertion adds least distance net of its distance from the
// depot, and when nothing more fits moves to the cheapest vehicle type
// left that can drive it. It returns the routes per slot and the customers
// no vehicle was left for. With rng, each route starts from a random
// customer half of the time and the weight of the distance from the depot
// varies, for a diverse initial population.
func (c *core) construct(rng *rand.Rand) plan {
	free := make([]int, len(c.classes))
	var order []int // classes, larger first, as the slots are laid out
	for _, cl := range c.slots {
		if free[cl] == 0 {
			order = append(order, cl)
		}
		free[cl]++
	}
	un := make([]int, 0, c.n)
	for v := 1; v <= c.n; v++ {
		un = append(un, v)
	}
	remove := func(u int) {
		for i, v := range un {
			if v == u {
				un = append(un[:i], un[i+1:]...)
				return
			}
		}
	}
	lambda := 1.0
	if rng != nil {
		lambda = 2 * rng.Float64()
	}
	radial := func(u int) float64 { return lambda * (c.dist[u] + c.dist[u*c.nn]) / 2 }
	// Stops that require a capability seed routes first, so that the
	// vehicles offering it are not all spent on routes that need none.
	seedScore := func(u int) float64 {
		if c.restricted(u) {
			return radial(u) + 4*c.maxDist + 1
		}
		return radial(u)
	}
	type route struct {
		cl  int
		seq []int
	}
	var built []route
	at := make([]int, c.nn) // cached best insertion: after this node (-1: none)
	cost := make([]float64, c.nn)
	routed := make([]bool, c.nn)
	seen := make([]int, c.nn) // stamp of the route that last considered the node
	stamp := 0
	var cand []int
	b := &builder{c: c}
	for len(un) > 0 {
		cl, seed := -1, -1
		for _, k := range order {
			if free[k] == 0 {
				continue
			}
			far := -1.0
			for _, u := range un {
				if r := seedScore(u); r > far && c.alone(k, u) {
					far, seed = r, u
				}
			}
			if rng != nil && seed >= 0 && rng.IntN(2) == 0 {
				if u := un[rng.IntN(len(un))]; c.alone(k, u) {
					seed = u
				}
			}
			if seed >= 0 {
				cl = k
				break
			}
		}
		if cl < 0 {
			break
		}
		b.reset(cl, []int{seed})
		routed[seed] = true
		remove(seed)
		// Candidates are the neighbours of the route's customers, so that
		// a route costs time in proportion to its own size; the rest of
		// the city is scanned only when no candidate fits any more.
		stamp++
		cand = cand[:0]
		consider := func(u int) {
			if routed[u] || seen[u] == stamp {
				return
			}
			seen[u] = stamp
			i, x := b.best(u)
			at[u], cost[u] = -1, x
			if i >= 0 {
				at[u] = b.seq[i]
				cand = append(cand, u)
			}
		}
		for _, u := range c.neighbours(seed) {
			consider(u)
		}
		for {
			pick, score := -1, math.Inf(1)
			for _, u := range cand {
				if at[u] >= 0 && !routed[u] {
					if s := cost[u] - radial(u); s < score {
						pick, score = u, s
					}
				}
			}
			if pick < 0 {
				for _, u := range un {
					consider(u)
				}
				for _, u := range cand {
					if at[u] >= 0 && !routed[u] {
						if s := cost[u] - radial(u); s < score {
							pick, score = u, s
						}
					}
				}
			}
			if pick < 0 {
				break
			}
			prev := at[pick]
			b.insert(pick, b.find(prev))
			routed[pick] = true
			remove(pick)
			// Insertion only makes the route longer and fuller: a place
			// that did not fit still does not, and the others cost the same
			// unless they were the edge just split. Check the cached place
			// still fits and compare it with the two new edges.
			pp := b.find(pick)
			kept := cand[:0]
			for _, u := range cand {
				if routed[u] || at[u] < 0 {
					continue
				}
				x := math.Inf(1)
				if at[u] != prev {
					x = b.cost(u, b.find(at[u]))
				}
				if math.IsInf(x, 1) {
					i, y := b.best(u)
					at[u], cost[u] = -1, y
					if i < 0 {
						continue
					}
					at[u] = b.seq[i]
				} else {
					cost[u] = x
					for _, i := range [2]int{pp - 1, pp} {
						if y := b.cost(u, i); y < cost[u] {
							at[u], cost[u] = b.seq[i], y
						}
					}
				}
				kept = append(kept, u)
			}
			cand = kept
			for _, u := range c.neighbours(pick) {
				consider(u)
			}
		}
		// The largest vehicle built the route; the cheapest that can
		// drive it takes it, sparing vehicles with a capability that
		// stops still waiting require when the route needs none.
		var needed [maxDims]float64
		for _, u := range un {
			for d := c.loadDims; d < c.dims; d++ {
				needed[d] += c.node[u].load[d]
			}
		}
		best, bestCost := cl, math.Inf(1)
		for _, k := range order {
			if free[k] == 0 {
				continue
			}
			if ok, x := b.feasibleFor(k); ok && x < bestCost {
				if k != cl && c.spares(k, &needed, b.seq) {
					continue
				}
				best, bestCost = k, x
			}
		}
		free[best]--
		built = append(built, route{best, append([]int(nil), b.seq[1:len(b.seq)-1]...)})
	}
	routes := make([][]int, len(c.slots))
	taken := make([]bool, len(c.slots))
	for _, r := range built {
		for s, cl := range c.slots {
			if cl == r.cl && !taken[s] {
				taken[s] = true
				routes[s] = r.seq
				break
			}
		}
	}
	return plan{routes, un}
}

// fill puts each left-out customer at its cheapest feasible place, in a
// route or alone on a vehicle not in use (adding one of a type without a
// count when needed). It returns the routes and the customers still left.
func (c *core) fill(routes [][]int, left []int) ([][]int, []int) {
	if len(left) == 0 {
		return routes, nil
	}
	routes = append([][]int(nil), routes...)
	bs := make([]*builder, len(routes))
	at := func(r int) *builder {
		if bs[r] == nil {
			bs[r] = &builder{c: c}
			bs[r].reset(c.slots[r], routes[r])
		}
		return bs[r]
	}
	var still []int
	for _, u := range left {
		bestR, bestI, bestCost := -1, -1, math.Inf(1)
		for r, rt := range routes {
			k := &c.classes[c.slots[r]]
			extra := 0.0
			if len(rt) == 0 {
				extra = k.fixed
			}
			if i, x := at(r).best(u); i >= 0 && extra+k.perDist*x < bestCost {
				bestR, bestI, bestCost = r, i, extra+k.perDist*x
			}
		}
		if bestR < 0 {
			for cl, k := range c.classes {
				if k.unlimited && c.alone(cl, u) {
					c.slots = append(c.slots, cl)
					routes = append(routes, nil)
					bs = append(bs, nil)
					bestR, bestI = len(routes)-1, 0
					break
				}
			}
		}
		if bestR < 0 {
			still = append(still, u)
			continue
		}
		b := at(bestR)
		b.insert(u, bestI)
		routes[bestR] = append([]int(nil), b.seq[1:len(b.seq)-1]...)
	}
	return routes, still
}

// find returns the position of node v, which is on the route.
func (b *builder) find(v int) int {
	if v == 0 {
		return 0
	}
	return b.pos[v]
}

// spares reports whether class cl offers a capability that needed counts
// and the customers of seq do not require.
func (c *core) spares(cl int, needed *[maxDims]float64, seq []int) bool {
	for d := c.loadDims; d < c.dims; d++ {
		if needed[d] == 0 || c.classes[cl].cap[d] == 0 {
			continue
		}
		used := false
		for _, v := range seq {
			used = used || c.node[v].load[d] > 0
		}
		if !used {
			return true
		}
	}
	return false
}

// neighbours is u's granular neighbourhood (none for a single customer).
func (c *core) neighbours(u int) []int {
	if u < len(c.neigh) {
		return c.neigh[u]
	}
	return nil
}
