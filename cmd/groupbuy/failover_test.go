package main

// Failover tests: the night and order intake go on when the Redis primary
// or the PostgreSQL primary dies and its replica or standby takes over.
// Each logs its figures (t.Logf) for docs/reliability.md.

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/localserver"
	"groupbuy/internal/testenv"
)

// TestNightSurvivesRedisFailover runs a night against a Sentinel group (a
// primary, a replica, three sentinels) through REDIS_URL=redis-sentinel://…
// and SIGKILLs the primary in the middle of it. The replica follows the
// primary through a link the test freezes while the pick stage runs, so the
// route job the stage starts as it commits reaches the primary alone and is
// lost with it. The job outbox keeps that job pending, unconfirmed by a
// replica, and enqueues it again once the replica is promoted. The wave gets
// to ready with every stage run once, no job left pending and every notice
// sent once.
func TestNightSurvivesRedisFailover(t *testing.T) {
	ctx := context.Background()
	const secret = "failover-test-webhook-secret"
	begin := time.Now()
	g, err := localserver.StartSentinelGroup(ctx, t.TempDir(), nil, localserver.SentinelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(context.Background()) })
	groupUp := time.Since(begin)
	link := followThroughLink(t, g.Replicas[0], g.Primary)

	// Every 10th SKU one short: a few refunds, each with its notice.
	n := newSimNight(t, g.URL(), 60_000, "CASE WHEN id % 10 = 0 THEN sold - 1 ELSE sold END")
	var warehouseID int64
	if err := n.app.db.Get(&warehouseID, `SELECT warehouse_id FROM waves WHERE id = $1`, n.waveID); err != nil {
		t.Fatal(err)
	}
	if err := demo.SeedFleet(ctx, n.app.fleet, warehouseID); err != nil {
		t.Fatal(err)
	}
	rc := webhook.NewReceiver(secret)
	hook, closeHook, err := webhook.Serve(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeHook)
	startWorker(t, n.url, g.URL(), webhook.WorkerEnv(hook, secret, 5*time.Second)...)
	// The pick stage's writes wait for this lock, so the link is frozen
	// before its commit queues the route task, however loaded the machine.
	hold, err := n.app.db.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(ctx, `LOCK TABLE sort_lines IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	closedAt := time.Now()
	if _, err := n.app.waves.Close(ctx, n.waveID, true); err != nil {
		t.Fatal(err)
	}

	// The pick stage runs: the replica stops hearing from the primary.
	stage := func(st wave.Stage) (rec wave.StageRecord) {
		t.Helper()
		w, err := wave.Get(ctx, n.app.db, n.waveID)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range w.Stages {
			if r.Stage == st {
				rec = r
			}
		}
		return rec
	}
	deadline := time.Now().Add(60 * time.Second)
	for stage(wave.StagePick).StartedAt == nil {
		if time.Now().After(deadline) {
			t.Fatal("the pick stage never started")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if stage(wave.StagePick).FinishedAt != nil {
		t.Fatal("the pick stage finished before the replication link could be frozen")
	}
	link.freeze()
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	for stage(wave.StagePick).FinishedAt == nil {
		if time.Now().After(deadline) {
			t.Fatal("the pick stage never finished")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The primary has the route task the commit started, the replica not:
	// the primary dies before a worker is likely to take it.
	routeTask := fmt.Sprintf("wave:route:%d", n.waveID)
	has := func(s *localserver.Server) bool {
		c := redis.NewClient(&redis.Options{Addr: s.Addr()})
		defer c.Close()
		k, err := c.Exists(ctx, "asynq:{"+jobs.QueueRoute+"}:t:"+routeTask).Result()
		return err == nil && k == 1
	}
	for !has(g.Primary) {
		if time.Now().After(deadline) {
			t.Fatal("the route task never reached the primary")
		}
		time.Sleep(time.Millisecond)
	}
	if has(g.Replicas[0]) {
		t.Fatal("the route task reached the replica through the frozen link")
	}
	killedAt := time.Now()
	if err := g.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	var unconfirmed int
	if err := n.app.db.Get(&unconfirmed, `SELECT count(*) FROM jobs WHERE task_id = $1 AND enqueued_at IS NULL`, routeTask); err != nil {
		t.Fatal(err)
	}
	if unconfirmed != 1 {
		t.Fatalf("the route job is not waiting in the outbox though no replica has it (%d rows)", unconfirmed)
	}
	promoted, err := g.WaitFailover(ctx, g.Primary, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	promotedAt := time.Now()
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		var rows []struct {
			TaskID   string     `db:"task_id"`
			Enqueued *time.Time `db:"enqueued_at"`
		}
		_ = n.app.db.Select(&rows, `SELECT task_id, enqueued_at FROM jobs ORDER BY id`)
		for _, r := range rows {
			t.Logf("job %s enqueued %v", r.TaskID, r.Enqueued)
		}
		insp := asynq.NewInspector(n.app.redis)
		for _, q := range jobs.Queues {
			info, err := insp.GetQueueInfo(q)
			t.Logf("queue %s: %+v %v", q, info, err)
			for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){insp.ListPendingTasks, insp.ListActiveTasks, insp.ListRetryTasks, insp.ListCompletedTasks} {
				ts, _ := list(q)
				for _, ti := range ts {
					t.Logf("  %s %s %s", ti.ID, ti.State, ti.LastErr)
				}
			}
		}
	})
	waitState(t, n, wave.Ready, 60*time.Second)
	readyAt := time.Now()
	var routeMarked time.Time
	if err := n.app.db.Get(&routeMarked, `SELECT enqueued_at FROM jobs WHERE task_id = $1`, routeTask); err != nil {
		t.Fatal(err)
	}

	// Every stage ran once; every job went out; the notices once each.
	w, err := wave.Get(ctx, n.app.db, n.waveID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.Stages {
		if r.Attempts != 1 || r.LastError != "" || r.FinishedAt == nil {
			t.Errorf("stage %s: %d attempts, finished %v, last error %q; want one clean run", r.Stage, r.Attempts, r.FinishedAt != nil, r.LastError)
		}
	}
	if len(w.Stages) != len(wave.Stages) {
		t.Fatalf("%d stages recorded, want %d: %+v", len(w.Stages), len(wave.Stages), w.Stages)
	}
	var jobs struct {
		All     int `db:"all"`
		Pending int `db:"pending"`
	}
	if err := n.app.db.Get(&jobs, `SELECT count(*) AS all, count(*) FILTER (WHERE enqueued_at IS NULL) AS pending FROM jobs`); err != nil {
		t.Fatal(err)
	}
	var notices int
	deadline = time.Now().Add(30 * time.Second)
	for {
		var unsent int
		if err := n.app.db.QueryRow(`SELECT count(*) FILTER (WHERE sent_at IS NULL), count(*) FROM outbox`).Scan(&unsent, &notices); err != nil {
			t.Fatal(err)
		}
		if distinct, _, _ := rc.Stats(); unsent == 0 && distinct == notices {
			break
		}
		if time.Now().After(deadline) {
			distinct, requests, _ := rc.Stats()
			t.Fatalf("notices: %d in the outbox, %d unsent, %d received (%d requests)", notices, unsent, distinct, requests)
		}
		time.Sleep(50 * time.Millisecond)
	}
	distinct, requests, bad := rc.Stats()
	pick, route := stage(wave.StagePick), stage(wave.StageRoute)
	t.Logf("Redis failover mid-night: Sentinel group up in %s; 60,000 lines; primary SIGKILLed %s after the close, %s after the pick stage committed with the replication link frozen",
		groupUp.Round(time.Millisecond), killedAt.Sub(closedAt).Round(time.Millisecond), killedAt.Sub(*pick.FinishedAt).Round(time.Millisecond))
	t.Logf("  replica %s promoted (seen by the test) %s after the kill; the route job, held in the outbox unconfirmed, marked enqueued %s after the kill; the night paused %s (pick committed to route started); wave ready %s after the kill",
		promoted.Addr(), promotedAt.Sub(killedAt).Round(time.Millisecond), routeMarked.Sub(killedAt).Round(time.Millisecond),
		route.StartedAt.Sub(*pick.FinishedAt).Round(time.Millisecond), readyAt.Sub(killedAt).Round(time.Millisecond))
	t.Logf("  every stage 1 attempt; %d jobs, %d pending; %d notices sent, %d received in %d requests, %d badly signed", jobs.All, jobs.Pending, notices, distinct, requests, bad)
	if !routeMarked.After(killedAt) {
		t.Fatalf("the route job was marked enqueued at %s, before the kill at %s, though no replica had confirmed it", routeMarked, killedAt)
	}
	if jobs.Pending != 0 {
		t.Fatalf("%d jobs left pending", jobs.Pending)
	}
	if requests != distinct || bad != 0 {
		t.Fatalf("notices sent twice: %d requests for %d notices (%d bad)", requests, distinct, bad)
	}
}

// TestIntakeSurvivesPostgresFailover runs `groupbuy serve` against a
// primary and its synchronous standby, named together in DATABASE_URL with
// target_session_attrs=read-write (lib/pq tries the hosts in order and
// keeps the one that takes writes). 16 clients place orders; the primary is
// SIGKILLed with its backends, the standby promoted a second later, and the
// clients go on. Every order answered 201 is in the promoted database with
// its lines (a commit returns only once the standby has flushed it); every
// order answered 503 succeeds when retried under its key; then the night
// runs to ready against the promoted server.
func TestIntakeSurvivesPostgresFailover(t *testing.T) {
	ctx := context.Background()
	dir := testenv.ServerDir(t)
	opts := []localserver.PostgresOption{localserver.WithPostgresNoSync(), localserver.WithPostgresSetting("synchronous_commit", "on"),
		localserver.WithPostgresSetting("max_connections", "60"), localserver.WithPostgresSetting("shared_buffers", "32MB"),
		localserver.WithPostgresSetting("max_wal_size", "256MB")}
	begin := time.Now()
	primary, err := localserver.StartPostgres(ctx, filepath.Join(dir, "primary"), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.Background()) })
	standby, err := localserver.StartPostgres(ctx, filepath.Join(dir, "standby"), nil, append(opts, localserver.WithPostgresStandbyOf(primary))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop(context.Background()) })
	setup := time.Since(begin)
	dbURL := fmt.Sprintf("postgres://postgres@/groupbuy?host=127.0.0.1,127.0.0.1&port=%d,%d&target_session_attrs=read-write&sslmode=disable&connect_timeout=2",
		primary.Port, standby.Port)
	redisURL := testenv.Redis(t)
	a, err := newApp(ctx, config.Config{DatabaseURL: dbURL, RedisURL: redisURL, DBMaxConns: 5, RouteBudget: 2 * time.Second}, faultLog(t), clock.System{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	if err := a.migrate(ctx); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	date := fulfillment.Date{Time: time.Date(now.Year(), now.Month(), now.Day()+3, 0, 0, 0, 0, time.UTC)}
	c := buildCity(t, a, clock.System{}, date, 32, fulfillment.MaxStockCap)
	if err := demo.SeedFleet(ctx, a.fleet, c.warehous.ID); err != nil {
		t.Fatal(err)
	}
	base, _, _, _ := startServe(t, dbURL, redisURL)

	const clients = 16
	d := driveFaultOrders(base, c.leaders, c.items, clients, "pgfo", 20*time.Millisecond, nil)
	time.Sleep(1500 * time.Millisecond)
	killedAt := time.Now()
	if err := primary.Kill(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // what an operator's or a manager's detection takes, at the least
	promoteAt := time.Now()
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	promotedAt := time.Now()
	time.Sleep(2 * time.Second)
	shots := d.finish()

	before, during, after := phases(shots, killedAt, promotedAt)
	all, tb, td, ta := tallyShots(shots), tallyShots(before), tallyShots(during), tallyShots(after)
	var firstBack, first503, last503 time.Time
	for _, s := range shots {
		if s.status == http.StatusCreated && s.start.After(promotedAt) && (firstBack.IsZero() || s.end.Before(firstBack)) {
			firstBack = s.end
		}
		if s.status == http.StatusServiceUnavailable && s.retry == "" {
			t.Errorf("503 without Retry-After: %+v", s)
		}
		if s.status == http.StatusServiceUnavailable && (first503.IsZero() || s.end.Before(first503)) {
			first503 = s.end
		}
		if s.status == http.StatusServiceUnavailable && s.end.After(last503) {
			last503 = s.end
		}
	}
	t.Logf("PostgreSQL failover during intake: %d clients; primary and synchronous standby up in %s; primary SIGKILLed, standby promoted %s later (pg_ctl promote %s)",
		clients, setup.Round(time.Millisecond), promoteAt.Sub(killedAt).Round(time.Millisecond), promotedAt.Sub(promoteAt).Round(time.Millisecond))
	t.Logf("  requests sent %d: 201 %d, 503 %d, other statuses %d %v, transport errors %d", all.sent, all.created, all.unavailable, all.other, all.otherStatuses, all.transport)
	t.Logf("  sent before the kill: %d, %d 201, %d 503; until promoted: %d, %d 201, %d 503; after: %d, %d 201, %d 503",
		tb.sent, tb.created, tb.unavailable, td.sent, td.created, td.unavailable, ta.sent, ta.created, ta.unavailable)
	t.Logf("  503s answered from %s to %s after the kill; the first order sent after the promotion answered 201 %s after it",
		first503.Sub(killedAt).Round(time.Millisecond), last503.Sub(killedAt).Round(time.Millisecond), firstBack.Sub(promotedAt).Round(time.Millisecond))
	if all.other != 0 || all.transport != 0 {
		t.Fatalf("want only 201 and 503: %d other statuses %v, %d transport errors (first: %v)", all.other, all.otherStatuses, all.transport, all.firstErr)
	}
	if tb.created == 0 || td.unavailable == 0 || ta.created == 0 {
		t.Fatalf("the failover did not show: 201 before %d, 503 until promoted %d, 201 after %d", tb.created, td.unavailable, ta.created)
	}

	// Every 503 retried under its key; every order answered 201 is there.
	retried, replayed, placed, keys := retryAndCheckOrders(t, a.db, base, c.leaders, shots)

	// The night, on the promoted server.
	var waveID int64
	if err := a.db.Get(&waveID, `SELECT id FROM waves WHERE delivery_date = $1`, date); err != nil {
		t.Fatal(err)
	}
	nightAt := time.Now()
	startWorker(t, dbURL, redisURL)
	if _, err := a.waves.Close(ctx, waveID, true); err != nil {
		t.Fatal(err)
	}
	receiveAllSold(t, a, waveID, wave.SpreadEvenly, "failover test")
	waitState(t, &crashNight{app: a, waveID: waveID}, wave.Ready, 60*time.Second)
	t.Logf("  orders lost 0: all %d answered 201 are in the promoted database with their lines; %d answered 503 retried under their keys, %d of them replays (200) of an order that had committed, on the standby too, as the primary died; %d orders for %d keys; the night ran to ready on the promoted server in %s",
		all.created, retried, replayed, placed, keys, time.Since(nightAt).Round(time.Millisecond))
}

// replicationLink carries a replica's replication stream from its primary
// and can freeze it: from then on the primary's writes never reach the
// replica, as in a partition just before the primary dies, while the
// replica's acknowledgements still reach the primary, which counts it as
// connected.
type replicationLink struct {
	frozen atomic.Bool
}

// followThroughLink makes replica follow primary through a new link.
func followThroughLink(t *testing.T, replica, primary *localserver.Server) *replicationLink {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	link := &replicationLink{}
	go func() {
		for {
			down, err := l.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", primary.Addr())
			if err != nil {
				down.Close()
				continue
			}
			go func() { _, _ = io.Copy(up, down); up.Close() }()
			go func() {
				defer down.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := up.Read(buf)
					if n > 0 && !link.frozen.Load() {
						if _, err := down.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	ctx := context.Background()
	c := redis.NewClient(&redis.Options{Addr: replica.Addr()})
	defer c.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if err := c.Do(ctx, "REPLICAOF", "127.0.0.1", port).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && strings.Contains(info, fmt.Sprintf("master_port:%d", port)) && strings.Contains(info, "master_link_status:up") {
			return link
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica did not follow the primary through the link: %v\n%s", err, info)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *replicationLink) freeze() { l.frozen.Store(true) }
