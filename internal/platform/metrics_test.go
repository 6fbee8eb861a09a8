package platform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"groupbuy/internal/httpx"
	"groupbuy/internal/logctx"
	"groupbuy/internal/platform"
)

// TestMetricsHTTPRoutePattern: requests are labelled by route pattern, and
// paths no route matches by "unmatched", whatever the path.
func TestMetricsHTTPRoutePattern(t *testing.T) {
	m := platform.NewMetrics()
	r := httpx.NewEngine(slog.New(slog.DiscardHandler))
	r.Use(m.HTTP())
	r.GET("/things/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
	for _, p := range []string{"/things/1", "/things/2", "/nope/3", "/nope/4/5"} {
		r.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	want := `
# HELP groupbuy_http_requests_total HTTP requests answered, by method, route pattern (unmatched: no route) and status.
# TYPE groupbuy_http_requests_total counter
groupbuy_http_requests_total{method="GET",route="/things/:id",status="204"} 2
groupbuy_http_requests_total{method="GET",route="unmatched",status="404"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "groupbuy_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "groupbuy_http_request_duration_seconds"); n != 2 {
		t.Fatalf("%d duration series, want 2", n)
	}
}

// TestTaskContextLogs: a task's log lines carry the request ID of its
// header, its type and ID; a task without one gets a fresh ID; task
// outcomes are counted.
func TestTaskContextLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logctx.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m := platform.NewMetrics()
	var seen string
	h := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		seen = logctx.RequestID(ctx)
		log.InfoContext(ctx, "inside")
		if task.Type() == "t:fail" {
			return errors.New("no")
		}
		return nil
	})
	wrapped := platform.TaskContext(log)(m.Tasks()(h))
	if err := wrapped.ProcessTask(context.Background(), asynq.NewTaskWithHeaders("t:ok", nil, map[string]string{"request_id": "abc"})); err != nil {
		t.Fatal(err)
	}
	if seen != "abc" {
		t.Fatalf("request ID in the handler: %q", seen)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &line); err != nil {
		t.Fatal(err)
	}
	if line["msg"] != "inside" || line["request_id"] != "abc" || line["task"] != "t:ok" {
		t.Fatalf("log line %v", line)
	}
	if err := wrapped.ProcessTask(context.Background(), asynq.NewTask("t:fail", nil)); err == nil {
		t.Fatal("the failure was lost")
	}
	if seen == "" || seen == "abc" {
		t.Fatalf("a task without a request ID got %q", seen)
	}
	want := `
# HELP groupbuy_tasks_total asynq tasks processed by this worker, by type and outcome (success, failure).
# TYPE groupbuy_tasks_total counter
groupbuy_tasks_total{outcome="failure",type="t:fail"} 1
groupbuy_tasks_total{outcome="success",type="t:ok"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "groupbuy_tasks_total"); err != nil {
		t.Fatal(err)
	}
	// A logger that already names the request does not name it twice.
	buf.Reset()
	log.With("request_id", "x").InfoContext(logctx.WithRequestID(context.Background(), "y"), "once")
	if n := strings.Count(buf.String(), "request_id"); n != 1 {
		t.Fatalf("request_id %d times: %s", n, buf.String())
	}
}
