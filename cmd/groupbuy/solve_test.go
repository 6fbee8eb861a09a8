package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupbuy/routing"
)

// TestSolveCommand runs `groupbuy solve` on a Solomon instance from the shared
// benchmark set and checks its VRPLIB answer with the independent checker.
func TestSolveCommand(t *testing.T) {
	path := filepath.Join("..", "..", "routing", "testdata", "bench", "vrptw", "C101.vrp")
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"solve", "--time-limit", "2s", "--threads", "1", path}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("solve: %v\n%s", err, errOut.String())
	}
	routes, cost, err := routing.ReadVRPLIBSolution(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatalf("the answer is not a VRPLIB solution: %v\n%s", err, out.String())
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := routing.ReadVRPLIB(f)
	if err != nil {
		t.Fatal(err)
	}
	check := routing.CheckVRPLIB(in, routes)
	if !check.Feasible || in.FormatCost(check.Cost) != in.FormatCost(cost) {
		t.Fatalf("checker: %+v; printed cost %v\n%s", check, cost, out.String())
	}

	// A malformed file is an error naming its line.
	bad := filepath.Join(t.TempDir(), "bad.vrp")
	if err := os.WriteFile(bad, []byte("NAME : x\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : ten\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = run(context.Background(), []string{"solve", "--time-limit", "1s", bad}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "line 4") {
		t.Fatalf("malformed file: %v", err)
	}
}
