package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
)

func TestErrorsMapToStatusAndEnvelope(t *testing.T) {
	cases := []struct {
		err    error
		status int
		code   string
	}{
		{apperr.InvalidField("lines[0].quantity", "quantity must be positive"), 400, "invalid_field"},
		{apperr.Errorf(apperr.Unauthorized, "", "no token"), 401, "unauthorized"},
		{apperr.Errorf(apperr.Forbidden, "not_your_order", "x"), 403, "not_your_order"},
		{fmt.Errorf("wrapped: %w", apperr.Errorf(apperr.NotFound, "order_not_found", "x")), 404, "order_not_found"},
		{apperr.Errorf(apperr.Conflict, "sold_out", "x").With("remaining", 3), 409, "sold_out"},
		{apperr.Errorf(apperr.Unprocessable, "cutoff_passed", "x"), 422, "cutoff_passed"},
		{&pq.Error{Code: "57P01"}, 503, "unavailable"},
		{errors.New("boom"), 500, "internal"},
	}
	for _, c := range cases {
		r := NewEngine(quietLogger())
		r.GET("/x", Handle(func(*gin.Context) error { return c.err }))
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("GET", "/x", nil))
		var env struct {
			Error map[string]any `json:"error"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil {
			t.Fatalf("%v: body %s", c.err, w.Body)
		}
		if w.Code != c.status || env.Error["code"] != c.code || env.Error["message"] == "" {
			t.Errorf("%v: got %d %s", c.err, w.Code, w.Body)
		}
		if c.status == 500 && strings.Contains(w.Body.String(), "boom") {
			t.Error("an internal error leaked its text to the client")
		}
		if c.status == 503 && w.Header().Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
	}
}

// TestUnroutedRequestsQuoteTheirPathShort: a 404 or 405 names the path it
// refuses, at most apperr.MaxQuoted characters of it.
func TestUnroutedRequestsQuoteTheirPathShort(t *testing.T) {
	r := NewEngine(quietLogger())
	r.GET("/x/*rest", Handle(func(*gin.Context) error { return nil }))
	long := "/" + strings.Repeat("y", 5000)
	for path, status := range map[string]int{"/x" + long: 405, long: 404} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest("POST", path, nil))
		var env struct {
			Error struct{ Code, Message string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &env); err != nil || w.Code != status || env.Error.Code == "" ||
			!strings.HasSuffix(env.Error.Message, "…") || len(env.Error.Message) > 300 {
			t.Errorf("POST %.20s…: %d %.300s", path, w.Code, w.Body)
		}
	}
}

func TestDecodeJSONNamesTheField(t *testing.T) {
	type inner struct {
		Quantity int64 `json:"quantity"`
	}
	var v struct {
		Lines []inner `json:"lines"`
	}
	cases := map[string]string{
		`{"lines":[{"quantity":"2"}]}`:  "lines[0].quantity",
		`{"lines":[{"qty":2}]}`:         "lines[0].qty",
		`{"lines":[{"quantity":1e40}]}`: "lines[0].quantity",
	}
	for body, field := range cases {
		var e *apperr.Error
		if err := DecodeJSONBytes([]byte(body), &v); !errors.As(err, &e) || e.Field != field {
			t.Errorf("%s: got %v, want field %s", body, err, field)
		}
	}
	for _, body := range []string{``, `{`, `{"lines":[]} {}`, `{"lines":[]}x`} {
		if err := DecodeJSONBytes([]byte(body), &v); apperr.KindOf(err) != apperr.Invalid {
			t.Errorf("%q: got %v", body, err)
		}
	}
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// TestDecodeJSONNamesTheFieldATypeRefuses: a value that reads itself
// (UnmarshalText) and refuses without knowing where it is gets its field
// named, and a JSON type it does not take is named as a string's.
func TestDecodeJSONNamesTheFieldATypeRefuses(t *testing.T) {
	var v struct {
		Opens  clock.TimeOfDay `json:"opens"`
		Shifts []struct {
			At clock.TimeOfDay `json:"at"`
		} `json:"shifts"`
	}
	cases := []struct{ body, field, msg string }{
		{`{"opens":"25:00"}`, "opens", `opens must be a local time HH:MM, got "25:00"`},
		{`{"shifts":[{"at":"07:00"},{"at":"7pm"}]}`, "shifts[1].at", `shifts[1].at must be a local time HH:MM, got "7pm"`},
		{`{"opens":700}`, "opens", "opens must be a string"},
	}
	for _, c := range cases {
		var e *apperr.Error
		if err := DecodeJSONBytes([]byte(c.body), &v); !errors.As(err, &e) || e.Field != c.field || !strings.HasPrefix(e.Message, c.msg) {
			t.Errorf("%s: got %#v, want field %s: %s", c.body, err, c.field, c.msg)
		}
	}
	if err := DecodeJSONBytes([]byte(`{"opens":"08:00","shifts":[{"at":""}]}`), &v); err != nil || v.Opens != clock.NewTimeOfDay(8, 0) {
		t.Fatalf("good body: %v %v", v, err)
	}
}

// TestATrailingSlashIsAnotherPath: /a/ is not redirected to /a (gin's HTML
// 301, or a 307 that posts again); it is a 404 in the envelope.
func TestATrailingSlashIsAnotherPath(t *testing.T) {
	r := NewEngine(quietLogger())
	r.GET("/a", Handle(func(*gin.Context) error { return nil }))
	r.POST("/b", Handle(func(*gin.Context) error { return nil }))
	for _, req := range [][2]string{{"GET", "/a/"}, {"POST", "/b/"}} {
		w := httptest.NewRecorder()
		r.ServeHTTP(w, httptest.NewRequest(req[0], req[1], nil))
		if w.Code != http.StatusNotFound || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") ||
			!strings.Contains(w.Body.String(), `"error"`) {
			t.Errorf("%s %s: %d %s %s", req[0], req[1], w.Code, w.Header().Get("Content-Type"), w.Body)
		}
	}
}
