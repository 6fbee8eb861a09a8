package platform

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql/driver"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"
)

// MaxBodyBytes bounds a JSON request body; CSV imports set their own limit.
const MaxBodyBytes = 1 << 20

var statusOf = map[Kind]int{
	Invalid:       http.StatusBadRequest,
	Unauthorized:  http.StatusUnauthorized,
	Forbidden:     http.StatusForbidden,
	NotFound:      http.StatusNotFound,
	Conflict:      http.StatusConflict,
	Unprocessable: http.StatusUnprocessableEntity,
	TooMany:       http.StatusTooManyRequests,
	Unavailable:   http.StatusServiceUnavailable,
	Internal:      http.StatusInternalServerError,
}

// HandlerFunc is a gin handler that returns its error instead of writing it.
type HandlerFunc func(c *gin.Context) error

// Handle adapts h to gin, writing any returned error through WriteError.
func Handle(h HandlerFunc) gin.HandlerFunc {
	return func(c *gin.Context) {
		if err := h(c); err != nil {
			WriteError(c, err)
		}
	}
}

// WriteError is the one place errors become HTTP responses: the JSON envelope
// {"error":{"code","message"}} with the status of the error's kind. Unexpected
// errors are logged once with the request ID and answered generically.
func WriteError(c *gin.Context, err error) {
	var e *Error
	if !errors.As(err, &e) {
		if isUnavailable(err) {
			e = Errorf(Unavailable, "", "a backing service is unavailable, retry shortly")
		} else if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
			e = Errorf(Unavailable, "", "request cancelled")
		} else {
			Logger(c).Error("internal error", "err", err)
			e = Errorf(Internal, "", "internal error (request %s)", RequestID(c))
		}
	}
	if e.Kind == Unavailable {
		c.Header("Retry-After", "1")
		Logger(c).Warn("unavailable", "err", err)
	}
	if s, ok := e.Details["retry_after_s"]; ok && e.Kind == TooMany {
		c.Header("Retry-After", fmt.Sprint(s))
	}
	body := gin.H{"code": e.Code, "message": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	for k, v := range e.Details {
		body[k] = v
	}
	status := statusOf[e.Kind]
	if status == 0 {
		status = http.StatusInternalServerError
	}
	c.AbortWithStatusJSON(status, gin.H{"error": body})
}

// isUnavailable tells connection-level failures (database or Redis down or
// restarting) from bugs, so clients get 503 + Retry-After instead of 500.
func isUnavailable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case pqErr.Code.Class() == "08", // connection exception
			pqErr.Code == "57P01", pqErr.Code == "57P02", pqErr.Code == "57P03", // shutdown, cannot connect now
			pqErr.Code == "53300": // too many connections
			return true
		}
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// DecodeJSON reads the request body strictly into v: bounded size, no unknown
// fields, no trailing data. Errors name the offending field.
func DecodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return Errorf(Invalid, "body_too_large", "request body exceeds %d bytes", MaxBodyBytes)
		}
		return Errorf(Invalid, "bad_body", "cannot read request body: %v", err)
	}
	return DecodeJSONBytes(body, v)
}

// DecodeJSONBytes is DecodeJSON for a body already read.
func DecodeJSONBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return Errorf(Invalid, "bad_json", "request body is empty; a JSON object is expected")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return Errorf(Invalid, "bad_json", "unexpected data after the JSON object")
	}
	return nil
}

func jsonError(err error) error {
	var appErr *Error
	if errors.As(err, &appErr) {
		return appErr
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return Errorf(Invalid, "bad_json", "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return InvalidField(field, "%s must be %s, not %s", field, typeErr.Type.String(), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return InvalidField(field, "unknown field %q", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return Errorf(Invalid, "bad_json", "truncated JSON")
	}
	return Errorf(Invalid, "bad_json", "malformed JSON: %v", err)
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	loggerKey
)

// RequestID returns the request's ID (from X-Request-ID or generated).
func RequestID(c *gin.Context) string {
	return c.GetString("request_id")
}

// Logger returns the request-scoped logger.
func Logger(c *gin.Context) *slog.Logger {
	if l, ok := c.Get("logger"); ok {
		return l.(*slog.Logger)
	}
	return slog.Default()
}

// RequestIDFrom returns the request ID carried by ctx, if any.
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// NewEngine returns a gin engine with request IDs, access logs, panic
// recovery into the error envelope, and JSON 404/405 answers.
func NewEngine(log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if id == "" || len(id) > 64 {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		c.Set("request_id", id)
		c.Header("X-Request-ID", id)
		l := log.With("request_id", id)
		c.Set("logger", l)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey, id))
		defer func() {
			if p := recover(); p != nil {
				l.Error("panic", "panic", fmt.Sprint(p), "path", c.Request.URL.Path)
				WriteError(c, Errorf(Internal, "", "internal error (request %s)", id))
			}
			lvl := slog.LevelDebug
			if c.Writer.Status() >= 500 {
				lvl = slog.LevelWarn
			}
			l.Log(c.Request.Context(), lvl, "http", "method", c.Request.Method, "route", c.FullPath(),
				"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
		}()
		c.Next()
	})
	r.NoRoute(func(c *gin.Context) {
		WriteError(c, Errorf(NotFound, "", "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"error": gin.H{"code": "method_not_allowed",
			"message": fmt.Sprintf("method %s not allowed on %s", c.Request.Method, c.Request.URL.Path)}})
	})
	return r
}

// PathID parses a positive integer path parameter.
func PathID(c *gin.Context, name string) (int64, error) {
	id, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, InvalidField(name, "%s must be a positive integer", name)
	}
	return id, nil
}

// ByID adapts a lookup by the path's positive integer id into a handler that
// answers 200 with the result, so simple GET handlers are one line.
func ByID[T any](find func(ctx context.Context, id int64) (T, error)) gin.HandlerFunc {
	return Handle(func(c *gin.Context) error {
		id, err := PathID(c, "id")
		if err != nil {
			return err
		}
		v, err := find(c.Request.Context(), id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, v)
		return nil
	})
}

// Printable reports whether s is a non-blank, valid UTF-8 text of at most
// max characters without control characters: the rule for names, units and
// bins that people read on screens and printouts.
func Printable(s string, max int) bool {
	if strings.TrimSpace(s) == "" || !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}
