package main

// Fault tests: PostgreSQL restarted during order intake, Redis down while
// orders, receipts and notices go on, and SIGTERM to the API and to a worker
// in the middle of their work. Each logs its figures (t.Logf) for
// docs/reliability.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/healthz"
	"groupbuy/cmd/internal/loadgen"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/localserver"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// The SIGTERM test runs this test binary as a `groupbuy serve` process. It
// is hooked here rather than in TestMain: init runs first and never returns.
func init() {
	if os.Getenv("GROUPBUY_TEST_SERVE_PROCESS") != "1" {
		return
	}
	runAsCommand("serve")
}

// sigterm sends SIGTERM to p, whose exit exited reports, and waits up to
// within for it to exit, else fails with late: when the signal went, and
// what the process returned.
func sigterm(t *testing.T, p *os.Process, exited <-chan error, within time.Duration, late string) (sigAt time.Time, exitErr error) {
	t.Helper()
	sigAt = time.Now()
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case exitErr = <-exited:
	case <-time.After(within):
		t.Fatal(late)
	}
	return sigAt, exitErr
}

func faultLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// shot is one order request and what came of it.
type shot struct {
	key      string
	leader   int
	body     map[string]any
	start    time.Time
	end      time.Time
	status   int // 0: no response
	code     string
	retry    string // Retry-After
	id       int64
	err      error
	refused  bool // the connection was refused: the request was never sent
	inFlight bool
}

func (s shot) latency() time.Duration { return s.end.Sub(s.start) }

// postOrder sends one order and records the outcome.
func postOrder(client *http.Client, base, token string, s *shot) {
	raw, _ := json.Marshal(s.body)
	req, _ := http.NewRequest("POST", base+"/api/v1/leader/orders", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Idempotency-Key", s.key)
	req.Header.Set("Content-Type", "application/json")
	s.start = time.Now()
	resp, err := client.Do(req)
	if err != nil {
		s.end, s.err = time.Now(), err
		// A connect the closing listener refused or reset never sent the
		// request: both are refusals, not broken answers.
		var op *net.OpError
		s.refused = errors.Is(err, syscall.ECONNREFUSED) || errors.As(err, &op) && op.Op == "dial"
		return
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	s.end = time.Now()
	if err != nil {
		s.err = err
		return
	}
	s.status, s.retry = resp.StatusCode, resp.Header.Get("Retry-After")
	var env struct {
		ID    int64 `json:"id"`
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(b, &env)
	s.id, s.code = env.ID, env.Error.Code
}

// orderDriver sends orders from concurrent clients until stopped.
type orderDriver struct {
	mu    sync.Mutex
	shots []shot
	stop  chan struct{}
	wg    sync.WaitGroup
}

// driveFaultOrders starts clients, each ordering EGG and RICE for a rotating
// leader under a fresh key, pausing pause after a refusal.
func driveFaultOrders(base string, leaders []string, items []catalog.SaleItem, clients int, prefix string, pause time.Duration,
	until func(s shot) bool) *orderDriver {
	d := &orderDriver{stop: make(chan struct{})}
	for cl := range clients {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			defer client.CloseIdleConnections()
			for n := 0; ; n++ {
				select {
				case <-d.stop:
					return
				default:
				}
				l := (cl*7 + n) % len(leaders)
				s := shot{key: fmt.Sprintf("%s-%d-%d", prefix, cl, n), leader: l,
					body: orderBody(fmt.Sprintf("159%02d%06d", cl, n%500), "居民", items[0].ID, 1, items[1].ID, int64(1+n%3))}
				postOrder(client, base, leaders[l], &s)
				d.mu.Lock()
				d.shots = append(d.shots, s)
				d.mu.Unlock()
				if until != nil && until(s) {
					return
				}
				if s.status != http.StatusCreated {
					time.Sleep(pause)
				}
			}
		}()
	}
	return d
}

func (d *orderDriver) finish() []shot {
	close(d.stop)
	d.wg.Wait()
	return d.shots
}

// tally counts outcomes by kind.
type tally struct {
	sent, created, unavailable, other, transport, refused int
	otherStatuses                                         map[int]int
	firstErr                                              error
}

func tallyShots(shots []shot) tally {
	t := tally{otherStatuses: map[int]int{}}
	for _, s := range shots {
		switch {
		case s.refused:
			t.refused++
			continue
		case s.err != nil:
			t.transport++
			if t.firstErr == nil {
				t.firstErr = s.err
			}
		case s.status == http.StatusCreated:
			t.created++
		case s.status == http.StatusServiceUnavailable:
			t.unavailable++
		default:
			t.other++
			t.otherStatuses[s.status]++
		}
		t.sent++
	}
	return t
}

// checkOrdersIntact verifies that every order id exists with its lines and
// a total equal to its lines, that no order lacks lines, and that every sale
// item's sold count equals the units of its placed lines.
func checkOrdersIntact(t *testing.T, db *sqlx.DB, ids []int64, linesPerOrder int) {
	t.Helper()
	var found int
	if err := db.Get(&found, `SELECT count(*) FROM orders WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		t.Fatal(err)
	}
	if found != len(ids) {
		t.Fatalf("%d of %d orders answered 201 are missing from the database", len(ids)-found, len(ids))
	}
	var bad struct {
		WrongLines int `db:"wrong_lines"`
		WrongTotal int `db:"wrong_total"`
		NoLines    int `db:"no_lines"`
		WrongSold  int `db:"wrong_sold"`
	}
	const q = `SELECT
		(SELECT count(*) FROM orders o WHERE o.id = ANY($1) AND (SELECT count(*) FROM order_lines l WHERE l.order_id = o.id) <> $2) AS wrong_lines,
		(SELECT count(*) FROM orders o WHERE o.total_fen <> (SELECT coalesce(sum(l.quantity * l.price_fen), 0) FROM order_lines l WHERE l.order_id = o.id)) AS wrong_total,
		(SELECT count(*) FROM orders o WHERE NOT EXISTS (SELECT 1 FROM order_lines l WHERE l.order_id = o.id)) AS no_lines,
		(SELECT count(*) FROM sale_items si WHERE si.sold <> (SELECT coalesce(sum(l.quantity), 0) FROM order_lines l
			JOIN orders o ON o.id = l.order_id WHERE l.sale_item_id = si.id AND o.status = 'placed')) AS wrong_sold`
	if err := db.Get(&bad, q, pq.Array(ids), linesPerOrder); err != nil {
		t.Fatal(err)
	}
	if bad.WrongLines+bad.WrongTotal+bad.NoLines+bad.WrongSold != 0 {
		t.Fatalf("half-written or inconsistent orders: %+v", bad)
	}
}

// phases splits shots by when they started: before from, before to, and
// after.
func phases(shots []shot, from, to time.Time) (before, during, after []shot) {
	for _, s := range shots {
		switch {
		case s.start.Before(from):
			before = append(before, s)
		case s.start.Before(to):
			during = append(during, s)
		default:
			after = append(after, s)
		}
	}
	return before, during, after
}

// retryAndCheckOrders retries every order not answered 201 under its key,
// each of which must then succeed: 201, a new order, or 200, the replay of
// one that committed as the server died though its answer was lost. Then
// every order answered 201 is in the database with its lines, one order for
// each key. It returns how many were retried and how many of those were
// replays, the orders placed and the keys.
func retryAndCheckOrders(t *testing.T, db *sqlx.DB, base string, leaders []string, shots []shot) (retried, replayed, placed, keys int) {
	t.Helper()
	client := checked(t, &http.Client{Timeout: 15 * time.Second})
	var ids []int64
	seen := map[string]bool{}
	for _, s := range shots {
		if s.status != http.StatusCreated {
			r := shot{key: s.key, leader: s.leader, body: s.body}
			postOrder(client, base, leaders[s.leader], &r)
			retried++
			if r.status == http.StatusOK {
				replayed++
			} else if r.status != http.StatusCreated {
				t.Fatalf("retry of %s: %d %s %v", s.key, r.status, r.code, r.err)
			}
			s = r
		}
		ids = append(ids, s.id)
		seen[s.key] = true
	}
	if err := db.Get(&placed, `SELECT count(*) FROM orders`); err != nil {
		t.Fatal(err)
	}
	checkOrdersIntact(t, db, ids, 2)
	if placed != len(seen) {
		t.Fatalf("%d orders in the database for %d keys", placed, len(seen))
	}
	return retried, replayed, placed, len(seen)
}

// TestPostgresRestartDuringIntake stops a private PostgreSQL (fast shutdown)
// while 16 clients place orders, keeps them ordering for 2 s, starts it again
// on the same port and data directory, and keeps ordering: while it is down
// orders answer 503 with Retry-After within a bound, never 500 nor a hang;
// afterwards every order answered 201 is there with its lines, every order
// answered 503 can be retried under its key, and sold counts equal the lines.
func TestPostgresRestartDuringIntake(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(testenv.ServerDir(t), "pg")
	opts := []localserver.PostgresOption{localserver.WithPostgresNoSync(), localserver.WithPostgresSetting("max_connections", "60"),
		localserver.WithPostgresSetting("shared_buffers", "32MB"), localserver.WithPostgresSetting("max_wal_size", "256MB")}
	begin := time.Now()
	pg, err := localserver.StartPostgres(ctx, dir, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	setup := time.Since(begin)
	clock := clock.NewManual(beforeCutoff)
	a := startApp(t, config.Config{DatabaseURL: pg.URL(), RedisURL: testenv.Redis(t), DBMaxConns: 20, TokenTTL: time.Second},
		faultLog(t), clock)
	if err := a.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	c := buildCity(t, a, clock, testDate, 40, fulfillment.MaxStockCap)
	srv := apiServer(t, a)

	const clients = 16
	d := driveFaultOrders(srv.URL, c.leaders, c.items, clients, "pg", 20*time.Millisecond, nil)
	time.Sleep(1500 * time.Millisecond)
	killAt := time.Now()
	if err := pg.Stop(ctx); err != nil {
		t.Fatalf("stop PostgreSQL: %v", err)
	}
	stoppedAt := time.Now()
	time.Sleep(2 * time.Second)
	restartAt := time.Now()
	pg2, err := localserver.StartPostgres(ctx, dir, nil, append(opts, localserver.WithPostgresPort(pg.Port))...)
	if err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = pg2.Stop(context.Background()) })
	readyAt := time.Now()
	time.Sleep(2 * time.Second)
	shots := d.finish()

	before, down, after := phases(shots, killAt, readyAt)
	all, tb, td, ta := tallyShots(shots), tallyShots(before), tallyShots(down), tallyShots(after)
	var downLat []time.Duration
	var first503, firstBack time.Time
	for _, s := range down {
		downLat = append(downLat, s.latency())
	}
	slices.Sort(downLat)
	for _, s := range shots {
		if s.status == http.StatusServiceUnavailable && !s.end.Before(killAt) && (first503.IsZero() || s.end.Before(first503)) {
			first503 = s.end
		}
		if s.status == http.StatusServiceUnavailable && s.retry == "" {
			t.Errorf("503 without Retry-After: %+v", s)
		}
		if s.status == http.StatusCreated && s.start.After(readyAt) && (firstBack.IsZero() || s.end.Before(firstBack)) {
			firstBack = s.end
		}
	}
	var last503 time.Time // the last 503 answered to a request sent after the restart
	for _, s := range after {
		if s.status == http.StatusServiceUnavailable && s.end.After(last503) {
			last503 = s.end
		}
	}
	recovered := firstBack.Sub(readyAt)
	if last503.After(readyAt) {
		recovered = max(recovered, last503.Sub(readyAt))
	}
	t.Logf("PostgreSQL restart during intake: %d clients; private cluster up in %s; fast shutdown took %s, down %s, restart took %s",
		clients, setup.Round(time.Millisecond), stoppedAt.Sub(killAt).Round(time.Millisecond),
		readyAt.Sub(killAt).Round(time.Millisecond), readyAt.Sub(restartAt).Round(time.Millisecond))
	t.Logf("  requests sent %d: 201 %d, 503 %d, other statuses %d %v, transport errors %d", all.sent, all.created, all.unavailable, all.other, all.otherStatuses, all.transport)
	t.Logf("  before the stop: %d sent, %d 201, %d 503; while down: %d sent, %d 201, %d 503, latency p50 %s p99 %s max %s; after the restart: %d sent, %d 201, %d 503",
		tb.sent, tb.created, tb.unavailable, td.sent, td.created, td.unavailable,
		loadgen.Percentile(downLat, 0.5).Round(time.Microsecond), loadgen.Percentile(downLat, 0.99).Round(time.Microsecond),
		loadgen.Percentile(downLat, 1).Round(time.Microsecond), ta.sent, ta.created, ta.unavailable)
	if !first503.IsZero() {
		t.Logf("  first 503 %s after the stop began; first 201 %s after PostgreSQL accepted connections again; %d 503s after that",
			first503.Sub(killAt).Round(time.Millisecond), firstBack.Sub(readyAt).Round(time.Millisecond), ta.unavailable)
	}

	if all.other != 0 || all.transport != 0 || all.refused != 0 {
		t.Fatalf("want only 201 and 503: %d other statuses %v, %d transport errors (first: %v)", all.other, all.otherStatuses, all.transport+all.refused, all.firstErr)
	}
	if tb.created == 0 || td.unavailable == 0 || ta.created == 0 {
		t.Fatalf("the outage did not show: 201 before %d, 503 while down %d, 201 after %d", tb.created, td.unavailable, ta.created)
	}
	if p99 := loadgen.Percentile(downLat, 0.99); p99 > 2*time.Second || loadgen.Percentile(downLat, 1) > 5*time.Second {
		t.Fatalf("not failing fast while PostgreSQL is down: p99 %s, max %s", p99, loadgen.Percentile(downLat, 1))
	}
	if recovered > 3*time.Second {
		t.Fatalf("intake took %s to recover after PostgreSQL came back", recovered)
	}

	retried, replayed, placed, keys := retryAndCheckOrders(t, a.db, srv.URL, c.leaders, shots)
	t.Logf("  orders lost 0: all %d orders answered 201 are in the database with their lines; %d answered 503 retried under their keys, %d of them replays of an order that had committed; %d orders for %d keys; sold = sum of lines for every item",
		all.created, retried, replayed, placed, keys)
}

// redisProcess is a redis-server of the test's own, on a fixed port, that
// the test can kill and start again.
type redisProcess struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

func startRedisOn(t *testing.T, port int, dir string) *redisProcess {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: %v", err)
	}
	if port == 0 {
		if port, err = testenv.FreePort(); err != nil {
			t.Fatal(err)
		}
	}
	r := &redisProcess{port: port, dir: dir}
	r.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	cmd := r.cmd
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.addr(), 200*time.Millisecond)
		if err == nil {
			c.Close()
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server on %s did not start: %v", r.addr(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *redisProcess) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)) }
func (r *redisProcess) url() string  { return "redis://" + r.addr() + "/0" }
func (r *redisProcess) kill()        { _ = r.cmd.Process.Kill(); _, _ = r.cmd.Process.Wait() }

// TestRedisDownJobsOutbox kills Redis in the middle of a night: orders go
// on (201), the final receipts of a closed wave answer 200 with the
// allocation job waiting in the job outbox, and a notice is queued. When a
// new redis-server starts on the same port, the relay enqueues the job, the
// worker runs the wave through allocate, pick, route and ready, and the
// dispatcher sends the notice.
func TestRedisDownJobsOutbox(t *testing.T) {
	ctx := context.Background()
	const secret = "fault-test-webhook-secret"
	rs := startRedisOn(t, 0, t.TempDir())
	rc := webhook.NewReceiver(secret)
	hook, closeHook, err := webhook.Serve(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeHook)
	clock := clock.NewManual(beforeCutoff)
	cfg := config.Config{DatabaseURL: testenv.NewDatabase(t), RedisURL: rs.url(), DBMaxConns: 20, TokenTTL: time.Second,
		RouteBudget: 2 * time.Second, WriteLimit: 100_000,
		Notify: config.NotifyEnv{Channels: "webhook", WebhookURL: hook, WebhookSecret: secret, Lease: 5 * time.Second}}
	a := startApp(t, cfg, faultLog(t), clock)
	c := buildCity(t, a, clock, testDate, 8, 1000)
	nextDay := fulfillment.Date{Time: testDate.AddDate(0, 0, 1)}
	tomorrow := publishDay(t, a, c.warehous.ID, nextDay, fulfillment.MaxStockCap)
	srv := apiServer(t, a)
	c.srv = srv
	van := map[string]any{"code": "VAN", "name": "1.5吨冷藏厢式车", "chilled": true, "frozen": true, "count": 3, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150}
	c.addVehicleType(van)
	// The API process's relay loop (runServe starts it) and a worker.
	a.jobs.Start(jobRelayEvery)
	w, err := newWorker(a, workerOptions{sweepEvery: time.Minute, syncInterval: time.Hour, dispatchEvery: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wctx, stopWorker := context.WithCancel(ctx)
	stopped := make(chan struct{})
	go func() { _ = w.run(wctx); close(stopped) }()
	// The worker stops before Redis does, at the end of the test.
	stopAll := sync.OnceFunc(func() { stopWorker(); <-stopped; a.jobs.Stop() })
	t.Cleanup(stopAll)

	// Today's wave: orders, then ops close it (no receipts yet).
	egg, rice := c.item("EGG"), c.item("RICE")
	for i := range 24 {
		body := orderBody(fmt.Sprintf("1580000%04d", i), "居民", egg.ID, 2, rice.ID, 1)
		c.placeOrder(i%len(c.leaders), fmt.Sprintf("today-%d", i), body)
	}
	var waveID int64
	if err := a.db.Get(&waveID, `SELECT id FROM waves WHERE delivery_date = $1`, testDate); err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/api/v1/ops/waves/%d", waveID)
	if r := c.do("POST", path+"/close", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	time.Sleep(1500 * time.Millisecond) // a worker that got an allocate now would run it, uselessly

	// Redis dies.
	killAt := time.Now()
	rs.kill()

	// Tomorrow's orders go on.
	d := driveFaultOrders(srv.URL, c.leaders, tomorrow, 8, "tomorrow", 20*time.Millisecond, nil)
	time.Sleep(1500 * time.Millisecond)
	shots := d.finish()
	orders := tallyShots(shots)
	var lat []time.Duration
	var ids []int64
	for _, s := range shots {
		lat = append(lat, s.latency())
		if s.status == http.StatusCreated {
			ids = append(ids, s.id)
		}
	}
	slices.Sort(lat)

	// The warehouse reports what arrived: 8 eggs short.
	receiptsAt := time.Now()
	r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 40}}})
	receiptsTook := time.Since(receiptsAt)
	if r.Status != http.StatusOK {
		t.Fatalf("final receipts with Redis down: %d %s", r.Status, r.Body)
	}
	allocTask := fmt.Sprintf("wave:allocate:%d", waveID)
	var pending int
	if err := a.db.Get(&pending, `SELECT count(*) FROM jobs WHERE task_id = $1 AND enqueued_at IS NULL`, allocTask); err != nil {
		t.Fatal(err)
	}
	if pending != 1 {
		t.Fatalf("the allocation job is not waiting in the outbox (%d rows)", pending)
	}

	// A notice queued meanwhile.
	var resident struct {
		ID    int64 `db:"resident_id"`
		Point int64 `db:"pickup_point_id"`
	}
	if err := a.db.Get(&resident, `SELECT resident_id, pickup_point_id FROM orders ORDER BY id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	const noticeKey = "fault:redis-down:arrival"
	err = pg.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		_, err := notice.QueueNotices(ctx, tx, nil, []notice.Notice{{ResidentID: resident.ID, Kind: notify.KindArrival, Key: noticeKey,
			Payload: map[string]any{"vars": map[string]any{"point": "故障自提点0", "address": "幸福路 1 号", "hours": "08:00-21:00", "code": "123456"},
				"delivery_date": testDate.String(), "pickup_point_id": resident.Point}}}, clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond) // the relay loop tries, and fails
	if w, err := wave.Get(ctx, a.db, waveID); err != nil || w.State != wave.Closed {
		t.Fatalf("wave while Redis is down: %s %v", w.State, err)
	}

	// Redis returns, empty, on the same port.
	upAt := time.Now()
	startRedisOn(t, rs.port, t.TempDir())
	var enqueuedAt, readyAt, noticeAt time.Time
	deadline := time.Now().Add(60 * time.Second)
	for enqueuedAt.IsZero() || readyAt.IsZero() || noticeAt.IsZero() {
		if time.Now().After(deadline) {
			w, _ := wave.Get(ctx, a.db, waveID)
			t.Fatalf("after Redis returned: job enqueued %v, wave %s (stages %+v), notice sent %v", !enqueuedAt.IsZero(), w.State, w.Stages, !noticeAt.IsZero())
		}
		var n int
		if enqueuedAt.IsZero() {
			if err := a.db.Get(&n, `SELECT count(*) FROM jobs WHERE task_id = $1 AND enqueued_at IS NOT NULL`, allocTask); err == nil && n == 1 {
				enqueuedAt = time.Now()
			}
		}
		if readyAt.IsZero() {
			if w, err := wave.Get(ctx, a.db, waveID); err == nil && w.State == wave.Ready {
				readyAt = time.Now()
			}
		}
		if noticeAt.IsZero() {
			if err := a.db.Get(&n, `SELECT count(*) FROM outbox WHERE dedupe_key = $1 AND sent_at IS NOT NULL`, noticeKey); err == nil && n == 1 {
				noticeAt = time.Now()
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, ok := rc.Notices()[noticeKey]; !ok {
		t.Fatalf("the webhook did not receive notice %s", noticeKey)
	}
	checkOrdersIntact(t, a.db, ids, 2)
	var left int
	if err := a.db.Get(&left, `SELECT count(*) FROM jobs WHERE enqueued_at IS NULL`); err != nil {
		t.Fatal(err)
	}
	t.Logf("Redis down: killed; %d orders sent while down: 201 %d, 503 %d, other %d %v, transport errors %d; latency p50 %s p99 %s",
		orders.sent, orders.created, orders.unavailable, orders.other, orders.otherStatuses, orders.transport,
		loadgen.Percentile(lat, 0.5).Round(time.Microsecond), loadgen.Percentile(lat, 0.99).Round(time.Microsecond))
	t.Logf("  final receipts answered %d in %s, allocation job waiting in the outbox; Redis back %s after the kill",
		r.Status, receiptsTook.Round(time.Millisecond), upAt.Sub(killAt).Round(time.Millisecond))
	t.Logf("  after Redis returned: job enqueued in %s, wave ready in %s (allocate, pick, route with a 2 s budget, ready), notice sent in %s; %d jobs left pending; orders lost 0",
		enqueuedAt.Sub(upAt).Round(time.Millisecond), readyAt.Sub(upAt).Round(time.Millisecond), noticeAt.Sub(upAt).Round(time.Millisecond), left)
	if orders.created == 0 || orders.created != orders.sent {
		t.Fatalf("orders with Redis down: %d of %d answered 201 (%v)", orders.created, orders.sent, orders.otherStatuses)
	}
	stopAll()
}

// TestSigtermServeDrains runs `groupbuy serve` as a process, has 64 clients
// place orders over keep-alive connections and sends SIGTERM in the middle:
// every request sent gets a whole response (201, or 503 shutting_down), the
// process exits 0 within its drain timeout, and connections are refused
// afterwards. Every order answered 201 is in the database.
func TestSigtermServeDrains(t *testing.T) {
	dbURL, redisURL := testenv.NewDatabase(t), testenv.Redis(t)
	a := startApp(t, config.Config{DatabaseURL: dbURL, RedisURL: redisURL, DBMaxConns: 5}, faultLog(t), clock.System{})
	now := time.Now().UTC()
	date := fulfillment.Date{Time: time.Date(now.Year(), now.Month(), now.Day()+3, 0, 0, 0, 0, time.UTC)}
	c := buildCity(t, a, clock.System{}, date, 32, fulfillment.MaxStockCap)
	base, addr, cmd, exited := startServe(t, dbURL, redisURL)

	const clients = 64
	// A client stops at its first refused connection: the server is gone.
	d := driveFaultOrders(base, c.leaders, c.items, clients, "term", time.Millisecond, func(s shot) bool { return s.refused })
	time.Sleep(time.Second)
	sigAt, exitErr := sigterm(t, cmd.Process, exited, 30*time.Second, "serve did not exit within 30 s of SIGTERM (drain timeout 20 s)")
	exitAt := time.Now()
	_, dialErr := net.DialTimeout("tcp", addr, time.Second)
	time.Sleep(100 * time.Millisecond)
	shots := d.finish()

	all := tallyShots(shots)
	inFlight, inFlightOK, shutting := 0, 0, 0
	var ids []int64
	for _, s := range shots {
		if s.status == http.StatusCreated {
			ids = append(ids, s.id)
		}
		if s.code == "shutting_down" {
			shutting++
		}
		// A request refused at connect was never in the server's hands: Go's
		// client retries a request with an Idempotency-Key on a new
		// connection when the server closed the idle one it tried first.
		if s.start.Before(sigAt) && s.end.After(sigAt) && !s.refused {
			inFlight++
			if s.status == http.StatusCreated || s.status == http.StatusServiceUnavailable {
				inFlightOK++
			}
		}
	}
	t.Logf("SIGTERM to serve: %d clients over keep-alive; %d requests sent: 201 %d, 503 %d (shutting_down %d), other %d %v, broken (reset/EOF) %d; %d refused at connect after the listener closed",
		clients, all.sent, all.created, all.unavailable, shutting, all.other, all.otherStatuses, all.transport, all.refused)
	t.Logf("  %d requests in flight at SIGTERM, %d answered whole; exit status %v %s after SIGTERM; new connection afterwards: %v",
		inFlight, inFlightOK, exitErr, exitAt.Sub(sigAt).Round(time.Millisecond), dialErr)
	if exitErr != nil {
		t.Fatalf("serve exited with %v, want 0", exitErr)
	}
	if all.transport != 0 || all.other != 0 {
		t.Fatalf("requests without a whole 201/503 answer: %d broken (first: %v), %d other statuses %v", all.transport, all.firstErr, all.other, all.otherStatuses)
	}
	if inFlight == 0 || inFlightOK != inFlight {
		t.Fatalf("%d requests in flight at SIGTERM, %d answered", inFlight, inFlightOK)
	}
	if dialErr == nil || !errors.Is(dialErr, syscall.ECONNREFUSED) {
		t.Fatalf("a connection after exit: %v, want refused", dialErr)
	}
	checkOrdersIntact(t, a.db, ids, 2)
}

// TestSigtermWorkerFinishesRunningTask SIGTERMs a worker process while it
// runs the route stage of a simulated night (a 10 s solver budget): the
// process exits 0 within asynq's ShutdownTimeout (25 s) with the task either
// finished or back in the queue, as the asynq Inspector shows, and a new
// worker takes the wave to ready.
func TestSigtermWorkerFinishesRunningTask(t *testing.T) {
	ctx := context.Background()
	redisURL := testenv.Redis(t)
	url := testenv.NewDatabase(t)
	a := startApp(t, config.Config{DatabaseURL: url, RedisURL: redisURL, DBMaxConns: 5, RouteBudget: 10 * time.Second},
		faultLog(t), clock.System{})
	simulatePastNight(t, a, 150, 80, 6000)
	var wave0 struct {
		ID          int64 `db:"id"`
		WarehouseID int64 `db:"warehouse_id"`
	}
	if err := a.db.Get(&wave0, `SELECT id, warehouse_id FROM waves`); err != nil {
		t.Fatal(err)
	}
	waveID := wave0.ID
	if _, err := a.fleet.SaveVehicleType(ctx, routeplan.VehicleType{WarehouseID: wave0.WarehouseID, Code: "TRUCK3T", Name: "3吨冷藏车",
		Count: 30, CapacityG: 3_000_000, CapacityML: 16_000_000, ShiftStart: clock.NewTimeOfDay(4, 30), ShiftEnd: clock.NewTimeOfDay(11, 0),
		FixedCostFen: 40000, CostPerKmFen: 300, Chilled: true, Frozen: true}); err != nil {
		t.Fatal(err)
	}
	receiveAllSold(t, a, waveID, wave.FirstComeFirstServed, "faults test")
	if _, err := a.waves.Close(ctx, waveID, true); err != nil { // enqueues wave:allocate
		t.Fatal(err)
	}
	worker := startWorker(t, url, redisURL, "GROUPBUY_ROUTE_BUDGET=10s")
	exited := make(chan error, 1)
	go func() { exited <- worker.Wait() }()

	// Wait until the route task runs, and a little more.
	ropt, _ := jobs.RedisOpt(redisURL)
	insp := asynq.NewInspector(ropt)
	defer insp.Close()
	routeTask := fmt.Sprintf("wave:route:%d", waveID)
	deadline := time.Now().Add(60 * time.Second)
	var routeAt time.Time
	for {
		if info, err := insp.GetTaskInfo(jobs.QueueRoute, routeTask); err == nil && info.State == asynq.TaskStateActive {
			routeAt = time.Now()
			break
		}
		if time.Now().After(deadline) {
			w, _ := wave.Get(ctx, a.db, waveID)
			t.Fatalf("the route task never ran (wave %s)", w.State)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	sigAt, exitErr := sigterm(t, worker.Process, exited, 35*time.Second, "the worker did not exit within 35 s of SIGTERM (ShutdownTimeout 25 s)")
	tookExit := time.Since(sigAt)
	info, err := insp.GetTaskInfo(jobs.QueueRoute, routeTask)
	if err != nil {
		t.Fatalf("route task after the worker exited: %v", err)
	}
	wv, err := wave.Get(ctx, a.db, waveID)
	if err != nil {
		t.Fatal(err)
	}
	var readyState string
	if ri, err := insp.GetTaskInfo("critical", fmt.Sprintf("wave:ready:%d", waveID)); err == nil {
		readyState = ri.State.String()
	} else {
		readyState = err.Error()
	}
	t.Logf("SIGTERM to a worker %s into the route stage (10 s budget): exit status %v after %s; route task %s, wave %s, next task wave:ready %s",
		sigAt.Sub(routeAt).Round(time.Millisecond), exitErr, tookExit.Round(time.Millisecond), info.State, wv.State, readyState)
	if exitErr != nil {
		t.Fatalf("worker exited with %v, want 0", exitErr)
	}
	switch {
	case info.State == asynq.TaskStateCompleted && wv.State == wave.Routed:
	case (info.State == asynq.TaskStatePending || info.State == asynq.TaskStateRetry || info.State == asynq.TaskStateScheduled) &&
		wv.State == wave.Picked:
	default:
		t.Fatalf("after SIGTERM the route task is %s and the wave %s: neither finished nor handed back", info.State, wv.State)
	}
	start := time.Now()
	startWorker(t, url, redisURL, "GROUPBUY_ROUTE_BUDGET=2s")
	deadline = time.Now().Add(60 * time.Second)
	for {
		w, err := wave.Get(ctx, a.db, waveID)
		if err != nil {
			t.Fatal(err)
		}
		if w.State == wave.Ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a new worker did not finish the wave: %s %+v", w.State, w.Stages)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("  a new worker took the wave to ready in %s", time.Since(start).Round(time.Millisecond))
}

// startServe runs this test binary as a `groupbuy serve` process on a free
// port and waits until /healthz answers 200. It returns the base URL, the
// address, the process and a channel that reports its exit.
func startServe(t testing.TB, dbURL, redisURL string, env ...string) (base, addr string, cmd *exec.Cmd, exited <-chan error) {
	t.Helper()
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	base = "http://" + addr
	cmd = exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), "GROUPBUY_TEST_SERVE_PROCESS=1", "DATABASE_URL="+dbURL, "REDIS_URL="+redisURL,
		"GROUPBUY_ADDR="+addr, "GROUPBUY_LOG_LEVEL=error", "GROUPBUY_WRITE_LIMIT=0", "GROUPBUY_DB_MAX_CONNS=10",
		"GROUPBUY_LABEL_KEY="+testLabelKey), env...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	if err := healthz.Wait(context.Background(), base, 20*time.Second, done); err != nil {
		t.Fatalf("serve did not come up: %v", err)
	}
	return base, addr, cmd, done
}
