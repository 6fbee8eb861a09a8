package routing

import (
	"context"
	"testing"
)

// fewerRoutes repairs a plan with one route emptied without opening a
// vehicle again: every plan it adds to the population is feasible and has
// fewer routes than the plan it started from, and given a plan whose
// longest route is cut in two, it finds one with a route fewer.
func TestFewerRoutesNeverReopens(t *testing.T) {
	for seed := range uint64(3) {
		cp, err := compile(context.Background(), smallCity(120, seed), 20)
		if err != nil {
			t.Fatal(err)
		}
		c := cp.c
		if !c.fleetCostly() {
			t.Fatal("the city's vehicles have no fixed cost")
		}
		h := newHGS(c, seed, 1)
		first := c.construct(nil)
		if len(first.left) != 0 {
			t.Fatalf("seed %d: the construction left %d stops", seed, len(first.left))
		}
		// Cut the longest route in two, onto a free vehicle of its type:
		// both halves stay feasible.
		routes := append([][]int(nil), first.routes...)
		long, free := 0, -1
		for r, rt := range routes {
			if len(rt) > len(routes[long]) {
				long = r
			}
		}
		for r, rt := range routes {
			if len(rt) == 0 && c.slots[r] == c.slots[long] {
				free = r
				break
			}
		}
		if free < 0 {
			t.Fatalf("seed %d: no free vehicle", seed)
		}
		half := len(routes[long]) / 2
		routes[free] = append([]int(nil), routes[long][half:]...)
		routes[long] = append([]int(nil), routes[long][:half]...)
		start := &individual{routes: routes}
		c.evaluate(start)
		c.rebuildTour(start)
		if !start.feasible {
			t.Fatalf("seed %d: the cut plan is infeasible", seed)
		}
		h.add(start, false)
		found := false
		for try := range fleetChoices {
			h.fewerRoutes(try)
			if h.workers[0].noNewRoutes {
				t.Fatal("fewerRoutes left the local search unable to open routes")
			}
			for _, ind := range h.feas.inds {
				if ind == start {
					continue
				}
				if !ind.feasible || ind.nRoutes >= start.nRoutes {
					t.Fatalf("seed %d: fewerRoutes added a plan with %d routes (feasible %v) from one with %d", seed, ind.nRoutes, ind.feasible, start.nRoutes)
				}
				found = true
			}
		}
		if !found {
			t.Fatalf("seed %d: no plan with fewer than %d routes", seed, start.nRoutes)
		}
	}
}
