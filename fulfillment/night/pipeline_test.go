package night

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStageTasksOutlastAnOutageAndTheirSolve: nothing asks for the pick,
// refund, route or ready stage again, so a stage retries through a database
// outage of a day or more (it was archived after about six minutes); the
// route task outlasts its solver's budget (a 15-minute budget was cancelled
// at 10 minutes, on every attempt).
func TestStageTasksOutlastAnOutageAndTheirSolve(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	budget := 15 * time.Minute
	r := newTestRunner(t, c, Options{Route: routeplan.Options{Budget: budget}})
	id := c.Wave()
	for _, st := range []wave.Stage{wave.StagePick, wave.StageRoute} {
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			_, err := r.addStage(ctx, tx, st, id, "")
			return err
		}); err != nil {
			t.Fatal(err)
		}
		var job struct {
			MaxRetry  int   `db:"max_retry"`
			TimeoutMS int64 `db:"timeout_ms"`
		}
		if err := c.DB.Get(&job, `SELECT max_retry, timeout_ms FROM jobs WHERE task_id = $1`, fmt.Sprintf("wave:%s:%d", st, id)); err != nil {
			t.Fatal(err)
		}
		var retrying time.Duration
		task := asynq.NewTask("wave:"+string(st), nil)
		for n := range job.MaxRetry {
			retrying += RetryDelay(n, nil, task)
		}
		if retrying < 24*time.Hour {
			t.Errorf("%s: %d retries over %v, then archived with nothing to ask for it again", st, job.MaxRetry, retrying)
		}
		if st == wave.StageRoute && time.Duration(job.TimeoutMS)*time.Millisecond <= budget {
			t.Errorf("the route task times out after %v, inside its solver's budget of %v", time.Duration(job.TimeoutMS)*time.Millisecond, budget)
		}
	}
}

// TestStagesAtOnceDoNotStarveThePool: each stage holds a connection for
// its transaction and reports its progress on another. As many stages at
// once as the pool has connections (a worker's concurrency at its pool
// size, many cities at one cutoff) still finish.
func TestStagesAtOnceDoNotStarveThePool(t *testing.T) {
	const conns = 4
	c := fulfillmenttest.New(t, 1)
	r := newTestRunner(t, c)
	var ids []int64
	for i := range conns {
		ids = append(ids, c.ID(`INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, state, created_at, updated_at)
			VALUES ($1, $2, $3, 'allocated', $4, $4) RETURNING id`, c.Warehouse, fulfillmenttest.Date.AddDate(0, 0, i),
			fulfillmenttest.Cutoff.AddDate(0, 0, i), fulfillmenttest.Now))
	}
	c.DB.SetMaxOpenConns(conns)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Go(func() { _, errs[i] = r.RunStage(ctx, wave.StagePick, id) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("%d pick stages at once on a pool of %d: %v", len(ids), conns, err)
	}
}

// TestStageTableRunsTheNightInOrder: the table lists the night's stages in
// order, each naming the next, and only the route stage works before its
// transaction.
func TestStageTableRunsTheNightInOrder(t *testing.T) {
	r := NewRunner(nil, clock.System{}, nil, slog.New(slog.DiscardHandler), Options{})
	want := []wave.Stage{wave.StageClose, wave.StagePurchase, wave.StageAllocate, wave.StagePick, wave.StageRefund, wave.StageRoute, wave.StageReady}
	var got []wave.Stage
	for i, st := range r.table {
		got = append(got, st.name)
		next := wave.Stage("")
		if i+1 < len(want) {
			next = want[i+1]
		}
		if st.next != next {
			t.Errorf("%s is followed by %q, want %q", st.name, st.next, next)
		}
		if (st.run == nil) == (st.prepare == nil) {
			t.Errorf("%s: exactly one of run and prepare must be set", st.name)
		}
		if (st.prepare != nil) != (st.name == wave.StageRoute) {
			t.Errorf("%s: only the route stage prepares outside its transaction", st.name)
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stages %v, want %v", got, want)
	}
	if _, ok := r.stage("pack"); ok {
		t.Fatal("an unknown stage was found")
	}
}

// TestAllocationSharesAShortSKUEvenly runs close, receipts, allocate, pick
// and refund on a seeded wave: with the even policy the points that ordered
// least are served in full, each point gets its bag, and the shortage is
// refunded once, after the pick, however often the refund stage runs.
func TestAllocationSharesAShortSKUEvenly(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 3)
	item := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 100)
	for p, q := range []int64{5, 3, 2} {
		c.Order(p, fulfillmenttest.Line{SaleItem: item, Quantity: q})
	}
	r := newTestRunner(t, c)
	id := c.Wave()
	if ok, err := r.RunStage(ctx, wave.StageClose, id); err != nil || !ok {
		t.Fatalf("close: %v %v", ok, err)
	}
	for _, st := range []wave.Stage{wave.StagePurchase, wave.StageAllocate} {
		if ok, err := r.RunStage(ctx, st, id); err != nil || ok != (st == wave.StagePurchase) {
			t.Fatalf("%s before the final receipts: %v %v, want only the purchase stage done", st, ok, err)
		}
	}
	if _, err := r.RecordReceipts(ctx, id, wave.SpreadEvenly, true, []Receipt{{SaleItemID: item, Received: 6}}, "test"); err != nil {
		t.Fatal(err)
	}
	// The refund stage before the pick finds the wave not picked yet.
	for _, st := range []wave.Stage{wave.StageAllocate, wave.StageRefund, wave.StagePick} {
		if ok, err := r.RunStage(ctx, st, id); err != nil || ok != (st != wave.StageRefund) {
			t.Fatalf("%s: %v %v", st, ok, err)
		}
	}
	if n := c.Count(`SELECT count(*) FROM refunds`) + c.Count(`SELECT count(*) FROM outbox`); n != 0 {
		t.Fatalf("%d refunds and notices before the refund stage", n)
	}
	for i := range 2 { // the task, then a duplicate of it that does nothing
		if ok, err := r.RunStage(ctx, wave.StageRefund, id); err != nil || ok != (i == 0) {
			t.Fatalf("refund, run %d: %v %v", i+1, ok, err)
		}
	}
	var cuts []int64
	if err := c.DB.Select(&cuts, `SELECT coalesce(c.cut, 0) FROM orders o JOIN order_lines l ON l.order_id = o.id
		LEFT JOIN line_cuts c ON c.order_line_id = l.id ORDER BY o.pickup_point_id`); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cuts, []int64{3, 1, 0}) {
		t.Fatalf("cuts per point %v, want [3 1 0]: each point gets 2 of the 6 received", cuts)
	}
	w, err := wave.Get(ctx, c.DB, id)
	if err != nil || w.State != wave.Picked || w.Refunds.Units != 4 || w.Refunds.ByReason[fulfillment.ReasonShortage].AmountFen != 400 {
		t.Fatalf("wave %+v (%v): want picked with 4 units refunded for shortage", w, err)
	}
	if n := c.Count(`SELECT count(*) FROM outbox WHERE kind = 'refund'`); n != 2 {
		t.Fatalf("%d refund notices, want 2 (the residents who lost units)", n)
	}
	if n := c.Count(`SELECT count(*) FROM refunds`); n != 2 {
		t.Fatalf("%d refunds, want one per cut line", n)
	}
	if units := c.Count(`SELECT sum(units) FROM bags WHERE wave_id = $1`, id); units != 6 {
		t.Fatalf("%d units in bags, want the 6 received", units)
	}
}

// newTestRunner is a stage runner on c's database with a job outbox on the
// test's Redis, its clock at the cutoff.
func newTestRunner(t *testing.T, c *fulfillmenttest.City, opt ...Options) *Runner {
	ropt, err := jobs.RedisOpt(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	queue := asynq.NewClient(ropt)
	t.Cleanup(func() { queue.Close() })
	clk := clock.NewManual(fulfillmenttest.Cutoff)
	log := slog.New(slog.DiscardHandler)
	outbox := jobs.NewOutbox(c.DB, queue, clk, log, jobs.Options{})
	t.Cleanup(outbox.Stop)
	return NewRunner(c.DB, clk, outbox, log, append(opt, Options{})[0])
}

// TestFirstComeIsByOrderTime: with first come, first served, the lines of a
// short SKU are served in the order their orders were placed, whatever their
// ids, and orders placed at the same instant in id order.
func TestFirstComeIsByOrderTime(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 3)
	item := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 100, 100)
	late := c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 3})
	early := c.Order(1, fulfillmenttest.Line{SaleItem: item, Quantity: 2})
	tied := c.Order(2, fulfillmenttest.Line{SaleItem: item, Quantity: 1})
	c.Exec(`UPDATE orders SET created_at = $2 WHERE id = ANY($1)`, pq.Array([]int64{early, tied}), fulfillmenttest.Now.Add(-time.Hour))
	r := newTestRunner(t, c)
	id := c.Wave()
	for _, st := range []wave.Stage{wave.StageClose, wave.StagePurchase} {
		if ok, err := r.RunStage(ctx, st, id); err != nil || !ok {
			t.Fatalf("%s: %v %v", st, ok, err)
		}
	}
	if _, err := r.RecordReceipts(ctx, id, wave.FirstComeFirstServed, true, []Receipt{{SaleItemID: item, Received: 2}}, "test"); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.RunStage(ctx, wave.StageAllocate, id); err != nil || !ok {
		t.Fatalf("allocate: %v %v", ok, err)
	}
	for order, want := range map[int64]int64{late: 3, early: 0, tied: 1} {
		if got := c.Count(`SELECT coalesce(sum(c.cut), 0) FROM order_lines l LEFT JOIN line_cuts c ON c.order_line_id = l.id
			WHERE l.order_id = $1`, order); got != want {
			t.Errorf("order %d: %d units cut, want %d", order, got, want)
		}
	}
}

// TestRefundsFollowARouteRunAhead: ops run the route stage before the
// refund stage has run (a rerun while it retries); the wave is routed, and
// the refund stage still refunds every unit allocation cut, once.
func TestRefundsFollowARouteRunAhead(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 2)
	c.Van()
	item := c.SaleItem(c.Product("EGG", fulfillment.Ambient, ""), 100, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 5})
	c.Order(1, fulfillmenttest.Line{SaleItem: item, Quantity: 3})
	r := newTestRunner(t, c, Options{Route: routeplan.Options{Budget: time.Second, Threads: 1}})
	id := c.Wave()
	run := func(st wave.Stage) bool {
		t.Helper()
		moved, err := r.RunStage(ctx, st, id)
		if err != nil {
			t.Fatalf("%s: %v", st, err)
		}
		return moved
	}
	run(wave.StageClose)
	run(wave.StagePurchase)
	if _, err := r.RecordReceipts(ctx, id, wave.FirstComeFirstServed, true, []Receipt{{SaleItemID: item, Received: 6}}, "test"); err != nil {
		t.Fatal(err)
	}
	for _, st := range []wave.Stage{wave.StageAllocate, wave.StagePick, wave.StageRoute} {
		if !run(st) {
			t.Fatalf("%s did not move the wave", st)
		}
	}
	if !run(wave.StageRefund) || run(wave.StageRefund) {
		t.Fatal("the refund stage on the routed wave: want it to act once")
	}
	cut := c.Count(`SELECT coalesce(sum(cut), 0) FROM line_cuts WHERE wave_id = $1`, id)
	refunded := c.Count(`SELECT coalesce(sum(quantity), 0) FROM refunds WHERE wave_id = $1`, id)
	if cut != 2 || refunded != cut {
		t.Fatalf("units cut %d, refunded %d", cut, refunded)
	}
	if w, _ := wave.Get(ctx, c.DB, id); w.State != wave.Routed {
		t.Fatalf("the refund stage moved the wave to %s", w.State)
	}
	// A second solve, overlapping the first, reports after the first wrote
	// the routes; its end ends the progress too, though it writes nothing.
	if err := wave.SaveRouteProgress(ctx, c.DB, id, wave.RouteProgress{SectorsTotal: 1, SecondsLeft: 1, UpdatedAt: fulfillmenttest.Cutoff}); err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		res, err := writeRoutes(&routeplan.Plan{})(ctx, tx, id, fulfillmenttest.Cutoff, nil)
		if res.moved {
			t.Error("a second plan was written over the first")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if w, _ := wave.Get(ctx, c.DB, id); w.RouteProgress == nil || w.RouteProgress.FinishedAt == nil {
		t.Fatalf("the route progress after both solves ended: %+v", w.RouteProgress)
	}
}

// TestSortPlanKeepsPointsNoRouteServes: a point whose receiving hours miss
// the delivery window is left unserved by the plan; its units are picked all
// the same, so the sort plan keeps them, without a route, after the routes.
func TestSortPlanKeepsPointsNoRouteServes(t *testing.T) {
	ctx := context.Background()
	c := riceNight(t, 3)
	c.Exec(`UPDATE pickup_points SET receiving_from = '12:00', receiving_until = '13:00' WHERE id = $1`, c.Points[0].ID)
	r := newTestRunner(t, c, Options{Route: routeplan.Options{Budget: time.Second, Threads: 1}})
	id := c.Wave()
	runTo(t, r, id, wave.StageRoute)
	if n := c.Count(`SELECT count(*) FROM unserved_stops`); n != 1 {
		t.Fatalf("%d unserved stops, want point 0's", n)
	}
	lines, err := SortPlan(ctx, c.DB, id, "")
	if err != nil {
		t.Fatal(err)
	}
	var units int64
	for _, l := range lines {
		units += l.Quantity
	}
	last := lines[len(lines)-1]
	if units != 6 || last.PickupPointID != c.Points[0].ID || last.RouteCode != "" || lines[0].RouteCode == "" {
		t.Fatalf("sort plan of %d units: %+v", units, lines)
	}
	if routed, err := SortPlan(ctx, c.DB, id, lines[0].RouteCode); err != nil || len(routed) != len(lines)-1 {
		t.Fatalf("route %s's sort plan: %+v %v", lines[0].RouteCode, routed, err)
	}
}

// TestAStageAskedForWhenDueRunsOnASlowerClock: the sweep of a worker whose
// clock has passed the cutoff asks for the close; a worker whose clock is 2 ms
// behind runs it and closes the wave, rather than doing nothing under the
// task's retained ID, which would swallow every later sweep's ask.
func TestAStageAskedForWhenDueRunsOnASlowerClock(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	item := c.SaleItem(c.Product("EGG", fulfillment.Ambient, ""), 100, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 1})
	id := c.Wave()
	slow := newTestRunner(t, c)
	slow.clock = clock.NewManual(fulfillmenttest.Cutoff.Add(-2 * time.Millisecond))
	task := func(at time.Time) *asynq.Task {
		b, _ := json.Marshal(wavePayload{WaveID: id, At: at})
		return asynq.NewTask("wave:"+string(wave.StageClose), b)
	}
	if err := slow.handleStage(wave.StageClose)(ctx, task(time.Time{})); err != nil {
		t.Fatal(err)
	}
	if w, _ := wave.Get(ctx, c.DB, id); w.State != wave.Open {
		t.Fatalf("closed before the cutoff on every clock: %s", w.State)
	}
	if err := slow.handleStage(wave.StageClose)(ctx, task(fulfillmenttest.Cutoff.Add(2*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if w, _ := wave.Get(ctx, c.DB, id); w.State != wave.Closed {
		t.Fatalf("the close asked for past the cutoff left the wave %s", w.State)
	}
}

// TestThePickStageReadsOnlyItsNightsPartitions: the pick stage's rerun
// cleared the night's sort lines by wave alone, planning every night's
// partitions of sort_lines; it names the night.
func TestThePickStageReadsOnlyItsNightsPartitions(t *testing.T) {
	c := riceNight(t, 3)
	db, plans := c.Explained()
	c.DB = db // the runner's statements, explained from here
	r := newTestRunner(t, c)
	id := c.Wave()
	runTo(t, r, id, wave.StageAllocate)
	if ok, err := r.RunStage(context.Background(), wave.StagePick, id); err != nil || !ok {
		t.Fatalf("pick: %v %v", ok, err)
	}
	for _, q := range plans.Wide(1) {
		if strings.Contains(q, "sort_lines") {
			t.Errorf("scans every night's partitions: %s", q)
		}
	}
}
