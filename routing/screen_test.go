package routing

import (
	"context"
	"math/rand/v2"
	"reflect"
	"testing"
)

// The screen on distance before a move between routes is evaluated must
// only skip moves that would not improve: the local search makes the same
// moves with it as without, under low penalties (infeasible routes, whose
// penalties the screen counts), with and without time windows, and with
// vehicle types of different fixed costs, from routes of one customer
// (moves that empty a route, whose fixed cost the screen counts).
func TestScreenSkipsNoImprovingMove(t *testing.T) {
	var problems []*Problem
	for seed := range 3 {
		rng := rand.New(rand.NewPCG(uint64(seed), 7))
		problems = append(problems, randomInstance(rng, 40, false).Problem(), randomInstance(rng, 40, true).Problem())
		problems = append(problems, smallCity(60, uint64(seed)))
	}
	for k, p := range problems {
		cp, err := compile(context.Background(), p, 0)
		if err != nil {
			t.Fatal(err)
		}
		c := cp.c
		h := newHGS(c, uint64(k), 1)
		for _, f := range []float64{0.05, 1} {
			for trial := range 4 {
				start := h.newRandom().routes
				if trial == 0 {
					// One customer a vehicle: moves that empty a route abound.
					start = make([][]int, len(c.slots))
					for v := 1; v <= c.n; v++ {
						start[(v-1)%len(start)] = append(start[(v-1)%len(start)], v)
					}
				}
				var got [2][][]int
				for i, unscreened := range []bool{false, true} {
					ls := newLocalSearch(c, rand.New(rand.NewPCG(uint64(trial), 1)))
					ls.unscreened = unscreened
					got[i] = ls.run(start, h.pc*f, h.ptw*f)
				}
				if !reflect.DeepEqual(got[0], got[1]) {
					t.Fatalf("problem %d, penalties ×%g, trial %d: the screened search ended elsewhere:\n%v\n%v", k, f, trial, got[0], got[1])
				}
			}
		}
	}
}
