package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/platform"
)

const (
	taskHeartbeat = "system:heartbeat"
	heartbeatKey  = "groupbuy:worker:heartbeat"
)

// worker is the asynq server and scheduler of one process. Every worker
// process runs a scheduler; periodic tasks carry task IDs and handlers check
// state, so the duplicates are harmless.
type worker struct {
	server    *asynq.Server
	scheduler *asynq.Scheduler
	mux       *asynq.ServeMux
}

func newWorker(a *app) (*worker, error) {
	logger := asynqLogger{a.log.With("component", "asynq")}
	w := &worker{
		server: asynq.NewServer(a.redis, asynq.Config{
			Concurrency:     8,
			Queues:          map[string]int{"critical": 6, "default": 3, "low": 1},
			Logger:          logger,
			ShutdownTimeout: 25 * time.Second,
		}),
		scheduler: asynq.NewScheduler(a.redis, &asynq.SchedulerOpts{Location: time.UTC, Logger: logger}),
		mux:       asynq.NewServeMux(),
	}
	w.mux.HandleFunc(taskHeartbeat, heartbeatHandler(a.rdb, a.clock))
	if _, err := w.scheduler.Register("@every 1m", asynq.NewTask(taskHeartbeat, nil),
		asynq.Unique(50*time.Second), asynq.MaxRetry(0)); err != nil {
		return nil, fmt.Errorf("schedule heartbeat: %w", err)
	}
	return w, nil
}

// heartbeatHandler records when a worker last ran a task, which /healthz shows.
func heartbeatHandler(rdb redis.UniversalClient, clock platform.Clock) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		return rdb.Set(ctx, heartbeatKey, clock.Now().Format(time.RFC3339), 0).Err()
	}
}

// run processes tasks until ctx ends; running tasks finish or go back to the queue.
func (w *worker) run(ctx context.Context) error {
	if err := w.server.Start(w.mux); err != nil {
		return fmt.Errorf("asynq server: %w", err)
	}
	if err := w.scheduler.Start(); err != nil {
		w.server.Shutdown()
		return fmt.Errorf("asynq scheduler: %w", err)
	}
	<-ctx.Done()
	w.scheduler.Shutdown()
	w.server.Shutdown()
	return nil
}

func runWorker(ctx context.Context, cfg platform.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log, platform.SystemClock{})
	if err != nil {
		return err
	}
	defer a.close()
	w, err := newWorker(a)
	if err != nil {
		return err
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
