package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"groupbuy/cmd/internal/cli"
	"groupbuy/routing"
)

// runSolve implements `groupbuy solve [--time-limit 30s] [--seed 1]
// [--threads N] FILE.vrp`: it solves a VRPLIB CVRP or VRPTW instance and
// prints the solution in VRPLIB .sol format.
func runSolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("solve", stderr)
	limit := fs.Duration("time-limit", 30*time.Second, "search time")
	seed := fs.Int64("seed", 1, "random seed")
	threads := fs.Int("threads", runtime.NumCPU(), "parallel searches")
	iters := fs.Int("max-iterations", 0, "generations per thread (0 = until the time limit)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: groupbuy solve [--time-limit 30s] [--seed 1] [--threads N] FILE.vrp")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return errors.New("solve: want exactly one FILE.vrp")
	}
	path := fs.Arg(0)
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	in, err := routing.ReadVRPLIB(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	sol, err := routing.Solve(ctx, in.Problem(), routing.Options{TimeLimit: *limit, Seed: *seed, Threads: *threads, MaxIterations: *iters})
	if err != nil {
		return err
	}
	routes := in.SolutionRoutes(sol)
	chk := routing.CheckVRPLIB(in, routes)
	if !chk.Feasible {
		fmt.Fprintf(stderr, "solve: warning: solution infeasible: %v\n", chk.Problems)
	}
	fmt.Fprintf(stderr, "solve: %s: %d customers, %d generations, %d routes, cost %s\n", in.Name, in.Dimension-1, sol.Iterations, chk.Routes, in.FormatCost(chk.Cost))
	for _, u := range sol.Unserved {
		fmt.Fprintf(stderr, "solve: unserved %s\n", u)
	}
	return routing.WriteVRPLIBSolution(stdout, routes, in.FormatCost(chk.Cost))
}
