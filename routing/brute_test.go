package routing

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// randomInstance makes a tiny VRPLIB instance; with tw it gets Solomon-like
// time windows that a single vehicle could not all meet.
func randomInstance(rng *rand.Rand, n int, tw bool) *Instance {
	in := &Instance{Name: "tiny", Dimension: n + 1, Capacity: int64(12 + rng.IntN(12))}
	in.Coords = make([][2]float64, n+1)
	in.Demand = make([]int64, n+1)
	in.Service = make([]int64, n+1)
	in.Coords[0] = [2]float64{50, 50}
	for i := 1; i <= n; i++ {
		in.Coords[i] = [2]float64{float64(rng.IntN(101)), float64(rng.IntN(101))}
		in.Demand[i] = int64(1 + rng.IntN(9))
	}
	if tw {
		in.Vehicles = n
		in.Windows = make([][2]int64, n+1)
		in.Windows[0] = [2]int64{0, 400}
		for i := 1; i <= n; i++ {
			in.Service[i] = 10
			e := int64(rng.IntN(200))
			in.Windows[i] = [2]int64{e, e + 30 + int64(rng.IntN(60))}
		}
	}
	return in
}

// bruteForce returns the optimum by enumerating, for every subset of
// customers, every visiting order (best feasible route per subset), then
// the best partition into at most maxRoutes subsets.
func bruteForce(in *Instance, maxRoutes int) float64 {
	n := in.Dimension - 1
	full := 1<<n - 1
	route := make([]float64, full+1)
	for m := range route {
		route[m] = math.Inf(1)
	}
	route[0] = 0
	perm := make([]int, 0, n)
	var rec func(used int)
	rec = func(used int) {
		if used != 0 {
			if c, ok := routeCost(in, perm); ok && c < route[used] {
				route[used] = c
			}
		}
		for v := 1; v <= n; v++ {
			if used&(1<<(v-1)) == 0 {
				perm = append(perm, v)
				rec(used | 1<<(v-1))
				perm = perm[:len(perm)-1]
			}
		}
	}
	rec(0)
	// part[k][m]: best cost covering m with k routes.
	best := math.Inf(1)
	prev := make([]float64, full+1)
	for m := range prev {
		prev[m] = math.Inf(1)
	}
	prev[0] = 0
	for k := 1; k <= maxRoutes; k++ {
		cur := make([]float64, full+1)
		for m := range cur {
			cur[m] = math.Inf(1)
		}
		for m := 1; m <= full; m++ {
			low := m & -m // the route holding the lowest customer, to avoid repeats
			for s := m; s > 0; s = (s - 1) & m {
				if s&low == 0 || math.IsInf(route[s], 1) {
					continue
				}
				if v := prev[m^s] + route[s]; v < cur[m] {
					cur[m] = v
				}
			}
		}
		best = math.Min(best, cur[full])
		prev = cur
	}
	return best
}

// routeCost evaluates one route with the checker's rules.
func routeCost(in *Instance, rt []int) (float64, bool) {
	sub := *in
	sub.Vehicles = 0
	chk := CheckVRPLIB(&sub, [][]int{rt})
	// Only the route's own violations matter here, not the unvisited customers.
	for _, p := range chk.Problems {
		if !isVisitCount(p) {
			return 0, false
		}
	}
	return chk.Cost, true
}

func isVisitCount(p string) bool {
	return strings.HasPrefix(p, "customer ") && strings.HasSuffix(p, "visited 0 times")
}

func solveInstance(t *testing.T, in *Instance, opt Options) ([][]int, CheckResult) {
	t.Helper()
	sol, err := Solve(context.Background(), in.Problem(), opt)
	if err != nil {
		t.Fatal(err)
	}
	routes := in.SolutionRoutes(sol)
	chk := CheckVRPLIB(in, routes)
	if !chk.Feasible {
		t.Fatalf("%s: infeasible solution %v: %v", in.Name, routes, chk.Problems)
	}
	if len(sol.Unserved) > 0 {
		t.Fatalf("%s: unserved %v", in.Name, sol.Unserved)
	}
	return routes, chk
}

func TestTinyCVRPOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for k := range 12 {
		n := 4 + k%5
		in := randomInstance(rng, n, false)
		opt := bruteForce(in, n)
		routes, chk := solveInstance(t, in, Options{MaxIterations: 2000, Seed: int64(k), Threads: 1})
		if chk.Cost > opt+1e-6 {
			t.Errorf("case %d (n=%d): cost %v, optimum %v, routes %v", k, n, chk.Cost, opt, routes)
		}
		if chk.Cost < opt-1e-6 {
			t.Fatalf("case %d: cost %v below the brute-force optimum %v: checker or brute force is wrong", k, chk.Cost, opt)
		}
	}
}

func TestTinyVRPTWOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for k := range 12 {
		n := 4 + k%5
		in := randomInstance(rng, n, true)
		opt := bruteForce(in, in.Vehicles)
		if math.IsInf(opt, 1) {
			continue // no feasible plan at all
		}
		routes, chk := solveInstance(t, in, Options{MaxIterations: 2000, Seed: int64(k), Threads: 1})
		if math.Abs(chk.Cost-opt) > 1e-6 {
			t.Errorf("case %d (n=%d): cost %v, optimum %v, routes %v", k, n, chk.Cost, opt, routes)
		}
	}
}
