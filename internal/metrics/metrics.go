// Package metrics is a process's Prometheus registry: the HTTP and asynq
// task middlewares that count and time requests and tasks, and collectors
// for the database pool and the asynq queues.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is one process's Prometheus registry and the series groupbuy
// records into it. There is no global registry: every app (tests run several
// in one process) makes its own and hands it to what records. A nil
// *Registry records nothing, so code built without one (tests, tools) needs
// no checks.
//
// Business counters (orders, refunds, notices) count events in this process
// since it started, incremented only after the transaction that wrote them
// committed (see AfterCommit): the usual Prometheus counter, which survives
// restarts through rate() and increase() and sums across API and worker
// processes with sum(). They are not read from SQL at scrape time: every
// process would then report the same database-wide totals (double counted
// by sum()), and counting the ledgers of a long-running installation on
// every scrape is a table scan. Exact totals per day stay in the API.
type Registry struct {
	reg *prometheus.Registry

	httpRequests  *prometheus.CounterVec
	httpDuration  *prometheus.HistogramVec
	tasks         *prometheus.CounterVec
	taskDuration  *prometheus.HistogramVec
	stageDuration *prometheus.HistogramVec
	orders        prometheus.Counter
	orderLines    prometheus.Counter
	refunds       *prometheus.CounterVec
	refundUnits   *prometheus.CounterVec
	noticesQueued *prometheus.CounterVec
	noticesSent   *prometheus.CounterVec
}

// New returns a registry with groupbuy's series and the Go runtime
// and process collectors.
func New() *Registry {
	reg := prometheus.NewRegistry()
	f := func(c prometheus.Collector) { reg.MustRegister(c) }
	m := &Registry{reg: reg}
	m.httpRequests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_http_requests_total",
		Help: "HTTP requests answered, by method, route pattern (unmatched: no route) and status."}, []string{"method", "route", "status"})
	m.httpDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "groupbuy_http_request_duration_seconds",
		Help: "HTTP request latency by method and route pattern.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}},
		[]string{"method", "route"})
	m.tasks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "groupbuy_tasks_total",
		Help: "asynq tasks processed by this worker, by type and outcome (success, failure)."}, []string{"type", "outcome"})
	m.taskDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "groupbuy_task_duration_seconds",
		Help: "asynq task processing time by type.", Buckets: []float64{.005, .025, .1, .25, 1, 2.5, 10, 30, 60, 180, 600}}, []string{"type"})
	m.stageDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "groupbuy_wave_stage_duration_seconds",
		Help:    "Time of a wave stage that committed (close, allocate, pick, route, ready), the route solver included.",
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
	for _, c := range []prometheus.Collector{m.httpRequests, m.httpDuration, m.tasks, m.taskDuration, m.stageDuration,
		m.orders, m.orderLines, m.refunds, m.refundUnits, m.noticesQueued, m.noticesSent,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})} {
		f(c)
	}
	return m
}

// Prometheus returns the process's Prometheus registry, for tests and extra
// collectors.
func (m *Registry) Prometheus() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Registry) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
}

// HTTP returns gin middleware counting requests and timing them by route
// pattern (c.FullPath()), never the raw path: ids in paths, and scanners
// probing paths that do not exist (route "unmatched"), cannot grow the
// number of series.
func (m *Registry) HTTP() gin.HandlerFunc {
	return func(c *gin.Context) {
		if m == nil {
			c.Next()
			return
		}
		start := time.Now()
		c.Request = c.Request.WithContext(With(c.Request.Context(), m))
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		method := c.Request.Method
		switch method {
		case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		default:
			method = "other" // methods are the client's to invent
		}
		m.httpRequests.WithLabelValues(method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.httpDuration.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
	}
}

// WatchDB adds the connection pool of db, read at scrape time: go_sql_*
// series (open, in use and idle connections, waits and their duration)
// with db_name="groupbuy".
func (m *Registry) WatchDB(db *sqlx.DB) {
	if m == nil || db == nil {
		return
	}
	m.reg.MustRegister(collectors.NewDBStatsCollector(db.DB, "groupbuy"))
}

// WatchQueues adds the asynq queue sizes, read through insp when scraped
// and cached for cacheFor (every API and worker process may be scraped;
// Redis is asked at most once per cacheFor by each). queues are always
// reported, even before their first task; others Redis knows are added.
func (m *Registry) WatchQueues(insp *asynq.Inspector, queues []string, cacheFor time.Duration, log *slog.Logger) {
	if m == nil || insp == nil {
		return
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m.reg.MustRegister(&queueCollector{insp: insp, queues: queues, cacheFor: cacheFor, log: log,
		size: prometheus.NewDesc("groupbuy_asynq_queue_tasks", "Tasks in an asynq queue by state (pending, active, scheduled, retry, archived, completed, aggregating).",
			[]string{"queue", "state"}, nil),
		latency: prometheus.NewDesc("groupbuy_asynq_queue_latency_seconds", "Age of the oldest pending task of an asynq queue.",
			[]string{"queue"}, nil),
		up: prometheus.NewDesc("groupbuy_asynq_up", "1 when the queue sizes could be read from Redis at the last look.", nil, nil),
	})
}

type queueCollector struct {
	insp     *asynq.Inspector
	queues   []string
	cacheFor time.Duration
	log      *slog.Logger

	size, latency, up *prometheus.Desc

	mu      sync.Mutex
	at      time.Time
	infos   []*asynq.QueueInfo
	healthy bool
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.size
	ch <- q.latency
	ch <- q.up
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	q.mu.Lock()
	if q.at.IsZero() || time.Since(q.at) >= q.cacheFor {
		q.infos, q.healthy = q.read()
		q.at = time.Now()
	}
	infos, healthy := q.infos, q.healthy
	q.mu.Unlock()
	up := 0.0
	if healthy {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, up)
	for _, in := range infos {
		for state, n := range map[string]int{"pending": in.Pending, "active": in.Active, "scheduled": in.Scheduled, "retry": in.Retry,
			"archived": in.Archived, "completed": in.Completed, "aggregating": in.Aggregating} {
			ch <- prometheus.MustNewConstMetric(q.size, prometheus.GaugeValue, float64(n), in.Queue, state)
		}
		ch <- prometheus.MustNewConstMetric(q.latency, prometheus.GaugeValue, in.Latency.Seconds(), in.Queue)
	}
}

// read asks Redis for every queue's counts; a queue with no task yet
// counts zero.
func (q *queueCollector) read() ([]*asynq.QueueInfo, bool) {
	names, err := q.insp.Queues()
	if err != nil {
		q.log.Warn("metrics: asynq queues", "err", err)
		return nil, false
	}
	known := slices.Clone(names)
	for _, n := range q.queues {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	var out []*asynq.QueueInfo
	for _, n := range names {
		if !slices.Contains(known, n) {
			out = append(out, &asynq.QueueInfo{Queue: n}) // no task yet; Redis would say "not found"
			continue
		}
		in, err := q.insp.GetQueueInfo(n)
		if err != nil {
			q.log.Warn("metrics: asynq queue", "queue", n, "err", err)
			return out, false
		}
		out = append(out, in)
	}
	return out, true
}

// Tasks returns asynq server middleware counting tasks by type and outcome
// and timing them. A task that fails and is retried counts once per attempt.
func (m *Registry) Tasks() asynq.MiddlewareFunc {
	return func(h asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			if m == nil {
				return h.ProcessTask(ctx, t)
			}
			start := time.Now()
			err := h.ProcessTask(With(ctx, m), t)
			outcome := "success"
			if err != nil {
				outcome = "failure"
			}
			m.tasks.WithLabelValues(t.Type(), outcome).Inc()
			m.taskDuration.WithLabelValues(t.Type()).Observe(time.Since(start).Seconds())
			return err
		})
	}
}

// StageDone records a wave stage that committed and how long it took.
func (m *Registry) StageDone(stage string, d time.Duration) {
	if m != nil {
		m.stageDuration.WithLabelValues(stage).Observe(d.Seconds())
	}
}

// OrdersPlaced records committed new orders and their lines.
func (m *Registry) OrdersPlaced(orders, lines int) {
	if m != nil {
		m.orders.Add(float64(orders))
		m.orderLines.Add(float64(lines))
	}
}

// Refunded records committed refund rows of a reason and their units.
func (m *Registry) Refunded(reason string, rows, units int64) {
	if m != nil {
		m.refunds.WithLabelValues(reason).Add(float64(rows))
		m.refundUnits.WithLabelValues(reason).Add(float64(units))
	}
}

// NoticesQueued records notices of a kind committed to the outbox.
func (m *Registry) NoticesQueued(kind string, n int) {
	if m != nil {
		m.noticesQueued.WithLabelValues(kind).Add(float64(n))
	}
}

// NoticeDispatched records what became of one dispatch attempt, once it is
// recorded in the outbox: outcome sent (through channel), retry, deferred
// (quiet hours) or failed (given up).
func (m *Registry) NoticeDispatched(channel, kind, outcome string) {
	if m != nil {
		if channel == "" {
			channel = "none"
		}
		m.noticesSent.WithLabelValues(channel, kind, outcome).Inc()
	}
}

type metricsKey struct{}

// WithMetrics returns ctx carrying m, for code that records events deep in
// a command's transaction (refund and notice rows) without a *Registry of
// its own. The HTTP middleware and the task middleware put it there.
func With(ctx context.Context, m *Registry) context.Context {
	if m == nil {
		return ctx
	}
	return context.WithValue(ctx, metricsKey{}, m)
}

// MetricsFrom returns the *Metrics ctx carries, or nil (which records nothing).
func From(ctx context.Context) *Registry {
	m, _ := ctx.Value(metricsKey{}).(*Registry)
	return m
}
