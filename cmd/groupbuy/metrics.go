package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
	"groupbuy/internal/metrics"
)

// queueSizesCacheFor bounds how often one process asks Redis for the queue
// sizes, however often it is scraped.
const queueSizesCacheFor = 5 * time.Second

// newMetrics makes the process's registry, watching the database pool and
// the asynq queues (through the app's Redis client, which the app closes).
func newMetrics(db *sqlx.DB, rdb redis.UniversalClient, log *slog.Logger) *metrics.Registry {
	m := metrics.New()
	m.WatchDB(db)
	m.WatchQueues(asynq.NewInspectorFromRedisClient(rdb), []string{"critical", "default", "low"}, queueSizesCacheFor, log)
	return m
}

// registerMetrics serves GET /metrics on the API: to staff tokens
// (warehouse, ops, admin), or to anyone with GROUPBUY_METRICS_PUBLIC=1, for
// a Prometheus that scrapes without a token on a private network.
func (a *app) registerMetrics(r gin.IRouter) {
	h := gin.WrapH(a.metrics.Handler())
	if a.cfg.MetricsPublic {
		r.GET("/metrics", httpx.QuietAccess, h)
		return
	}
	r.GET("/metrics", httpx.QuietAccess, a.auth.Require(auth.RoleWarehouse, auth.RoleOps), h)
}

// serveWorkerMetrics serves /metrics of a worker process on addr without a
// token (GROUPBUY_METRICS_ADDR: bind it to a private address) until ctx
// ends. It returns once listening, or the listen error.
func serveWorkerMetrics(ctx context.Context, addr string, m *metrics.Registry, log *slog.Logger) (net.Addr, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
			log.Error("metrics listener", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdownCtx)
	}()
	log.Info("worker metrics listening", "addr", l.Addr().String())
	return l.Addr(), nil
}
