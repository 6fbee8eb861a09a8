package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/machine"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
)

// runBenchDock measures receiving at the dock through the HTTP API: it
// simulates a night in a scratch database, closes it and runs the purchase
// stage in this process, then fires the simulated dock's scans (one per
// purchase-order line) at a `groupbuy serve` process from concurrent
// scanners, then every scan again, as two scanners sending the same scan
// would: the second pass must count nothing.
func runBenchDock(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("bench-dock", stderr)
	s := demo.SimCity
	s.Warehouse, s.Date = "DOCK", "2026-12-01"
	fs.IntVar(&s.Points, "points", 500, "pickup points")
	fs.IntVar(&s.SKUs, "skus", 2000, "SKUs (one purchase-order line each when sold)")
	fs.IntVar(&s.Lines, "lines", 100_000, "order lines")
	suppliers := fs.Int("suppliers", 300, "suppliers")
	clients := fs.Int("clients", 8, "concurrent scanners")
	dock := dockFlags(fs)
	keep := fs.Bool("keep", false, "keep the scratch database")
	groupbuy := fs.String("groupbuy", "", "the groupbuy binary to run (default: beside this one, else built from this source tree)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the API process (groupbuy serve) to FILE")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *clients < 1 {
		return errors.New("bench-dock: --clients must be positive")
	}
	bin, cleanup, err := groupbuyBinary(ctx, *groupbuy, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	sc, err := newScratch(ctx, env, "dock", *keep, env.DBMaxConns, stderr)
	if err != nil {
		return err
	}
	defer sc.close()
	bench, err := newBenchNight(sc, env, time.Second, clock.System{})
	if err != nil {
		return err
	}
	defer bench.close()
	if _, err := demo.Simulate(ctx, sc.db, bench.clock, s); err != nil {
		return err
	}
	var wv wave.Wave
	if err := sc.db.GetContext(ctx, &wv, `SELECT id, warehouse_id FROM waves WHERE delivery_date = $1`, s.Date); err != nil {
		return err
	}
	date, _, err := bench.supplyNight(ctx, sc, wv.WarehouseID, s, *suppliers)
	if err != nil {
		return err
	}
	if ok, err := bench.waves.Close(ctx, wv.ID, true); err != nil || !ok {
		return fmt.Errorf("close: %v (closed %v)", err, ok)
	}
	t0 := time.Now()
	if ok, err := bench.waves.RunStage(ctx, wave.StagePurchase, wv.ID); err != nil || !ok {
		return fmt.Errorf("purchase: %v (done %v)", err, ok)
	}
	purchase := time.Since(t0)
	wo, err := supply.ListPurchaseOrders(ctx, sc.db, wv.ID)
	if err != nil {
		return err
	}
	scans := dock.Scans(wo, date)
	fmt.Fprintf(stdout, "purchase stage: %d purchase orders in %.2fs; the dock has %d scans\n", len(wo.Orders), purchase.Seconds(), len(scans))

	api, stop, err := serveAPI(ctx, bin, append(sc.groupbuyEnv(), "GROUPBUY_WRITE_LIMIT=0", "GROUPBUY_LOG_LEVEL=error"), *cpuProfile, stderr)
	if err != nil {
		return err
	}
	defer stop()
	ops, err := newOpsClient(ctx, sc.db, api)
	if err != nil {
		return err
	}
	for pass, want := range []int{http.StatusCreated, http.StatusOK} {
		load := machine.LoadAverage()
		res, err := fireScans(ctx, api, ops.token, scans, *clients, want)
		if err != nil {
			return err
		}
		name := []string{"first pass", "every scan again"}[pass]
		fmt.Fprintf(stdout, "%s: %d scans by %d scanners in %.2fs (%.0f/s); latency p50 %.1f ms  p95 %.1f ms  p99 %.1f ms  max %.1f ms; load %s → %s\n",
			name, len(scans), *clients, res.took.Seconds(), float64(len(scans))/res.took.Seconds(), res.p(50), res.p(95), res.p(99), res.p(100),
			load, machine.LoadAverage())
	}
	var records, units int64
	if err := sc.db.GetContext(ctx, &records, `SELECT count(*) FROM receiving_records`); err != nil {
		return err
	}
	if err := sc.db.GetContext(ctx, &units, `SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE kind = 'received'`); err != nil {
		return err
	}
	var want int64
	for _, s := range scans {
		want += s.Scan.Accepted
	}
	if records != int64(len(scans)) || units != want {
		return fmt.Errorf("bench-dock: %d records and %d units in stock, want %d and %d", records, units, len(scans), want)
	}
	fmt.Fprintf(stdout, "ok: %d receiving records, %d units in stock, each scan counted once\n", records, units)
	return nil
}

// dockRun is one pass of scans: its wall time and each request's latency.
type dockRun struct {
	took      time.Duration
	latencies []time.Duration
}

// p is the q-th percentile of the latencies in ms (100: the maximum).
func (r dockRun) p(q int) float64 {
	if len(r.latencies) == 0 {
		return 0
	}
	i := min(len(r.latencies)-1, len(r.latencies)*q/100)
	return float64(r.latencies[i].Microseconds()) / 1000
}

// fireScans posts the scans from clients concurrent scanners; every answer
// must be want.
func fireScans(ctx context.Context, api, token string, scans []demo.DockScan, clients, want int) (dockRun, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	next := make(chan demo.DockScan)
	var mu sync.Mutex
	var run dockRun
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for range clients {
		wg.Go(func() {
			for s := range next {
				body, _ := json.Marshal(s.Scan)
				start := time.Now()
				status, raw, err := postJSON(client, fmt.Sprintf("%s/api/v1/ops/purchase-order-lines/%d/scans", api, s.LineID), token, body)
				took := time.Since(start)
				mu.Lock()
				run.latencies = append(run.latencies, took)
				if err == nil && status != want {
					err = fmt.Errorf("scan %s: %d %.200s", s.Scan.ScanID, status, raw)
				}
				if err != nil && firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
		})
	}
	for _, s := range scans {
		if ctx.Err() != nil {
			break
		}
		next <- s
	}
	close(next)
	wg.Wait()
	run.took = time.Since(t0)
	slices.Sort(run.latencies)
	return run, firstErr
}

// dockFlags reads how the simulated dock receives (--short-pct,
// --reject-pct), from demo.RealisticDock by default.
func dockFlags(fs *flag.FlagSet) *demo.Dock {
	dock := demo.RealisticDock
	fs.Float64Var(&dock.ShortPct, "short-pct", dock.ShortPct, "percent of purchase-order lines that arrive short")
	fs.Float64Var(&dock.RejectPct, "reject-pct", dock.RejectPct, "percent of arriving units rejected at the dock")
	return &dock
}

// supplyNight gives the SKUs of a simulated night's date suppliers, case
// packs and prices (demo.SimSuppliers) and returns the date and how many
// SKUs have terms.
func (b *benchNight) supplyNight(ctx context.Context, sc *scratch, warehouseID int64, s demo.Spec, suppliers int) (fulfillment.Date, int, error) {
	date, err := fulfillment.ParseDate("date", s.Date)
	if err != nil {
		return date, 0, err
	}
	terms, err := demo.SimSuppliers(ctx, sc.db, b.supply, warehouseID, date, suppliers, s.Seed)
	return date, terms, err
}
