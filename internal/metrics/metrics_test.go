package metrics_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"groupbuy/internal/httpx"
	"groupbuy/internal/metrics"
)

// TestMetricsHTTPRoutePattern: requests are labelled by route pattern, and
// paths no route matches by "unmatched", whatever the path.
func TestMetricsHTTPRoutePattern(t *testing.T) {
	m := metrics.New()
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
	if err := testutil.GatherAndCompare(m.Prometheus(), strings.NewReader(want), "groupbuy_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Prometheus(), "groupbuy_http_request_duration_seconds"); n != 2 {
		t.Fatalf("%d duration series, want 2", n)
	}
}
