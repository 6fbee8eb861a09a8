package routing

import (
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
	c.insertCheapest(routes, moved, h.pc, h.ptw)
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
