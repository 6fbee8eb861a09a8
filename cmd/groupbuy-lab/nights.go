package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/machine"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/retention"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// nightsSpec is the shape of a run of consecutive nights.
type nightsSpec struct {
	city          demo.Spec // Date is the first night
	nights        int
	intakeOrders  int // orders placed through the intake service each night
	intakeClients int
	routeBudget   time.Duration
	trucks        int
	retention     retention.Policy
	keep          bool
}

// nightReport is one night's figures.
type nightReport struct {
	date                   string
	lines                  int
	load                   time.Duration // the bulk of the night's orders, by COPY
	placed                 int
	intakeRate             float64 // orders a second through the intake service
	p50, p99               time.Duration
	stages                 map[wave.Stage]time.Duration
	lastMile               time.Duration // dispatch, every stop arrived, every delivery received, the notices sent
	arrive, receive        time.Duration // the last mile's parts: dispatch and arrivals; receipts
	notify                 time.Duration // and sending the notices the receipts queued
	received               int
	retention              time.Duration
	archived               int // nights archived by this night's retention run
	dbBytes, orderLineByte int64
	archiveBytes           int64 // all archives so far
}

// runNights runs spec.nights consecutive nights of one city in a scratch
// database: each night its orders (the bulk by COPY, a sample through the
// intake service at the rate it sustains, timed per order), the whole night
// (close to ready, as the worker runs it), the last mile (dispatch, arrival
// at every stop, receipt of every delivery: parcels, pickup codes and
// notices) and retention (nights older than the retention archived and
// dropped). Time is a manual clock moved along the nights.
func runNights(ctx context.Context, env labEnv, spec nightsSpec, stdout, stderr io.Writer) error {
	sc, err := newScratch(ctx, env, "nights", spec.keep, env.DBMaxConns, stderr)
	if err != nil {
		return err
	}
	defer sc.close()
	first, err := fulfillment.ParseDate("date", spec.city.Date)
	if err != nil {
		return err
	}
	clk := clock.NewManual(first.Add(-14 * time.Hour)) // 18:00 in Shanghai the day before
	bench, err := newBenchNight(sc, env, spec.routeBudget, clk)
	if err != nil {
		return err
	}
	defer bench.close()
	if spec.retention.Dir == "" {
		dir, err := os.MkdirTemp("", "groupbuy-archive-")
		if err != nil {
			return err
		}
		if !spec.keep {
			defer os.RemoveAll(dir)
		}
		spec.retention.Dir = dir
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	keeper := retention.NewService(sc.db, clk, log, spec.retention)
	deliveries := lastmile.NewService(sc.db, clk, refund.Metrics{})
	in := intake.New(sc.db, clk, log, intake.Options{})
	defer in.Close()
	// The night's notices go out as the worker sends them, to a webhook in
	// this process, so that retention finds them sent.
	receiver := webhook.NewReceiver(nightsHookSecret)
	hook, stopHook, err := webhook.Serve(receiver)
	if err != nil {
		return err
	}
	defer stopHook()
	notices := notice.NewDispatcher(sc.db, clk, []notify.Channel{notify.NewWebhook(hook, nightsHookSecret, notify.WebhookOptions{})},
		notify.DefaultTemplates(), notify.QuietHours{}, log, notice.DispatchOptions{})

	// Without autovacuum only retention's own vacuums take back dead rows;
	// say which kind of server the figures come from.
	var autovacuum string
	if err := sc.db.GetContext(ctx, &autovacuum, `SHOW autovacuum`); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d nights from %s, %d order lines a night (+ %d orders through intake), %d points, %d SKUs; retention %d days, archives in %s; server autovacuum %s\n",
		spec.nights, first, spec.city.Lines, spec.intakeOrders, spec.city.Points, spec.city.SKUs, spec.retention.Days, spec.retention.Dir, autovacuum)
	fmt.Fprintln(stdout, "night  date        lines    load s  intake/s  p50 ms  p99 ms   close   purch   alloc    pick  refund   route   ready  last-mile s  arrive  receive  notify  retention s  archived  db MB  lines MB  archive MB")
	var reports []nightReport
	for i := range spec.nights {
		date := fulfillment.Date{Time: first.AddDate(0, 0, i)}
		r, err := runOneNight(ctx, sc.db, clk, bench, in, deliveries, notices, keeper, spec, date)
		if err != nil {
			return fmt.Errorf("night %d (%s): %w", i+1, date, err)
		}
		reports = append(reports, r)
		// The receiver keeps each notice it took; a month of them (70 MB a
		// night) would make the nights' figures pay for the collector's work.
		receiver.Forget()
		s := r.stages
		fmt.Fprintf(stdout, "%5d  %s %7d  %8.1f  %8.0f  %6.1f  %6.1f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f %7.3f  %11.1f  %6.1f  %7.1f  %6.1f  %11.1f  %8d  %5d  %8d  %10.1f\n",
			i+1, r.date, r.lines, r.load.Seconds(), r.intakeRate, ms(r.p50), ms(r.p99),
			s[wave.StageClose].Seconds(), s[wave.StagePurchase].Seconds(), s[wave.StageAllocate].Seconds(), s[wave.StagePick].Seconds(),
			s[wave.StageRefund].Seconds(), s[wave.StageRoute].Seconds(), s[wave.StageReady].Seconds(),
			r.lastMile.Seconds(), r.arrive.Seconds(), r.receive.Seconds(), r.notify.Seconds(), r.retention.Seconds(), r.archived,
			r.dbBytes>>20, r.orderLineByte>>20, float64(r.archiveBytes)/(1<<20))
	}
	if len(reports) > 1 {
		a, b := reports[:1], reports[len(reports)-1:]
		printDrift(stdout, "last night / first night:", a, b)
	}
	// One night against another is at the mercy of a checkpoint or a
	// collection landing in one of them; the median of five is not.
	if len(reports) >= 10 {
		printDrift(stdout, "last five nights / first five (medians):", reports[:5], reports[len(reports)-5:])
	}
	fmt.Fprintf(stdout, "peak memory of this process (VmHWM): %s\n", machine.PeakRSS())
	return nil
}

// printDrift prints how much slower each stage, intake's p99 and the
// last mile are in the nights b than in the nights a, by their medians.
func printDrift(w io.Writer, title string, a, b []nightReport) {
	ratio := func(of func(nightReport) time.Duration) float64 {
		return median(b, of).Seconds() / median(a, of).Seconds()
	}
	fmt.Fprint(w, title)
	for _, st := range wave.Stages {
		fmt.Fprintf(w, " %s %.2f", st, ratio(func(r nightReport) time.Duration { return r.stages[st] }))
	}
	fmt.Fprintf(w, ", intake p99 %.2f, last mile %.2f\n",
		ratio(func(r nightReport) time.Duration { return r.p99 }), ratio(func(r nightReport) time.Duration { return r.lastMile }))
}

func median(rs []nightReport, of func(nightReport) time.Duration) time.Duration {
	ds := make([]time.Duration, len(rs))
	for i, r := range rs {
		ds[i] = of(r)
	}
	slices.Sort(ds)
	if n := len(ds); n%2 == 0 {
		return (ds[n/2-1] + ds[n/2]) / 2
	}
	return ds[len(ds)/2]
}

// nightsHookSecret signs the simulated nights' notices to their webhook.
const nightsHookSecret = "nights-webhook-secret"

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// runOneNight runs the night of date and reports it.
func runOneNight(ctx context.Context, db *sqlx.DB, clk *clock.Manual, bench *benchNight, in *intake.Intake,
	deliveries *lastmile.Service, notices *notice.Dispatcher, keeper *retention.Service, spec nightsSpec, date fulfillment.Date) (nightReport, error) {
	r := nightReport{date: date.String()}
	// Orders are taken the day before: 10:00 in Shanghai.
	clk.Set(date.Add(-22 * time.Hour))
	city := spec.city
	city.Date = date.String()
	t0 := time.Now()
	sum, err := demo.Simulate(ctx, db, clk, city)
	if err != nil {
		return r, err
	}
	r.load, r.lines = time.Since(t0), sum.Lines
	// The bulk load stands for an evening of orders written in seconds; the
	// server would have checkpointed that evening's log at leisure. Flush it
	// now, so the sample through intake is timed against the night's own
	// writes and not against the simulator's burst.
	if _, err := db.ExecContext(ctx, `CHECKPOINT`); err != nil {
		return r, fmt.Errorf("checkpoint after the bulk load (needs superuser or pg_checkpoint): %w", err)
	}
	var wv wave.Wave
	if err := db.GetContext(ctx, &wv, `SELECT w.id, w.warehouse_id, w.delivery_date FROM waves w JOIN warehouses h ON h.id = w.warehouse_id
		WHERE h.code = $1 AND w.delivery_date = $2`, city.Warehouse, date); err != nil {
		return r, err
	}
	if err := placeOrders(ctx, db, in, spec, wv, &r); err != nil {
		return r, err
	}
	// The night: after the cutoff (23:00 in Shanghai).
	clk.Set(date.Add(-8 * time.Hour))
	if r.stages, err = bench.runStages(ctx, db, wv, spec.trucks, nil); err != nil {
		return r, err
	}
	// The last mile, in the morning.
	clk.Set(date.Time)
	t0 = time.Now()
	if r.received, r.arrive, err = deliverAll(ctx, db, deliveries, wv.ID); err != nil {
		return r, err
	}
	r.receive = time.Since(t0) - r.arrive
	t1 := time.Now()
	if _, err := notices.Run(ctx); err != nil {
		return r, err
	}
	r.notify = time.Since(t1)
	r.lastMile = time.Since(t0)
	// Retention runs in the day, after the night.
	clk.Set(date.Add(6 * time.Hour))
	t0 = time.Now()
	res, err := keeper.Run(ctx)
	if err != nil {
		return r, err
	}
	r.retention, r.archived = time.Since(t0), res.Nights
	err = db.GetContext(ctx, &r.dbBytes, `SELECT pg_database_size(current_database())`)
	if err == nil {
		err = db.GetContext(ctx, &r.orderLineByte, `SELECT coalesce(sum(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits
			WHERE inhparent = 'order_lines'::regclass`)
	}
	if err == nil {
		err = db.GetContext(ctx, &r.archiveBytes, `SELECT coalesce(sum(bytes), 0) FROM archived_partitions`)
	}
	return r, err
}

// placeOrders places spec.intakeOrders orders of one to three lines through
// the intake service from spec.intakeClients concurrent leaders, each order
// as soon as the one before is answered, and records the rate and latency.
func placeOrders(ctx context.Context, db *sqlx.DB, in *intake.Intake, spec nightsSpec, wv wave.Wave, r *nightReport) error {
	if spec.intakeOrders <= 0 {
		return nil
	}
	var buyers []struct {
		Leader   int64 `db:"leader_id"`
		Resident int64 `db:"resident_id"`
	}
	if err := db.SelectContext(ctx, &buyers, `SELECT p.leader_id, r.id AS resident_id FROM residents r
		JOIN pickup_points p ON p.id = r.pickup_point_id WHERE p.warehouse_id = $1 ORDER BY r.id`, wv.WarehouseID); err != nil {
		return err
	}
	var items []int64
	if err := db.SelectContext(ctx, &items, `SELECT id FROM sale_items WHERE warehouse_id = $1 AND delivery_date = $2 ORDER BY id`,
		wv.WarehouseID, wv.DeliveryDate); err != nil {
		return err
	}
	if len(buyers) == 0 || len(items) < 3 {
		return fmt.Errorf("no residents or sale items to order")
	}
	latencies := make([]time.Duration, spec.intakeOrders)
	var next int
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	t0 := time.Now()
	for c := range spec.intakeClients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), uint64(wv.ID)))
			for {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				if k >= spec.intakeOrders || ctx.Err() != nil {
					return
				}
				b := buyers[rng.IntN(len(buyers))]
				req := intake.OrderRequest{Resident: intake.ResidentRef{ID: b.Resident}, DeliveryDate: &wv.DeliveryDate}
				for _, j := range rng.Perm(len(items))[:1+rng.IntN(3)] {
					req.Lines = append(req.Lines, intake.LineRequest{SaleItemID: items[j], Quantity: 1 + rng.Int64N(3)})
				}
				start := time.Now()
				// A saturated intake answers "retry shortly" (503): the leader's
				// app retries under the same key, and the order's latency runs
				// until it is placed.
				var err error
				for {
					_, _, err = in.Place(ctx, b.Leader, fmt.Sprintf("nights-%d-%d", wv.ID, k), req)
					if apperr.KindOf(err) != apperr.Unavailable || ctx.Err() != nil {
						break
					}
					time.Sleep(100 * time.Millisecond)
				}
				latencies[k] = time.Since(start)
				if err != nil {
					mu.Lock()
					firstErr = cmpErr(firstErr, fmt.Errorf("order %d: %w", k, err))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	elapsed := time.Since(t0)
	slices.Sort(latencies)
	r.placed, r.intakeRate = len(latencies), float64(len(latencies))/elapsed.Seconds()
	r.p50, r.p99 = latencies[len(latencies)/2], latencies[len(latencies)*99/100]
	return nil
}

func cmpErr(first, err error) error {
	if first != nil {
		return first
	}
	return err
}

// deliverAll dispatches every route of a ready wave, marks every stop
// arrived and has every arrived delivery received whole by its point's
// leader, eight at a time, and returns how many were received and how long
// the dispatch and arrivals took.
func deliverAll(ctx context.Context, db *sqlx.DB, deliveries *lastmile.Service, waveID int64) (int, time.Duration, error) {
	t0 := time.Now()
	if _, err := deliveries.Dispatch(ctx, waveID, 0); err != nil {
		return 0, 0, err
	}
	var stops []struct {
		Route int64 `db:"route_id"`
		Seq   int   `db:"seq"`
	}
	if err := db.SelectContext(ctx, &stops, `SELECT s.route_id, s.seq FROM route_stops s JOIN routes r ON r.id = s.route_id
		WHERE r.wave_id = $1 ORDER BY s.route_id, s.seq`, waveID); err != nil {
		return 0, 0, err
	}
	for _, s := range stops {
		if _, err := deliveries.Arrive(ctx, s.Route, s.Seq); err != nil {
			return 0, 0, fmt.Errorf("arrive at stop %d of route %d: %w", s.Seq, s.Route, err)
		}
	}
	arrived := time.Since(t0)
	var todo []struct {
		ID     int64 `db:"id"`
		Leader int64 `db:"leader_id"`
	}
	if err := db.SelectContext(ctx, &todo, `SELECT d.id, p.leader_id FROM deliveries d JOIN pickup_points p ON p.id = d.pickup_point_id
		WHERE d.wave_id = $1 AND d.state = 'arrived' ORDER BY d.id`, waveID); err != nil {
		return 0, 0, err
	}
	work := make(chan int, len(todo))
	for i := range todo {
		work <- i
	}
	close(work)
	errs := make(chan error, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := deliveries.Receive(ctx, todo[i].Leader, todo[i].ID, lastmile.ReceiveRequest{}); err != nil {
					errs <- fmt.Errorf("receive delivery %d: %w", todo[i].ID, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, 0, err
	}
	return len(todo), arrived, nil
}
