package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/night"
	"groupbuy/internal/jobs"
	"groupbuy/internal/logctx"
	"groupbuy/internal/testenv"
)

// scrape reads /metrics as token and parses the text format.
func scrape(t *testing.T, c *testCity, token string) map[string]*dto.MetricFamily {
	t.Helper()
	r := c.do("GET", "/metrics", token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("/metrics: %d %s", r.Status, r.Body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("parse /metrics: %v", err)
	}
	return fams
}

func labelsOf(m *dto.Metric) map[string]string {
	out := map[string]string{}
	for _, l := range m.GetLabel() {
		out[l.GetName()] = l.GetValue()
	}
	return out
}

// sample returns the value of the series of family name whose labels
// include want (counter, gauge, or a histogram's count), and whether there is one.
func sample(fams map[string]*dto.MetricFamily, name string, want map[string]string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	var sum float64
	found := false
next:
	for _, m := range f.GetMetric() {
		got := labelsOf(m)
		for k, v := range want {
			if got[k] != v {
				continue next
			}
		}
		found = true
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		case m.Untyped != nil:
			sum += m.GetUntyped().GetValue()
		}
	}
	return sum, found
}

// TestMetricsAfterNight drives requests and a night through one app and
// reads its /metrics: HTTP series by route pattern, the database pool, the
// asynq queues, task outcomes, stage durations and the business counters.
func TestMetricsAfterNight(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 4)
	egg, rice := c.item("EGG"), c.item("RICE")
	van := map[string]any{"code": "VAN", "name": "厢式车", "count": 2, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150}
	c.addVehicleType(van)
	var firstOrder intake.Order
	for l := range 4 {
		for i := range 2 {
			r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("1592%02d%05d", l, i), "居民", egg.ID, 3, rice.ID, 1),
				"Idempotency-Key", fmt.Sprintf("m%d", i))
			if r.Status != http.StatusCreated {
				t.Fatalf("order: %d %s", r.Status, r.Body)
			}
			if l == 0 && i == 0 {
				r.json(t, &firstOrder)
			}
		}
	}
	// A replay is not a new order.
	if r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("15920000000", "居民", egg.ID, 3, rice.ID, 1),
		"Idempotency-Key", "m0"); r.Status != http.StatusOK {
		t.Fatalf("replay: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", firstOrder.ID), c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	// No route: a scanner's path with ids in it must not become a label.
	if r := c.do("GET", "/api/v1/leader/orders/123/secret/456", c.leaders[0], nil); r.Status != http.StatusNotFound {
		t.Fatalf("no route: %d %s", r.Status, r.Body)
	}

	// Who may read /metrics: staff, not leaders, not strangers.
	if r := c.do("GET", "/metrics", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("/metrics without a token: %d", r.Status)
	}
	if r := c.do("GET", "/metrics", c.leaders[0], nil); r.Status != http.StatusForbidden {
		t.Fatalf("/metrics as a leader: %d", r.Status)
	}

	path := c.wavePath()
	// 24 eggs sold, 20 received: shortage refunds and their notices.
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "even", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 20}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	wv := runNightToReady(t, c, path)
	if wv.Refunds.Units != 4 {
		t.Fatalf("wave %+v", wv)
	}

	fams := scrape(t, c, c.staffToken("warehouse"))
	check := func(name string, labels map[string]string, ok func(float64) bool) {
		t.Helper()
		v, found := sample(fams, name, labels)
		if !found || !ok(v) {
			t.Errorf("%s%v = %v (found %v)", name, labels, v, found)
		}
	}
	atLeast := func(n float64) func(float64) bool { return func(v float64) bool { return v >= n } }
	exactly := func(n float64) func(float64) bool { return func(v float64) bool { return v == n } }

	// HTTP: by pattern, never by raw path.
	check("groupbuy_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/leader/orders", "status": "201"}, exactly(8))
	check("groupbuy_http_requests_total", map[string]string{"method": "POST", "route": "/api/v1/leader/orders", "status": "200"}, exactly(1))
	check("groupbuy_http_requests_total", map[string]string{"method": "GET", "route": "/api/v1/leader/orders/:id", "status": "200"}, exactly(1))
	check("groupbuy_http_requests_total", map[string]string{"method": "GET", "route": "unmatched", "status": "404"}, exactly(1))
	check("groupbuy_http_requests_total", map[string]string{"method": "GET", "route": "/metrics", "status": "401"}, exactly(1))
	check("groupbuy_http_request_duration_seconds", map[string]string{"method": "GET", "route": "/api/v1/ops/waves/:id"}, atLeast(1))
	for _, m := range fams["groupbuy_http_requests_total"].GetMetric() {
		if route := labelsOf(m)["route"]; strings.Contains(route, "123") || strings.Contains(route, "secret") || !strings.HasPrefix(route, "/") && route != "unmatched" {
			t.Errorf("route label with a raw path: %q", route)
		}
	}

	// The database pool, read at scrape time.
	check("go_sql_max_open_connections", map[string]string{"db_name": "groupbuy"}, exactly(40))
	check("go_sql_open_connections", map[string]string{"db_name": "groupbuy"}, atLeast(1))
	for _, name := range []string{"go_sql_in_use_connections", "go_sql_idle_connections", "go_sql_wait_count_total", "go_sql_wait_duration_seconds_total"} {
		check(name, map[string]string{"db_name": "groupbuy"}, atLeast(0))
	}

	// asynq: every queue and state, and the wave's tasks by outcome.
	check("groupbuy_asynq_up", nil, exactly(1))
	for _, q := range jobs.Queues {
		for _, st := range []string{"pending", "active", "scheduled", "retry", "archived", "completed"} {
			check("groupbuy_asynq_queue_tasks", map[string]string{"queue": q, "state": st}, atLeast(0))
		}
	}
	// The stage tasks are retained after they complete (asynq.Retention).
	check("groupbuy_asynq_queue_tasks", map[string]string{"queue": "critical", "state": "completed"}, atLeast(4))
	for _, stage := range []string{"close", "allocate", "pick", "route", "ready"} {
		check("groupbuy_tasks_total", map[string]string{"type": "wave:" + stage, "outcome": "success"}, atLeast(1))
		check("groupbuy_task_duration_seconds", map[string]string{"type": "wave:" + stage}, atLeast(1))
		check("groupbuy_wave_stage_duration_seconds", map[string]string{"stage": stage}, exactly(1))
	}

	// The business: 8 orders of 2 lines; 4 eggs cut, one per point; one
	// refund notice per resident refunded.
	check("groupbuy_orders_placed_total", nil, exactly(8))
	check("groupbuy_order_lines_placed_total", nil, exactly(16))
	check("groupbuy_refund_units_total", map[string]string{"reason": "shortage"}, exactly(4))
	check("groupbuy_refunds_total", map[string]string{"reason": "shortage"}, exactly(4))
	var refundNotices float64
	if err := c.app.db.Get(&refundNotices, `SELECT count(*) FROM outbox WHERE kind = 'refund'`); err != nil {
		t.Fatal(err)
	}
	check("groupbuy_notices_queued_total", map[string]string{"kind": "refund"}, exactly(refundNotices))
	if refundNotices == 0 {
		t.Error("no refund notices queued")
	}
}

// logLines are the JSON log lines written to l so far.
func logLines(t *testing.T, l *testenv.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %s", sc.Bytes())
		}
		out = append(out, m)
	}
	return out
}

// TestRequestIDTravelsIntoTasks: the request that closes a wave by hand
// (X-Request-ID: abc) enqueues its purchase stage, which enqueues its
// allocation; the worker, another app as
// in production, logs that task's lines with request_id abc, and so on
// down the stages it starts. A scheduled sweep's task gets an ID of its own.
func TestRequestIDTravelsIntoTasks(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	egg := c.item("EGG")
	for l := range 2 {
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("1593%02d00000", l), "居民", egg.ID, 2),
			"Idempotency-Key", "r1"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	path := c.wavePath()
	c.receiptsFinal(path)
	r := c.do("POST", path+"/close", c.admin, nil, "X-Request-ID", "abc")
	if r.Status != http.StatusOK || r.Header.Get("X-Request-ID") != "abc" {
		t.Fatalf("close: %d %s %v", r.Status, r.Body, r.Header)
	}
	var rid string
	if err := c.app.db.Get(&rid, `SELECT request_id FROM jobs WHERE task_type = 'wave:purchase'`); err != nil || rid != "abc" {
		t.Fatalf("the purchase job's request_id: %q %v", rid, err)
	}

	// The worker: a second app over the same database and Redis, logging JSON.
	var logs testenv.Buffer
	wlog := slog.New(logctx.NewHandler(slog.NewJSONHandler(io.MultiWriter(&logs), &slog.HandlerOptions{Level: slog.LevelDebug})))
	wa := startApp(t, c.app.cfg, wlog, c.clock)
	w, err := newWorker(wa, workerOptions{sweepEvery: time.Second, syncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { _ = w.run(ctx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })

	// Wait for the stages the request started, and for a scheduled task.
	// (The city has no vehicles, so the route stage fails and retries: its
	// lines, "task failed", carry abc too.)
	want := map[string]bool{"wave:allocate": false, "wave:pick": false}
	chain := map[string]bool{"wave:allocate": true, "wave:pick": true, "wave:route": true, "wave:ready": true}
	deadline := time.Now().Add(60 * time.Second)
	var sweepID string
	for {
		all := true
		for _, l := range logLines(t, &logs) {
			task, _ := l["task"].(string)
			id, _ := l["request_id"].(string)
			if task == "" {
				continue
			}
			if l["task_id"] == nil || l["task_id"] == "" {
				t.Fatalf("a task's line without task_id: %v", l)
			}
			if chain[task] {
				if id != "abc" {
					t.Fatalf("%s logged with request_id %q, want abc: %v", task, id, l)
				}
				if _, ok := want[task]; ok && l["msg"] == "wave stage done" {
					want[task] = true
				}
			}
			if task == night.TaskWaveSweep && id != "" && id != "abc" {
				sweepID = id
			}
		}
		for _, done := range want {
			all = all && done
		}
		if all && sweepID != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("stage lines seen %v, sweep request_id %q; log:\n%v", want, sweepID, logLines(t, &logs))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestOurServersBoundSlowAndIdleClients: every server the binary runs (the
// API, a worker's metrics listener) comes from newServer, which bounds how
// long a slow or idle client holds a connection; the worker's listener kept
// idle keep-alive connections for ever.
func TestOurServersBoundSlowAndIdleClients(t *testing.T) {
	srv := newServer(http.NotFoundHandler())
	if srv.ReadHeaderTimeout <= 0 || srv.ReadTimeout <= 0 || srv.WriteTimeout <= 0 || srv.IdleTimeout <= 0 || srv.MaxHeaderBytes <= 0 {
		t.Fatalf("a server without a bound: %+v", srv)
	}
}
