package routing

import (
	"math"
	"sort"
)

// Where vehicles carry a fixed cost, a plan with one route fewer is often
// cheaper though every plan the search meets on its way there is worse:
// the stops of a whole route must move at once. fewerRoutes makes that
// step directly, as route-minimisation phases do: it empties one of the
// best plan's shortest routes, inserts its stops where the penalised cost
// rises least, and lets the local search repair the windows and loads
// without opening a vehicle again, under rising penalties. A feasible
// result joins the population.

// fleetCostly reports whether some vehicle type has a fixed cost, the
// only case where the number of routes is worth minimising for itself.
func (c *core) fleetCostly() bool {
	for _, k := range c.classes {
		if k.fixed > 0 {
			return true
		}
	}
	return false
}

// fleetEvery is the number of generations between two attempts at a
// plan with one route fewer.
const fleetEvery = 10

// fleetChoices is how many of the shortest routes the attempts take turns
// to empty.
const fleetChoices = 3

// fewerRoutes tries the best plan with its try-th shortest route (modulo
// fleetChoices) emptied; it reports whether the search's best improved.
func (h *hgs) fewerRoutes(try int) bool {
	c := h.c
	best := h.best
	if best == nil {
		return false
	}
	var rs []int
	for r, rt := range best.routes {
		if len(rt) > 0 {
			rs = append(rs, r)
		}
	}
	if len(rs) < 2 {
		return false
	}
	sort.SliceStable(rs, func(a, b int) bool { return len(best.routes[rs[a]]) < len(best.routes[rs[b]]) })
	gone := rs[try%min(len(rs), fleetChoices)]
	routes := make([][]int, len(best.routes))
	for r, rt := range best.routes {
		if r != gone {
			routes[r] = append([]int(nil), rt...)
		}
	}
	moved := append([]int(nil), best.routes[gone]...)
	h.rng.Shuffle(len(moved), func(a, b int) { moved[a], moved[b] = moved[b], moved[a] })
	bs := make([]*builder, len(routes))
	for _, u := range moved {
		bestR, bestI, bestD := -1, -1, math.Inf(1)
		for r, rt := range routes {
			if len(rt) == 0 {
				continue
			}
			if bs[r] == nil {
				bs[r] = &builder{c: c}
				bs[r].reset(c.slots[r], rt)
			}
			if i, d := bs[r].penalisedBest(u, h.pc, h.ptw); d < bestD {
				bestR, bestI, bestD = r, i, d
			}
		}
		bs[bestR].insert(u, bestI)
		routes[bestR] = append(routes[bestR][:0], bs[bestR].seq[1:len(bs[bestR].seq)-1]...)
	}
	ls := h.workers[0]
	ls.noNewRoutes = true
	defer func() { ls.noNewRoutes = false }()
	ind := &individual{routes: routes}
	for _, f := range []float64{1, 10, 100} {
		h.educate(0, ind, h.pc*f, h.ptw*f)
		if ind.feasible {
			return h.add(ind, false)
		}
		ind = &individual{routes: ind.routes}
	}
	return false
}

// penalisedBest is u's insertion into the route that raises its penalised
// cost least: the position after which it goes and the rise.
func (b *builder) penalisedBest(u int, pc, ptw float64) (int, float64) {
	c := b.c
	m := len(b.seq)
	before := c.parts(b.cl, &b.fwd[m-1], m-2).penalised(pc, ptw)
	at, rise := -1, math.Inf(1)
	for i := 0; i < m-1; i++ {
		s := c.join(&b.fwd[i], &c.node[u])
		s = c.join(&s, &b.bwd[i+1])
		if x := c.parts(b.cl, &s, m-1).penalised(pc, ptw) - before; x < rise {
			at, rise = i, x
		}
	}
	return at, rise
}
