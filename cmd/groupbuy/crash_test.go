package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// crashNight is one simulated night in its own database, closed, with
// receipts that leave every SKU 40 % short so allocation has much to cut,
// and every SKU bought from a supplier of its own, so the purchase stage
// writes an order per SKU.
type crashNight struct {
	url    string
	app    *app
	waveID int64
}

// simulatePastNight fills a's database with a simulated night of that many
// points, SKUs and order lines. The date is in the past, so the wave's
// cutoff has passed for the real clock the workers use.
func simulatePastNight(t *testing.T, a *app, points, skus, lines int) {
	t.Helper()
	spec := demo.SimCity
	spec.Points, spec.SKUs, spec.Lines, spec.Date = points, skus, lines, "2026-01-05"
	if _, err := demo.Simulate(context.Background(), a.db, clock.System{}, spec); err != nil {
		t.Fatalf("simulate: %v", err)
	}
}

// newCrashNights is the crash test's night twice, in two databases: n for
// a worker on redisURL, and ref, a copy made before anything ran, on
// refRedisURL. The night is simulated once (it is the same night each time).
func newCrashNights(t *testing.T, redisURL, refRedisURL string) (n, ref *crashNight) {
	t.Helper()
	url := testenv.NewDatabase(t)
	cfg := func(url, redisURL string) config.Config {
		return config.Config{DatabaseURL: url, RedisURL: redisURL, DBMaxConns: 10, RouteBudget: 2 * time.Second}
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	fill, err := newApp(context.Background(), cfg(url, redisURL), quiet, clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	closeFill := sync.OnceFunc(fill.close)
	t.Cleanup(closeFill)
	waveID := fillSimNight(t, fill, 120_000, "sold * 6 / 10")
	closeFill() // no one may be connected to the database a copy is made of
	refURL := testenv.CopyDatabase(t, url)
	n = &crashNight{url: url, app: startApp(t, cfg(url, redisURL), quiet, clock.System{}), waveID: waveID}
	ref = &crashNight{url: refURL, app: startApp(t, cfg(refURL, refRedisURL), quiet, clock.System{}), waveID: waveID}
	return n, ref
}

// newSimNight is a simulated night of lines order lines, its final
// receipts recorded as received (an SQL expression over sale_items).
func newSimNight(t *testing.T, redisURL string, lines int, received string) *crashNight {
	t.Helper()
	url := testenv.NewDatabase(t)
	a := startApp(t, config.Config{DatabaseURL: url, RedisURL: redisURL, DBMaxConns: 10, RouteBudget: 2 * time.Second},
		slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	return &crashNight{url: url, app: a, waveID: fillSimNight(t, a, lines, received)}
}

// fillSimNight fills a's database with a simulated night of lines order
// lines, every SKU bought from a supplier of its own (so the purchase stage
// writes an order per SKU), its final receipts recorded as received (an SQL
// expression over sale_items), and returns the wave's id.
func fillSimNight(t *testing.T, a *app, lines int, received string) (waveID int64) {
	t.Helper()
	ctx := context.Background()
	simulatePastNight(t, a, 400, 300, lines)
	if err := a.db.Get(&waveID, `SELECT id FROM waves`); err != nil {
		t.Fatal(err)
	}
	var products []int64
	if err := a.db.Select(&products, `SELECT product_id FROM sale_items WHERE sold > 0 ORDER BY product_id`); err != nil {
		t.Fatal(err)
	}
	for i, p := range products {
		// By e-mail, which these processes have no SMTP for: each send fails once, for good.
		sup, err := a.supply.SaveSupplier(ctx, supply.SupplierInput{Code: fmt.Sprintf("S%03d", i), Name: fmt.Sprintf("供应商%d", i),
			Channel: supply.ChannelEmail, Email: fmt.Sprintf("s%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.supply.SetTerms(ctx, p, []supply.TermInput{{SupplierID: sup.ID, Priority: 1, CasePack: int64(1 + i%12),
			PriceFen: 500, DeliverySlot: clock.NewTimeOfDay(2, 0)}}); err != nil {
			t.Fatal(err)
		}
	}
	var receipts []night.Receipt
	if err := a.db.Select(&receipts, `SELECT id AS sale_item_id, `+received+` AS received FROM sale_items WHERE sold > 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waves.RecordReceipts(ctx, waveID, wave.SpreadEvenly, true, receipts, "crash test"); err != nil {
		t.Fatal(err)
	}
	return waveID
}

// digest summarises what the stages wrote, without ids or timestamps.
func (n *crashNight) digest(t *testing.T) string {
	t.Helper()
	var d string
	const q = `SELECT concat_ws('|',
		(SELECT md5(string_agg(concat(orders, ',', lines, ',', units, ',', amount_fen), ';')) FROM waves),
		(SELECT md5(string_agg(concat(order_line_id, ',', cut), ';' ORDER BY order_line_id)) FROM line_cuts),
		(SELECT md5(string_agg(concat(order_line_id, ',', quantity, ',', amount_fen), ';' ORDER BY order_line_id)) FROM refunds),
		(SELECT md5(string_agg(concat(dedupe_key, ',', payload::text), ';' ORDER BY dedupe_key)) FROM outbox),
		(SELECT md5(string_agg(concat(sale_item_id, ',', pickup_point_id, ',', quantity), ';' ORDER BY sale_item_id, pickup_point_id)) FROM sort_line_skus),
		(SELECT md5(string_agg(concat(sale_item_id, ',', quantity), ';' ORDER BY sale_item_id)) FROM pick_lines),
		(SELECT md5(string_agg(concat(pickup_point_id, ',', zone, ',', units, ',', weight_g), ';' ORDER BY pickup_point_id, zone)) FROM bags),
		(SELECT md5(string_agg(concat(o.number, ',', l.sku, ',', l.quantity, ',', l.amount_fen), ';' ORDER BY o.number, l.sku))
			FROM purchase_orders o JOIN purchase_order_lines l ON l.purchase_order_id = o.id),
		(SELECT count(*) FROM purchase_orders), (SELECT count(*) FROM purchase_order_sends), (SELECT count(*) FROM purchase_needs),
		(SELECT count(*) FROM jobs WHERE task_type = 'supply:send-purchase-order'),
		(SELECT count(*) FROM refunds), (SELECT count(*) FROM outbox), (SELECT count(*) FROM sort_lines))`
	if err := n.app.db.Get(&d, q); err != nil {
		t.Fatal(err)
	}
	return d
}

func (n *crashNight) count(t *testing.T, table string) int {
	t.Helper()
	var c int
	if err := n.app.db.Get(&c, `SELECT count(*) FROM `+table); err != nil {
		t.Fatal(err)
	}
	return c
}

// startWorker runs this test binary as a `groupbuy worker` process.
func startWorker(t testing.TB, dbURL, redisURL string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "GROUPBUY_TEST_WORKER_PROCESS=1", "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"GROUPBUY_ROUTE_BUDGET=2s", "GROUPBUY_LOG_LEVEL=error", "GROUPBUY_LABEL_KEY="+testLabelKey), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// killMidStage SIGKILLs the worker once the stage has reported progress of at
// least minDone steps but has not committed.
func killMidStage(t *testing.T, n *crashNight, cmd *exec.Cmd, stage wave.Stage, minDone int64) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Done     int64 `db:"rows_done"`
			Finished bool  `db:"finished"`
		}
		err := n.app.db.Get(&st, `SELECT rows_done, finished_at IS NOT NULL AS finished FROM wave_stages WHERE wave_id = $1 AND stage = $2`, n.waveID, stage)
		if err == nil && st.Finished {
			t.Fatalf("the %s stage committed before it could be killed", stage)
		}
		if err == nil && st.Done >= minDone {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Wait()
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("the %s stage never started", stage)
}

// waitStageFinished waits for a stage of the wave to commit.
func waitStageFinished(t *testing.T, n *crashNight, stage wave.Stage, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		at, err := wave.StageFinishedAt(context.Background(), n.app.db, n.waveID, stage)
		if err != nil {
			t.Fatal(err)
		}
		if !at.IsZero() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the %s stage did not finish", stage)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitState waits for the wave to reach state.
func waitState(t *testing.T, n *crashNight, state wave.State, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		w, err := wave.Get(context.Background(), n.app.db, n.waveID)
		if err != nil {
			t.Fatal(err)
		}
		if w.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("wave stuck in %s, want %s", w.State, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// expireLeases moves the deadline of every task lease in Redis (asynq's
// sorted set per queue) 61 s back, as if a killed worker had been dead for
// the 30 s lease and asynq's 30 s allowance for clock skew: the next
// worker's recoverer, which runs as the worker starts, hands its tasks on
// for a retry. Only dead workers may hold leases when it is called.
func expireLeases(t *testing.T, redisURL string) {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	ctx := context.Background()
	past := float64(time.Now().Add(-61 * time.Second).Unix())
	expired := 0
	for _, queue := range []string{"critical", "default", "low"} {
		key := "asynq:{" + queue + "}:lease"
		ids, err := rdb.ZRange(ctx, key, 0, -1).Result()
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			if err := rdb.ZAddXX(ctx, key, redis.Z{Score: past, Member: id}).Err(); err != nil {
				t.Fatal(err)
			}
			expired++
		}
	}
	if expired == 0 {
		t.Fatal("no task lease to expire: the killed worker held none")
	}
}

// TestWorkerKilledMidStage SIGKILLs a worker process in the middle of the
// purchase stage, another in the middle of the allocate stage, a third in
// the middle of the pick stage and a fourth in the middle of the refund
// stage. asynq hands the
// task to a new worker once the dead one's lease expires (30 s, plus 30 s
// allowed for clock skew); the test moves the dead lease's deadline back
// rather than wait the minute out (expireLeases). The outputs then match a
// night that ran without a crash, with no row, refund or notice twice.
func TestWorkerKilledMidStage(t *testing.T) {
	redisURL := testenv.Redis(t)
	ctx := context.Background()

	n, ref := newCrashNights(t, redisURL, testenv.Redis(t))
	if _, err := ref.app.waves.Close(ctx, ref.waveID, true); err != nil {
		t.Fatal(err)
	}
	for _, st := range []wave.Stage{wave.StagePurchase, wave.StageAllocate, wave.StagePick, wave.StageRefund} {
		if _, err := ref.app.waves.RunStage(ctx, st, ref.waveID); err != nil {
			t.Fatal(err)
		}
	}
	want := ref.digest(t)

	if _, err := n.app.waves.Close(ctx, n.waveID, true); err != nil { // enqueues wave:purchase, which enqueues wave:allocate
		t.Fatal(err)
	}
	killMidStage(t, n, startWorker(t, n.url, redisURL, "GOMAXPROCS=1"), wave.StagePurchase, 1)
	if c := n.count(t, "purchase_orders") + n.count(t, "purchase_needs") + n.count(t, "purchase_order_sends"); c != 0 {
		t.Fatalf("a killed purchase stage left %d rows", c)
	}
	expireLeases(t, redisURL) // the dead worker's lease runs out
	killMidStage(t, n, startWorker(t, n.url, redisURL, "GOMAXPROCS=1"), wave.StageAllocate, 1)
	if c := n.count(t, "line_cuts") + n.count(t, "refunds") + n.count(t, "outbox"); c != 0 {
		t.Fatalf("a killed allocation left %d rows", c)
	}
	expireLeases(t, redisURL) // the dead worker's lease runs out
	killMidStage(t, n, startWorker(t, n.url, redisURL, "GOMAXPROCS=1"), wave.StagePick, 1)
	if c := n.count(t, "sort_lines"); c != 0 {
		t.Fatalf("a killed pick left %d sort lines", c)
	}
	expireLeases(t, redisURL)
	killMidStage(t, n, startWorker(t, n.url, redisURL, "GOMAXPROCS=1"), wave.StageRefund, 1)
	if c := n.count(t, "refunds") + n.count(t, "outbox"); c != 0 {
		t.Fatalf("a killed refund stage left %d rows", c)
	}
	expireLeases(t, redisURL)
	last := startWorker(t, n.url, redisURL, "GOMAXPROCS=1")
	waitStageFinished(t, n, wave.StageRefund, 60*time.Second)
	_ = last.Process.Kill()
	_ = last.Wait()
	// The worker may have gone on to route the wave before it was stopped.
	if w, err := wave.Get(ctx, n.app.db, n.waveID); err != nil || (w.State != wave.Picked && w.State != wave.Routed) {
		t.Fatalf("wave after the night: %s (%v), want picked or routed", w.State, err)
	}

	if got := n.digest(t); got != want {
		t.Fatalf("outputs after the crashes differ from an uninterrupted night:\n got %s\nwant %s", got, want)
	}
	var retried int
	if err := n.app.db.Get(&retried, `SELECT count(*) FROM refunds`); err != nil {
		t.Fatal(err)
	}
	t.Logf("after four SIGKILLs: %d refunds, digest %s", retried, fmt.Sprint(want[:32]))
}
