package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/machine"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
)

// runBenchWave measures the nightly wave at city scale: it simulates a night
// in a scratch database on DATABASE_URL's server, then runs the stages in
// this process as the worker would and reports each stage's time, the time
// of one plain aggregate of all order lines (the floor), and peak memory.
func runBenchWave(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("bench-wave", stderr)
	s := demo.SimCity
	s.Warehouse, s.Date = "BENCH", "2026-12-01"
	fs.IntVar(&s.Points, "points", 5000, "pickup points")
	fs.IntVar(&s.SKUs, "skus", 2000, "SKUs")
	fs.IntVar(&s.Lines, "lines", 1_000_000, "order lines")
	budget := fs.Duration("route-budget", 60*time.Second, "the route stage's solver time limit")
	trucks := fs.Int("trucks", 300, "trucks available (3 t, 16 m³)")
	suppliers := fs.Int("suppliers", 300, "suppliers the SKUs are bought from")
	dock := dockFlags(fs)
	keep := fs.Bool("keep", false, "keep the scratch database")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the stages (close to ready) in this process to FILE")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	sc, err := newScratch(ctx, env, "wave", *keep, env.DBMaxConns, stderr)
	if err != nil {
		return err
	}
	defer sc.close()
	bench, err := newBenchNight(sc, env, *budget, clock.System{})
	if err != nil {
		return err
	}
	defer bench.close()
	t0 := time.Now()
	sum, err := demo.Simulate(ctx, sc.db, bench.clock, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulated %d points, %d SKUs, %d orders, %d order lines in %.1fs\n", sum.Points, sum.SKUs, sum.Orders, sum.Lines, time.Since(t0).Seconds())
	var tonnes float64
	if err := sc.db.GetContext(ctx, &tonnes, `SELECT sum(ol.quantity * p.weight_g) / 1e6 FROM order_lines ol
		JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id`); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ordered weight %.0f t; fleet %d trucks of 3 t\n", tonnes, *trucks)

	var wv wave.Wave
	if err := sc.db.GetContext(ctx, &wv, `SELECT id, warehouse_id, delivery_date FROM waves WHERE delivery_date = $1`, s.Date); err != nil {
		return err
	}
	var floorRows int64
	t0 = time.Now()
	if err := sc.db.GetContext(ctx, &floorRows, `SELECT count(*) FROM (SELECT ol.sale_item_id, o.pickup_point_id, sum(ol.quantity)
		FROM orders o JOIN order_lines ol ON ol.order_id = o.id WHERE o.warehouse_id = $1 AND o.delivery_date = $2
		GROUP BY 1, 2) t`, wv.WarehouseID, s.Date); err != nil {
		return err
	}
	floor := time.Since(t0)

	t0 = time.Now()
	date, terms, err := bench.supplyNight(ctx, sc, wv.WarehouseID, s, *suppliers)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d suppliers, terms for %d SKUs in %.1fs\n", *suppliers, terms, time.Since(t0).Seconds())
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	timings, err := bench.runStages(ctx, sc.db, wv, *trucks, func(ctx context.Context) error {
		return benchDock(ctx, bench.supply, sc.db, wv.ID, date, *dock, stdout)
	})
	if perr := stopProfile(); err == nil {
		err = perr
	}
	if err != nil {
		return err
	}
	w, err := wave.Get(ctx, sc.db, wv.ID)
	if err != nil {
		return err
	}
	routes, err := routeplan.ListRoutes(ctx, sc.db, wv.ID)
	if err != nil {
		return err
	}
	var stops, distance, cost int64
	for _, r := range routes.Routes {
		stops += int64(len(r.Stops))
		distance += r.DistanceM
		cost += r.CostFen
	}
	three := timings[wave.StageClose] + timings[wave.StageAllocate] + timings[wave.StagePick]
	fmt.Fprintf(stdout, "\nfloor: one aggregate of all order lines by SKU and pickup point (%d groups): %.2fs\n", floorRows, floor.Seconds())
	for _, st := range wave.Stages {
		fmt.Fprintf(stdout, "stage %-8s %6.2fs\n", st, timings[st].Seconds())
	}
	fmt.Fprintf(stdout, "close + allocate + pick: %.2fs = %.1f × the floor\n", three.Seconds(), three.Seconds()/floor.Seconds())
	fmt.Fprintf(stdout, "refunds: %d lines, %d units, %d fen\n", w.Refunds.Lines, w.Refunds.Units, w.Refunds.AmountFen)
	fmt.Fprintf(stdout, "routes: %d (budget %s), %d stops served, %d unserved, %.0f km in all, cost %.2f yuan\n",
		len(routes.Routes), *budget, stops, len(routes.Unserved), float64(distance)/1000, float64(cost)/100)
	fmt.Fprintf(stdout, "peak memory of this process (VmHWM): %s\n", machine.PeakRSS())
	return nil
}

// startCPUProfile profiles this process into path until the returned stop
// is called; with no path it does nothing.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() error { pprof.StopCPUProfile(); return f.Close() }, nil
}

// benchNight is what bench-wave runs the stages with, in this process: the wave
// runner as the worker builds it, over the job outbox, its logs discarded.
type benchNight struct {
	clock  clock.Clock
	waves  *night.Runner
	supply *supply.Service
	// fleet saves the trucks.
	fleet *routeplan.Service
	close func()
}

func newBenchNight(sc *scratch, env labEnv, routeBudget time.Duration, clk clock.Clock) (*benchNight, error) {
	// Without fonts the stages skip their printouts with a warning, and the
	// ready stage's time would measure nothing.
	if _, err := printout.LoadFonts(env.FontCJK, env.FontLatin); err != nil {
		return nil, err
	}
	ropt, err := jobs.RedisOpt(sc.RedisURL)
	if err != nil {
		return nil, err
	}
	queue := asynq.NewClient(ropt)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	outbox := jobs.NewOutbox(sc.db, queue, clk, log, jobs.Options{})
	sup := supply.NewService(sc.db, clk, outbox, log, supply.Options{Fonts: printout.LazyFonts(env.FontCJK, env.FontLatin)})
	return &benchNight{
		clock:  clk,
		supply: sup,
		waves: night.NewRunner(sc.db, clk, outbox, log, night.Options{Route: routeplan.Options{Budget: routeBudget},
			Printer: night.NewPrinter(env.FontCJK, env.FontLatin, []byte(scratchLabelKey)), Supply: sup}),
		fleet: routeplan.NewService(sc.db, clk),
		close: func() { outbox.Stop(); queue.Close() },
	}, nil
}

// benchDock receives every purchase order of a wave as the simulated dock
// does, in this process (bench-dock measures the same over HTTP), and
// closes them: the wave is then ready to allocate with no receipt typed.
func benchDock(ctx context.Context, svc *supply.Service, db *sqlx.DB, waveID int64, date fulfillment.Date, dock demo.Dock, stdout io.Writer) error {
	wo, err := supply.ListPurchaseOrders(ctx, db, waveID)
	if err != nil {
		return err
	}
	t0 := time.Now()
	scans := dock.Scans(wo, date)
	var rejected int64
	for _, s := range scans {
		if _, _, err := svc.Receive(ctx, s.LineID, s.Scan, "bench-dock"); err != nil {
			return fmt.Errorf("scan %s: %w", s.Scan.ScanID, err)
		}
		rejected += s.Scan.Rejected
	}
	received := time.Since(t0)
	for _, o := range wo.Orders {
		if o.Latest {
			if _, err := svc.Close(ctx, o.ID, supply.OutcomeReceived, "bench-dock"); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "dock: %d purchase orders, %d scans (%d units rejected) in %.2fs, closed in %.2fs more\n",
		len(wo.Orders), len(scans), rejected, received.Seconds(), time.Since(t0).Seconds()-received.Seconds())
	return nil
}

// runStages readies a simulated wave for its night (its trucks) and runs its
// stages in order, returning each stage's time. receive, when set, is the
// suppliers delivering between the purchase stage and allocation, as at
// night (not a stage: not timed with them); without it the wave gets typed
// receipts where every 20th SKU arrives 10 % short, so allocation has work.
func (b *benchNight) runStages(ctx context.Context, db *sqlx.DB, wv wave.Wave, trucks int, receive func(context.Context) error) (map[wave.Stage]time.Duration, error) {
	if _, err := b.fleet.SaveVehicleType(ctx, routeplan.VehicleType{WarehouseID: wv.WarehouseID, Code: "TRUCK3T", Name: "3吨冷藏车",
		Count: int64(trucks), CapacityG: 3_000_000, CapacityML: 16_000_000, ShiftStart: clock.NewTimeOfDay(4, 30), ShiftEnd: clock.NewTimeOfDay(11, 0),
		FixedCostFen: 40000, CostPerKmFen: 300, Chilled: true, Frozen: true}); err != nil {
		return nil, err
	}
	if receive == nil {
		var receipts []night.Receipt
		if err := db.SelectContext(ctx, &receipts, `SELECT id AS sale_item_id, sold - sold / 10 AS received FROM sale_items
			WHERE warehouse_id = $1 AND delivery_date = $2 AND id % 20 = 0 AND sold >= 10`, wv.WarehouseID, wv.DeliveryDate); err != nil {
			return nil, err
		}
		if _, err := b.waves.RecordReceipts(ctx, wv.ID, wave.FirstComeFirstServed, true, receipts, "bench-wave"); err != nil {
			return nil, err
		}
	}
	timings := map[wave.Stage]time.Duration{}
	t0 := time.Now()
	if ok, err := b.waves.Close(ctx, wv.ID, true); err != nil || !ok {
		return nil, fmt.Errorf("close: %v (closed %v)", err, ok)
	}
	timings[wave.StageClose] = time.Since(t0)
	for _, st := range wave.Stages[1:] { // the close ran above
		if st == wave.StageAllocate && receive != nil {
			if err := receive(ctx); err != nil {
				return nil, err
			}
		}
		t0 = time.Now()
		if ok, err := b.waves.RunStage(ctx, st, wv.ID); err != nil || !ok {
			return nil, fmt.Errorf("%s: %v (done %v)", st, err, ok)
		}
		timings[st] = time.Since(t0)
	}
	return timings, nil
}
