package main

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/retention"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
)

const (
	taskHeartbeat = "system:heartbeat"
	heartbeatKey  = "groupbuy:worker:heartbeat"
	// jobRelayEvery is how often every API and worker process relays the
	// job outbox: the longest a job waits after Redis comes back.
	jobRelayEvery = time.Second
)

// workerOptions tune the schedule; tests shorten it.
type workerOptions struct {
	sweepEvery   time.Duration // the safety-net sweep for waves past cutoff
	syncInterval time.Duration // how often the schedule re-reads the warehouses
	// dispatchEvery is how often the outbox dispatcher starts (default 5 s).
	dispatchEvery time.Duration
}

// worker is the asynq server and scheduler of one process. Every worker
// process runs a scheduler; the tasks it sends are deduplicated by task ID
// and their handlers check state in PostgreSQL, so the copies are harmless.
type worker struct {
	servers   []*asynq.Server // the short queues' and the route stage's (jobs.NewServers)
	scheduler *asynq.PeriodicTaskManager
	mux       *asynq.ServeMux
	jobs      *jobs.Outbox
}

func newWorker(a *app, opt workerOptions) (*worker, error) {
	if opt.sweepEvery <= 0 {
		opt.sweepEvery = max(a.cfg.SweepEvery, time.Second)
	}
	if opt.syncInterval <= 0 {
		opt.syncInterval = time.Minute
	}
	if opt.dispatchEvery <= 0 {
		opt.dispatchEvery = 5 * time.Second
	}
	logger := asynqLogger{a.log.With("component", "asynq")}
	mgr, err := asynq.NewPeriodicTaskManager(asynq.PeriodicTaskManagerOpts{
		RedisConnOpt:               a.redis,
		PeriodicTaskConfigProvider: &schedule{a: a, sweepEvery: opt.sweepEvery, dispatchEvery: opt.dispatchEvery},
		SyncInterval:               opt.syncInterval,
		SchedulerOpts:              &asynq.SchedulerOpts{Location: time.UTC, Logger: logger},
	})
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	w := &worker{
		servers: jobs.NewServers(a.redis, jobs.ServerOptions{Concurrency: a.cfg.WorkerConcurrency, RouteSolves: a.cfg.RouteSolves,
			Logger: logger, ShutdownTimeout: 25 * time.Second, RetryDelay: night.RetryDelay}),
		scheduler: mgr,
		mux:       asynq.NewServeMux(),
		jobs:      a.jobs,
	}
	// Each task's context carries the request ID that started it and its
	// type and ID into the log; each is counted and timed (metrics.go).
	w.mux.Use(jobs.TaskContext(a.log), a.metrics.Tasks())
	w.mux.HandleFunc(taskHeartbeat, heartbeatHandler(a.rdb, a.clock))
	a.waves.Register(w.mux)
	a.supply.Register(w.mux)
	a.desk.Register(w.mux)
	a.notices.Register(w.mux)
	a.payments.Register(w.mux)
	a.retention.Register(w.mux)
	return w, nil
}

// schedule lists the periodic tasks: the heartbeat, a sweep for waves past
// cutoff every minute, and one sweep per warehouse at its own cutoff in its
// own time zone (cron's CRON_TZ), re-read as warehouses come and go.
type schedule struct {
	a             *app
	sweepEvery    time.Duration
	dispatchEvery time.Duration
}

func (s *schedule) GetConfigs() ([]*asynq.PeriodicTaskConfig, error) {
	configs := []*asynq.PeriodicTaskConfig{
		{Cronspec: "@every 1m", Task: asynq.NewTask(taskHeartbeat, nil), Opts: []asynq.Option{asynq.MaxRetry(0), asynq.Unique(50 * time.Second)}},
		{Cronspec: "@every " + s.sweepEvery.String(), Task: night.NewSweepTask(0), Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(s.sweepEvery)}},
		// Notices go out within seconds of being queued; a dispatch runs until
		// nothing is due, and copies in other workers claim other rows.
		{Cronspec: "@every " + s.dispatchEvery.String(), Task: asynq.NewTask(notice.TaskDispatchNotices, nil),
			Opts: []asynq.Option{asynq.MaxRetry(0), asynq.Unique(s.dispatchEvery), asynq.Timeout(10 * time.Minute)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(supply.TaskExpireLots, nil), Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(50 * time.Minute)}},
		{Cronspec: "@every 5m", Task: asynq.NewTask(lastmile.TaskParcelSweep, nil), Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(4 * time.Minute)}},
		{Cronspec: "@every 5m", Task: refund.NewResendTask(s.a.cfg.RefundResendAfter), Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(4 * time.Minute), asynq.Timeout(10 * time.Minute)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(retention.TaskEnsurePartitions, nil), Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(50 * time.Minute)}},
		{Cronspec: "@every 1h", Task: asynq.NewTask(retention.TaskArchive, nil),
			Opts: []asynq.Option{asynq.MaxRetry(3), asynq.Unique(50 * time.Minute), asynq.Timeout(time.Hour)}},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	warehouses, err := pickup.ListWarehouses(ctx, s.a.db)
	if err != nil {
		return nil, err
	}
	for _, w := range warehouses {
		hh, mm := w.CutoffLocal.Clock()
		configs = append(configs, &asynq.PeriodicTaskConfig{
			Cronspec: fmt.Sprintf("CRON_TZ=%s %d %d * * *", w.TimeZone, mm, hh),
			Task:     night.NewSweepTask(w.ID),
			Opts:     []asynq.Option{asynq.MaxRetry(5), asynq.Unique(time.Minute)},
		})
	}
	return configs, nil
}

// heartbeatHandler records when a worker last ran a task, which /healthz shows.
func heartbeatHandler(rdb redis.UniversalClient, clock clock.Clock) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		return rdb.Set(ctx, heartbeatKey, clock.Now().Format(time.RFC3339), 0).Err()
	}
}

// run processes tasks until ctx ends; running tasks finish or go back to the
// queue (asynq waits up to its ShutdownTimeout, then re-queues what still
// runs). It also relays the job outbox, so jobs that could not be enqueued
// while Redis was down go out when it returns.
func (w *worker) run(ctx context.Context) error {
	w.jobs.Start(jobRelayEvery)
	// At once: each waits up to its ShutdownTimeout for its running tasks.
	shutdown := func(servers []*asynq.Server) {
		var wg sync.WaitGroup
		for _, s := range servers {
			wg.Go(s.Shutdown)
		}
		wg.Wait()
	}
	for i, s := range w.servers {
		if err := s.Start(w.mux); err != nil {
			shutdown(w.servers[:i])
			return fmt.Errorf("asynq server: %w", err)
		}
	}
	if err := w.scheduler.Start(); err != nil {
		shutdown(w.servers)
		return fmt.Errorf("asynq scheduler: %w", err)
	}
	<-ctx.Done()
	w.scheduler.Shutdown()
	shutdown(w.servers)
	return nil
}

func runWorker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log, clock.System{})
	if err != nil {
		return err
	}
	defer a.close()
	w, err := newWorker(a, workerOptions{})
	if err != nil {
		return err
	}
	if cfg.MetricsAddr != "" {
		if _, err := serveWorkerMetrics(ctx, cfg.MetricsAddr, a.metrics, log); err != nil {
			return err
		}
	}
	log.Info("worker started")
	return w.run(ctx)
}

// asynqLogger routes asynq's logs into slog.
type asynqLogger struct{ l *slog.Logger }

func (g asynqLogger) Debug(args ...any) { g.l.Debug(fmt.Sprint(args...)) }
func (g asynqLogger) Info(args ...any)  { g.l.Info(fmt.Sprint(args...)) }
func (g asynqLogger) Warn(args ...any)  { g.l.Warn(fmt.Sprint(args...)) }
func (g asynqLogger) Error(args ...any) { g.l.Error(fmt.Sprint(args...)) }
func (g asynqLogger) Fatal(args ...any) { g.l.Error(fmt.Sprint(args...)) }
