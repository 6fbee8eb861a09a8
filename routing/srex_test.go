package routing

import (
	"context"
	"path/filepath"
	"testing"
)

// SREX children keep every customer exactly once, whatever runs of routes
// the parents exchange.
func TestSREXKeepsEveryCustomer(t *testing.T) {
	for _, f := range []string{"vrptw/RC105.vrp", "cvrp/X-n101-k25.vrp"} {
		in := readInstance(t, filepath.Join(benchDir, f))
		cp, err := compile(context.Background(), in.Problem(), 20)
		if err != nil {
			t.Fatal(err)
		}
		c := cp.c
		h := newHGS(c, 7, 1)
		a, b := h.newRandom(), h.fromPlan(c.construct(nil))
		c.evaluate(a)
		c.evaluate(b)
		for range 50 {
			child := h.srex(a, b)
			if len(child.routes) != len(c.slots) {
				t.Fatalf("%s: %d routes for %d vehicles", f, len(child.routes), len(c.slots))
			}
			seen := make([]int, c.nn)
			for _, rt := range child.routes {
				for _, v := range rt {
					seen[v]++
				}
			}
			for v := 1; v <= c.n; v++ {
				if seen[v] != 1 {
					t.Fatalf("%s: customer %d in %d routes", f, v, seen[v])
				}
			}
			a, b = b, child
		}
	}
}
