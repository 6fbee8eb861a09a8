// Package routebench is the routing benchmark of groupbuy-lab bench-routing:
// instances of shared/bench and the generated city case solved by
// routing.Solve and, side by side, by the peer solvers, every answer checked
// by routing's checker and written as a markdown report. It is a package of
// its own because it is one job with its own vocabulary (sets, rows, gaps to
// the best known), apart from the lab's database benchmarks.
package routebench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"time"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/machine"
	"groupbuy/cmd/internal/peers"
	"groupbuy/routing"
)

// benchSets are the instance folders of shared/bench, in report order.
var benchSets = []string{"cvrp", "vrptw", "vrptw-gh400"}

// benchResult is one solver's answer on one instance, as the checker sees it.
type benchResult struct {
	cost     float64
	vehicles int
	unserved int
	seconds  float64
	gens     int // routing.Solve's generations
	feasible bool
	note     string
}

// benchRow is one instance with every solver's result, ours first.
type benchRow struct {
	set, name string
	customers int
	budget    time.Duration
	bks       float64
	results   []benchResult // per solver, in the order of the report's columns
	ran       []bool
}

// Run implements `groupbuy-lab bench-routing`: it solves
// instances of shared/bench and the generated city case with
// routing.Solve and, side by side, with the peer solvers whose binaries are
// given — one thread each, the same wall-clock limit, interleaved per
// instance so that they see the same load — checks every solution with
// routing's checker and writes a markdown report.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("bench-routing", stderr)
	limits := map[string]*time.Duration{
		"cvrp":        fs.Duration("time-limit-cvrp", 20*time.Second, "time per CVRP instance"),
		"vrptw":       fs.Duration("time-limit-vrptw", 10*time.Second, "time per Solomon instance"),
		"vrptw-gh400": fs.Duration("time-limit-gh400", 20*time.Second, "time per Gehring-Homberger instance"),
	}
	cityBudgets := fs.String("city-budgets", "1s,3s,5s,10s,30s", "budgets for the city case")
	setList := fs.String("set", "cvrp,vrptw-gh400,citycase", "comma-separated sets: cvrp, vrptw, vrptw-gh400, citycase, or all")
	dir := fs.String("dir", "../shared/bench", "benchmark folder")
	out := fs.String("out", "docs/routing-bench.md", "markdown report (- for stdout)")
	only := fs.String("only", "", "comma-separated instance names")
	sample := fs.Int("sample", 0, "instances per set, spread evenly over its sorted list (0 = all)")
	threads := fs.Int("threads", 1, "routing.Solve threads")
	patience := fs.Int("patience", -1, "routing.Options.Patience; -1 uses the whole limit, as the peers do")
	seed := fs.Int64("seed", 1, "random seed")
	hgs := fs.String("hgs", "", "HGS-CVRP binary (github vidalt/HGS-CVRP), run on CVRP")
	genvrp := fs.String("genvrp", "", "the EURO Meets NeurIPS 2022 HGS baseline binary, run on VRPTW")
	vroom := fs.String("vroom", "", "VROOM binary, run on every set")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("bench-routing: unexpected argument %q", fs.Arg(0))
	}
	sets := map[string]bool{}
	for _, s := range strings.Split(*setList, ",") {
		switch s = strings.TrimSpace(s); s {
		case "all":
			for _, x := range benchSets {
				sets[x] = true
			}
			sets["citycase"] = true
		case "cvrp", "vrptw", "vrptw-gh400", "citycase":
			sets[s] = true
		default:
			return fmt.Errorf("bench-routing: unknown set %q", s)
		}
	}
	var budgets []time.Duration
	for _, b := range strings.Split(*cityBudgets, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(b))
		if err != nil || d <= 0 {
			return fmt.Errorf("bench-routing: bad city budget %q", b)
		}
		budgets = append(budgets, d)
	}
	want := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		if n = strings.TrimSpace(n); n != "" {
			want[n] = true
		}
	}
	var rivals []*peers.Peer
	for _, p := range []struct {
		bin  string
		make func(string) *peers.Peer
	}{{*hgs, peers.HGS}, {*genvrp, peers.GenVRP}, {*vroom, peers.VROOM}} {
		if p.bin != "" {
			if _, err := os.Stat(p.bin); err != nil {
				return fmt.Errorf("bench-routing: %w", err)
			}
			rivals = append(rivals, p.make(p.bin))
		}
	}
	work, err := os.MkdirTemp("", "bench-routing")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	opt := routing.Options{Seed: *seed, Threads: *threads, Patience: *patience}
	settings := benchSettings{threads: *threads, seed: *seed, patience: *patience, rivals: rivals, loadStart: machine.LoadAverage(), args: args}
	started := time.Now()
	var rows []benchRow
	for _, set := range benchSets {
		if !sets[set] {
			continue
		}
		files, err := filepath.Glob(filepath.Join(*dir, set, "*.vrp"))
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return fmt.Errorf("bench-routing: no instances in %s", filepath.Join(*dir, set))
		}
		sort.Strings(files)
		if len(want) > 0 {
			kept := files[:0]
			for _, f := range files {
				if want[strings.TrimSuffix(filepath.Base(f), ".vrp")] {
					kept = append(kept, f)
				}
			}
			files = kept
		}
		files = spread(files, *sample)
		for _, f := range files {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			row, err := benchInstance(ctx, set, f, *limits[set], opt, rivals, work)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, row.line(rivals))
			rows = append(rows, row)
		}
	}
	if sets["citycase"] {
		for _, b := range budgets {
			row, err := benchCity(ctx, b, opt, rivals, work)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, row.line(rivals))
			rows = append(rows, row)
		}
	}
	settings.loadEnd, settings.total = machine.LoadAverage(), time.Since(started)
	md := benchMarkdown(rows, settings)
	if *out == "" || *out == "-" {
		_, err := io.WriteString(stdout, md)
		return err
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		return err
	}
	return os.WriteFile(*out, []byte(md), 0o644)
}

// spread keeps n of files evenly spaced over the list (all when n <= 0).
func spread(files []string, n int) []string {
	if n <= 0 || n >= len(files) {
		return files
	}
	out := make([]string, n)
	for i := range n {
		out[i] = files[i*len(files)/n]
	}
	return out
}

// benchInstance runs routing.Solve and then each peer on one instance.
func benchInstance(ctx context.Context, set, path string, limit time.Duration, opt routing.Options, rivals []*peers.Peer, work string) (benchRow, error) {
	name := strings.TrimSuffix(filepath.Base(path), ".vrp")
	row := benchRow{set: set, name: name, budget: limit}
	f, err := os.Open(path)
	if err != nil {
		return row, err
	}
	in, err := routing.ReadVRPLIB(f)
	f.Close()
	if err != nil {
		return row, fmt.Errorf("%s: %w", path, err)
	}
	row.customers = in.Dimension - 1
	if sf, err := os.Open(strings.TrimSuffix(path, ".vrp") + ".sol"); err == nil {
		_, bks, err := routing.ReadVRPLIBSolution(sf)
		sf.Close()
		if err != nil {
			return row, fmt.Errorf("%s: %w", path, err)
		}
		row.bks = bks
	}
	o := opt
	o.TimeLimit = limit
	t0 := time.Now()
	sol, err := routing.Solve(ctx, in.Problem(), o)
	if err != nil {
		return row, fmt.Errorf("%s: %w", name, err)
	}
	res := checkVRPLIB(in, in.SolutionRoutes(sol), time.Since(t0))
	res.gens = sol.Iterations
	row.add(res, true)
	for _, p := range rivals {
		t0 := time.Now()
		routes, err := p.VRPLIB(ctx, p, in, path, work, limit)
		el := time.Since(t0)
		switch {
		case err != nil:
			row.add(benchResult{seconds: el.Seconds(), note: err.Error()}, true)
		case routes == nil:
			row.add(benchResult{}, false)
		default:
			row.add(checkVRPLIB(in, routes, el), true)
		}
	}
	return row, nil
}

// checkVRPLIB is the checker's verdict on routes: only its cost counts.
func checkVRPLIB(in *routing.Instance, routes [][]int, el time.Duration) benchResult {
	chk := routing.CheckVRPLIB(in, routes)
	r := benchResult{cost: chk.Cost, vehicles: chk.Routes, feasible: chk.Feasible, seconds: el.Seconds()}
	if !chk.Feasible {
		r.note = strings.Join(chk.Problems, "; ")
	}
	return r
}

// benchCity runs the 1,000-stop city case under one budget.
func benchCity(ctx context.Context, budget time.Duration, opt routing.Options, rivals []*peers.Peer, work string) (benchRow, error) {
	p := routing.GenerateCity(routing.CityCase{Stops: 1000, Seed: 1})
	row := benchRow{set: "citycase", name: "citycase", customers: len(p.Stops), budget: budget}
	o := opt
	o.TimeLimit = budget
	o.Patience = 0 // the product's setting: the city is what it runs
	t0 := time.Now()
	sol, err := routing.Solve(ctx, p, o)
	if err != nil {
		return row, err
	}
	res := checkCity(p, sol, time.Since(t0))
	res.gens = sol.Iterations
	row.add(res, true)
	for _, pe := range rivals {
		if pe.City == nil {
			row.add(benchResult{}, false)
			continue
		}
		t0 := time.Now()
		plan, err := pe.City(ctx, pe, p, work, budget)
		el := time.Since(t0)
		if err == nil {
			sol, err = routing.Schedule(ctx, p, plan)
		}
		if err != nil {
			row.add(benchResult{seconds: el.Seconds(), note: err.Error()}, true)
			continue
		}
		row.add(checkCity(p, sol, el), true)
	}
	return row, nil
}

func checkCity(p *routing.Problem, sol *routing.Solution, el time.Duration) benchResult {
	r := benchResult{cost: sol.Cost, vehicles: len(sol.Routes), unserved: len(sol.Unserved), seconds: el.Seconds(), feasible: true}
	if err := routing.CheckSolution(p, sol); err != nil {
		r.feasible, r.note = false, err.Error()
	}
	return r
}

func (r *benchRow) add(res benchResult, ran bool) {
	r.results = append(r.results, res)
	r.ran = append(r.ran, ran)
}

// gap is a result's distance to the best-known cost, in percent.
func (r *benchRow) gap(i int) float64 {
	if r.bks == 0 {
		return math.NaN()
	}
	return (r.results[i].cost - r.bks) / r.bks * 100
}

func (r *benchRow) line(rivals []*peers.Peer) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-11s %-12s %5d %6s", r.set, r.name, r.customers, r.budget)
	for i, res := range r.results {
		if !r.ran[i] {
			continue
		}
		name := "routing"
		if i > 0 {
			name = rivals[i-1].Name
		}
		fmt.Fprintf(&b, " | %s %.1f veh %d %.1fs", name, res.cost, res.vehicles, res.seconds)
		if r.bks > 0 {
			fmt.Fprintf(&b, " gap %.2f%%", r.gap(i))
		}
		if res.unserved > 0 {
			fmt.Fprintf(&b, " unserved %d", res.unserved)
		}
		if !res.feasible {
			fmt.Fprintf(&b, " INFEASIBLE %s", res.note)
		}
	}
	return b.String()
}

type benchSettings struct {
	threads            int
	seed               int64
	patience           int
	rivals             []*peers.Peer
	loadStart, loadEnd string
	total              time.Duration
	args               []string
}

var setTitles = map[string]string{
	"cvrp":        "CVRP — CVRPLIB X instances",
	"vrptw":       "VRPTW — Solomon instances (distance objective, at most VEHICLES routes)",
	"vrptw-gh400": "VRPTW — Gehring–Homberger 400-customer instances (distance objective, at most VEHICLES routes)",
}

func benchMarkdown(rows []benchRow, s benchSettings) string {
	var b bytes.Buffer
	names := []string{"routing"}
	for _, p := range s.rivals {
		names = append(names, p.Name)
	}
	fmt.Fprintf(&b, "# Routing benchmarks\n\n")
	fmt.Fprintf(&b, "Generated by `groupbuy-lab bench-routing %s` on %s (%s, %d CPUs, GOMAXPROCS %d); routing.Solve with %d thread(s), seed %d, patience %d.\n",
		strings.Join(shortPaths(s.args), " "), time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.Version(), runtime.NumCPU(), runtime.GOMAXPROCS(0), s.threads, s.seed, s.patience)
	fmt.Fprintf(&b, "Load average at start: %s; at end: %s. Total wall time %s.\n\n", s.loadStart, s.loadEnd, s.total.Round(time.Second))
	b.WriteString("Each instance is solved by `routing.Solve` and then by every peer given, one after the other (so they see the same load), each with one thread and the same wall-clock limit. Every solution is judged by routing's own checker (`routing.CheckVRPLIB`, or `routing.Schedule` then `routing.CheckSolution` for the city case) with the conventions of shared/bench/README.md; only the checker's cost counts. Gap = (cost − BKS) / BKS.\n\n")
	for _, set := range benchSets {
		var rs []benchRow
		for _, r := range rows {
			if r.set == set {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		cols := activeColumns(rs)
		fmt.Fprintf(&b, "## %s, %s per instance\n\n", setTitles[set], rs[0].budget)
		b.WriteString("| instance | customers | BKS |")
		for _, i := range cols {
			fmt.Fprintf(&b, " %s cost | gap %% | vehicles |", names[i])
		}
		b.WriteString("\n|---|---:|---:|")
		for range cols {
			b.WriteString("---:|---:|---:|")
		}
		b.WriteString("\n")
		for _, r := range rs {
			fmt.Fprintf(&b, "| %s | %d | %s |", r.name, r.customers, trimFloat(r.bks))
			for _, i := range cols {
				res := r.results[i]
				if !res.feasible {
					fmt.Fprintf(&b, " infeasible | – | %d |", res.vehicles)
					continue
				}
				fmt.Fprintf(&b, " %s | %.2f | %d |", trimFloat(res.cost), r.gap(i), res.vehicles)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
		for _, i := range cols {
			var gaps, veh float64
			n, feas := 0, 0
			for _, r := range rs {
				if r.results[i].feasible {
					feas++
					gaps += r.gap(i)
					veh += float64(r.results[i].vehicles)
					n++
				}
			}
			if n == 0 {
				fmt.Fprintf(&b, "- %s: no feasible solution.\n", names[i])
				continue
			}
			fmt.Fprintf(&b, "- %s: **mean gap %.2f %%**, mean vehicles %.1f, %d/%d feasible.\n", names[i], gaps/float64(n), veh/float64(n), feas, len(rs))
		}
		b.WriteString("\n")
	}
	var city []benchRow
	for _, r := range rows {
		if r.set == "citycase" {
			city = append(city, r)
		}
	}
	if len(city) > 0 {
		cols := activeColumns(city)
		b.WriteString("## City case (generated)\n\n`routing.GenerateCity(routing.CityCase{Stops: 1000, Seed: 1})`: one warehouse, 1,000 clustered pickup points in a 30 km city, windows 07:00–10:00, 5-minute stops, 45 vans (1.5 t / 8 m³, fixed 120, 0.0015 per m) and 20 trucks (3 t / 16 m³, fixed 200, 0.0025 per m), haversine × 1.3 at 25 km/h. Cost = fixed + distance cost of the vehicles used, recomputed by the checker. routing.Solve runs with its default patience here.\n\n")
		b.WriteString("| budget |")
		for _, i := range cols {
			fmt.Fprintf(&b, " %s cost | vehicles | unserved | seconds |", names[i])
		}
		if len(cols) > 1 {
			b.WriteString(" routing vs " + names[cols[1]] + " |")
		}
		b.WriteString("\n|---:|")
		for range cols {
			b.WriteString("---:|---:|---:|---:|")
		}
		if len(cols) > 1 {
			b.WriteString("---:|")
		}
		b.WriteString("\n")
		for _, r := range city {
			fmt.Fprintf(&b, "| %s |", r.budget)
			for _, i := range cols {
				res := r.results[i]
				cost := fmt.Sprintf("%.1f", res.cost)
				if !res.feasible {
					cost = "infeasible: " + res.note
				}
				fmt.Fprintf(&b, " %s | %d | %d | %.1f |", cost, res.vehicles, res.unserved, res.seconds)
			}
			if len(cols) > 1 {
				a, o := r.results[0], r.results[cols[1]]
				if a.feasible && o.feasible && a.unserved == 0 && o.unserved == 0 {
					fmt.Fprintf(&b, " %+.2f %% |", (a.cost-o.cost)/o.cost*100)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// shortPaths keeps only the last element of the paths in a command line,
// so that a report does not name the machine's folders.
func shortPaths(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		if strings.Contains(a, "/") && !strings.HasPrefix(a, "-") {
			a = filepath.Base(a)
		}
		out[i] = a
	}
	return out
}

// activeColumns lists the solvers that ran on every row.
func activeColumns(rs []benchRow) []int {
	var cols []int
	for i := range rs[0].results {
		all := true
		for _, r := range rs {
			all = all && r.ran[i]
		}
		if all {
			cols = append(cols, i)
		}
	}
	return cols
}

func trimFloat(v float64) string {
	return strings.TrimSuffix(strings.TrimSuffix(fmt.Sprintf("%.1f", v), "0"), ".")
}
