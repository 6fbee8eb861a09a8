package main

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/httpx"
	"groupbuy/internal/jobs"
	"groupbuy/internal/metrics"
	"groupbuy/pickup/notify"
)

// queueSizesCacheFor bounds how often one process asks Redis for the queue
// sizes, however often it is scraped.
const queueSizesCacheFor = 5 * time.Second

// newMetrics makes the process's registry, watching the database pool and
// the asynq queues (through the app's Redis client, which the app closes),
// and the domain's counters registered on it.
func newMetrics(db *sqlx.DB, rdb redis.UniversalClient, log *slog.Logger) (*metrics.Registry, *domainMetrics) {
	m := metrics.New()
	m.WatchDB(db)
	m.WatchQueues(asynq.NewInspectorFromRedisClient(rdb), jobs.Queues, queueSizesCacheFor, log)
	return m, newDomainMetrics(m.Prometheus())
}

// domainMetrics counts the business events the domain packages report
// through their metrics interfaces (intake.Metrics, refund.Counter,
// night.StageMetrics, pickup.NoticeMetrics).
//
// Business counters (orders, refunds, notices) count events in this process
// since it started, incremented only after the transaction that wrote them
// committed (see pg.AfterCommit): the usual Prometheus counter, which
// survives restarts through rate() and increase() and sums across API and
// worker processes with sum(). They are not read from SQL at scrape time:
// every process would then report the same database-wide totals (double
// counted by sum()), and counting the ledgers of a long-running installation
// on every scrape is a table scan. Exact totals per day stay in the API.
type domainMetrics struct {
	stageDuration *prometheus.HistogramVec
	orders        prometheus.Counter
	orderLines    prometheus.Counter
	refunds       *prometheus.CounterVec
	refundUnits   *prometheus.CounterVec
	noticesQueued *prometheus.CounterVec
	noticesSent   *prometheus.CounterVec
}

func newDomainMetrics(reg prometheus.Registerer) *domainMetrics {
	m := &domainMetrics{}
	m.stageDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "groupbuy_wave_stage_duration_seconds",
		Help:    "Time of a wave stage that committed (close, purchase, allocate, pick, refund, route, ready), the route solver included.",
		Buckets: []float64{.01, .05, .1, .5, 1, 5, 10, 30, 60, 120, 300, 600}}, []string{"stage"})
	m.orders = prometheus.NewCounter(prometheus.CounterOpts{Name: "groupbuy_orders_placed_total",
		Help: "Orders placed (committed, replays not counted) by this process."})
	m.orderLines = prometheus.NewCounter(prometheus.CounterOpts{Name: "groupbuy_order_lines_placed_total",
		Help: "Order lines of the orders placed by this process."})
	m.refunds = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_refunds_total",
		Help: "Refund ledger rows committed by this process, by reason."}, []string{"reason"})
	m.refundUnits = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_refund_units_total",
		Help: "Units refunded by the refund rows committed by this process, by reason."}, []string{"reason"})
	m.noticesQueued = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_notices_queued_total",
		Help: "Notices to residents queued in the outbox (committed) by this process, by kind."}, []string{"kind"})
	m.noticesSent = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_notices_dispatched_total",
		Help: "Dispatch attempts recorded by this process, by channel (none unless sent), kind and outcome (sent, retry, deferred, failed)."},
		[]string{"channel", "kind", "outcome"})
	reg.MustRegister(m.stageDuration, m.orders, m.orderLines, m.refunds, m.refundUnits, m.noticesQueued, m.noticesSent)
	return m
}

// night is what the night's stages are given to count with.
func (m *domainMetrics) night() night.Metrics {
	return night.Metrics{Refunds: m, Stages: m, Notices: m}
}

// StageDone records a wave stage that committed and how long it took.
func (m *domainMetrics) StageDone(stage wave.Stage, took time.Duration) {
	m.stageDuration.WithLabelValues(string(stage)).Observe(took.Seconds())
}

// OrdersPlaced records committed new orders and their lines.
func (m *domainMetrics) OrdersPlaced(orders, lines int) {
	m.orders.Add(float64(orders))
	m.orderLines.Add(float64(lines))
}

// Refunded records committed refund rows of a reason and their units.
func (m *domainMetrics) Refunded(reason fulfillment.RefundReason, rows, units int64) {
	m.refunds.WithLabelValues(string(reason)).Add(float64(rows))
	m.refundUnits.WithLabelValues(string(reason)).Add(float64(units))
}

// NoticesQueued records notices of a kind committed to the outbox.
func (m *domainMetrics) NoticesQueued(kind notify.Kind, n int) {
	m.noticesQueued.WithLabelValues(string(kind)).Add(float64(n))
}

// NoticeDispatched records what became of one dispatch attempt, once it is
// recorded in the outbox: outcome sent (through channel), retry, deferred
// (quiet hours) or failed (given up).
func (m *domainMetrics) NoticeDispatched(channel string, kind notify.Kind, outcome string) {
	if channel == "" {
		channel = "none"
	}
	m.noticesSent.WithLabelValues(channel, string(kind), outcome).Inc()
}

// metricsRoutes serve GET /metrics on the API: to staff tokens
// (warehouse, ops, admin), or to anyone with GROUPBUY_METRICS_PUBLIC=1, for
// a Prometheus that scrapes without a token on a private network.
func (a *app) metricsRoutes() []api.Route {
	access := staffReads
	if a.cfg.MetricsPublic {
		access = public
	}
	// Built on first scrape: listing the routes needs no registry.
	handler := sync.OnceValue(func() http.Handler { return a.metrics.Handler() })
	return []api.Route{{Method: http.MethodGet, Path: "/metrics", Access: access, Hidden: true,
		Section: "Metrics (Prometheus text; no token with `GROUPBUY_METRICS_PUBLIC=1`)",
		Before:  []gin.HandlerFunc{httpx.QuietAccess},
		Handler: api.Raw(func(c *gin.Context) { handler().ServeHTTP(c.Writer, c.Request) })}}
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
	srv := newServer(mux) // idle connections closed, as the API's are
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
