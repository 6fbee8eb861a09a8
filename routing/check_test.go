package routing

import (
	"path/filepath"
	"strings"
	"testing"
)

// The checker must reject what is wrong, or the benchmark proves nothing.
func TestCheckVRPLIBRejects(t *testing.T) {
	in := readInstance(t, filepath.Join(benchDir, "vrptw", "C101.vrp"))
	routes, _ := solveInstance(t, in, Options{MaxIterations: 50, Seed: 1, Threads: 1})
	clone := func() [][]int {
		out := make([][]int, len(routes))
		for i, r := range routes {
			out[i] = append([]int(nil), r...)
		}
		return out
	}
	missing := clone()
	missing[0] = missing[0][1:]
	twice := clone()
	twice[1] = append(twice[1], twice[0][0])
	reversed := clone()
	for i, j := 0, len(reversed[0])-1; i < j; i, j = i+1, j-1 {
		reversed[0][i], reversed[0][j] = reversed[0][j], reversed[0][i]
	}
	merged := clone()
	merged[0] = append(merged[0], merged[1]...)
	merged[1] = nil
	for name, c := range map[string]struct {
		routes [][]int
		want   string
	}{
		"missing customer": {missing, "visited 0 times"},
		"visited twice":    {twice, "visited 2 times"},
		"time windows":     {reversed, "after its due time"},
		"capacity":         {merged, "exceeds capacity"},
		"not a customer":   {append(clone(), []int{0}), "not a customer"},
	} {
		chk := CheckVRPLIB(in, c.routes)
		if chk.Feasible || !strings.Contains(strings.Join(chk.Problems, ";"), c.want) {
			t.Errorf("%s: feasible=%v problems %v, want %q", name, chk.Feasible, chk.Problems, c.want)
		}
	}
	tooMany := &Instance{}
	*tooMany = *in
	tooMany.Vehicles = 2
	if chk := CheckVRPLIB(tooMany, routes); chk.Feasible {
		t.Error("route count over VEHICLES accepted")
	}
}

func TestCheckSolutionRejects(t *testing.T) {
	p := smallCity(40, 2)
	sol := mustSolve(t, p, Options{MaxIterations: 30, Seed: 1, Threads: 1})
	bad := *sol
	bad.Routes = append([]Route(nil), sol.Routes...)
	r := bad.Routes[0]
	r.Visits = r.Visits[1:]
	bad.Routes[0] = r
	if err := CheckSolution(p, &bad); err == nil {
		t.Error("dropped stop accepted")
	}
	bad = *sol
	bad.Cost += 10
	if err := CheckSolution(p, &bad); err == nil || !strings.Contains(err.Error(), "cost") {
		t.Errorf("wrong cost: %v", err)
	}
	tight := *p
	tight.Vehicles = append([]VehicleType(nil), p.Vehicles...)
	for i := range tight.Vehicles {
		tight.Vehicles[i].Capacity = Load{1, 1}
	}
	if err := CheckSolution(&tight, sol); err == nil || !strings.Contains(err.Error(), "capacity") {
		t.Errorf("capacity: %v", err)
	}
}

func TestReadServiceTimeSection(t *testing.T) {
	src := "NAME : t\nTYPE : VRPTW\nDIMENSION : 3\nVEHICLES : 2\nCAPACITY : 10\nSERVICE_TIME : 5\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 4\n3 6 8\nDEMAND_SECTION\n1 0\n2 3\n3 4\nTIME_WINDOW_SECTION\n1 0 100\n2 0 50\n3 10 20\nSERVICE_TIME_SECTION\n2 7\nDEPOT_SECTION\n1\n-1\nEOF\n"
	in, err := ReadVRPLIB(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if in.Service[1] != 7 || in.Service[2] != 5 || in.Service[0] != 0 || in.Vehicles != 2 || !in.HasTimeWindows() {
		t.Fatalf("%+v", in)
	}
	if in.Arc(0, 1) != 5 || in.Arc(1, 2) != 5 {
		t.Fatalf("arcs %v %v", in.Arc(0, 1), in.Arc(1, 2))
	}
}
