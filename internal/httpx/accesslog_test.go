package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

// TestAccessLog: one line per request at info (method, route, status, ms,
// request_id), 5xx at warn; routes marked QuietAccess (probes, scrapes) log
// at debug unless they fail.
func TestAccessLog(t *testing.T) {
	var buf bytes.Buffer
	r := NewEngine(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo})))
	ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }
	r.GET("/orders/:id", ok)
	r.GET("/boom", Handle(func(*gin.Context) error { return errors.New("boom") }))
	r.GET("/healthz", QuietAccess, ok)
	r.GET("/down", QuietAccess, func(c *gin.Context) { c.Status(http.StatusServiceUnavailable) })
	lines := func(path string) []map[string]any {
		t.Helper()
		buf.Reset()
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("X-Request-ID", "req-"+strings.Trim(strings.ReplaceAll(path, "/", "-"), "-"))
		r.ServeHTTP(httptest.NewRecorder(), req)
		var out []map[string]any
		for _, l := range bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n")) {
			var m map[string]any
			if len(l) == 0 {
				continue
			}
			if err := json.Unmarshal(l, &m); err != nil {
				t.Fatalf("log line %s: %v", l, err)
			}
			if m["msg"] == "http" {
				out = append(out, m)
			}
		}
		return out
	}

	got := lines("/orders/42")
	if len(got) != 1 {
		t.Fatalf("GET /orders/42 wrote %d access lines at info, want 1: %s", len(got), buf.String())
	}
	l := got[0]
	if l["level"] != "INFO" || l["method"] != "GET" || l["route"] != "/orders/:id" || l["status"] != 200.0 ||
		l["request_id"] != "req-orders-42" {
		t.Errorf("access line %v", l)
	}
	if _, ok := l["ms"].(float64); !ok {
		t.Errorf("access line without ms: %v", l)
	}
	if got := lines("/boom"); len(got) != 1 || got[0]["level"] != "WARN" || got[0]["status"] != 500.0 {
		t.Errorf("a 500: %v", got)
	}
	if got := lines("/nowhere"); len(got) != 1 || got[0]["level"] != "INFO" || got[0]["status"] != 404.0 {
		t.Errorf("a 404: %v", got)
	}
	if got := lines("/healthz"); len(got) != 0 {
		t.Errorf("a probe logged at info: %v", got)
	}
	if got := lines("/down"); len(got) != 1 || got[0]["level"] != "WARN" || got[0]["status"] != 503.0 {
		t.Errorf("a failing probe: %v", got)
	}
}
