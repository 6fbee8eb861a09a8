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

// Registry is one process's Prometheus registry and the series of its
// plumbing: HTTP requests, asynq tasks, the database pool and the queues.
// There is no global registry: every app (tests run several in one process)
// makes its own and hands it to what records; the domain's counters are
// registered on it by cmd/groupbuy. A nil *Registry records nothing, so
// code built without one (tests, tools) needs no checks.
type Registry struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	tasks        *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec
}

// New returns a registry with the HTTP and task series and the Go runtime
// and process collectors.
func New() *Registry {
	reg := prometheus.NewRegistry()
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
	reg.MustRegister(m.httpRequests, m.httpDuration, m.tasks, m.taskDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
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
			err := h.ProcessTask(ctx, t)
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
