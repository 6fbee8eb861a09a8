// Package httpx is groupbuy's HTTP plumbing on gin: the engine (request
// IDs, access log, recovery, JSON 404/405), the one mapping of errors to
// statuses and the error envelope, strict JSON bodies, and the keyset page
// of a listing (Page); package api binds parameters.
package httpx

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/logctx"
)

// MaxBodyBytes bounds a JSON request body; CSV imports set their own limit.
const MaxBodyBytes = 1 << 20

var statusOfKind = map[apperr.Kind]int{
	apperr.Invalid:       http.StatusBadRequest,
	apperr.Unauthorized:  http.StatusUnauthorized,
	apperr.Forbidden:     http.StatusForbidden,
	apperr.NotFound:      http.StatusNotFound,
	apperr.Conflict:      http.StatusConflict,
	apperr.Unprocessable: http.StatusUnprocessableEntity,
	apperr.TooMany:       http.StatusTooManyRequests,
	apperr.Unavailable:   http.StatusServiceUnavailable,
	apperr.Internal:      http.StatusInternalServerError,
}

// StatusOf is the HTTP status errors of kind are answered with: the one
// mapping, which WriteError applies and the OpenAPI document states.
func StatusOf(kind apperr.Kind) int {
	if s, ok := statusOfKind[kind]; ok {
		return s
	}
	return http.StatusInternalServerError
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
	var e *apperr.Error
	if !errors.As(err, &e) {
		if isUnavailable(err) {
			e = apperr.Errorf(apperr.Unavailable, "", "a backing service is unavailable, retry shortly")
		} else if errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil {
			e = apperr.Errorf(apperr.Unavailable, "", "request cancelled")
		} else {
			Logger(c).Error("internal error", "err", err)
			e = apperr.Errorf(apperr.Internal, "", "internal error (request %s)", RequestID(c))
		}
	}
	if e.Kind == apperr.Unavailable {
		c.Header("Retry-After", "1")
		Logger(c).Warn("unavailable", "err", err)
	}
	if s, ok := e.Details["retry_after_s"]; ok && e.Kind == apperr.TooMany {
		c.Header("Retry-After", fmt.Sprint(s))
	}
	body := gin.H{"code": e.Code, "message": e.Message}
	if e.Field != "" {
		body["field"] = e.Field
	}
	for k, v := range e.Details {
		body[k] = v
	}
	c.AbortWithStatusJSON(StatusOf(e.Kind), gin.H{"error": body})
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

// NewEngine returns a gin engine with request IDs, access logs, panic
// recovery into the error envelope, and JSON 404/405 answers.
func NewEngine(log *slog.Logger) *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	// A path with a trailing slash is another path: a 404 in the envelope,
	// not gin's HTML 301 or a 307 that makes a client post again.
	r.RedirectTrailingSlash = false
	r.HandleMethodNotAllowed = true
	r.ContextWithFallback = true
	r.Use(func(c *gin.Context) {
		start := time.Now()
		id := c.GetHeader("X-Request-ID")
		if !validRequestID(id) {
			id = logctx.NewRequestID()
		}
		c.Set("request_id", id)
		c.Header("X-Request-ID", id)
		l := log.With("request_id", id)
		c.Set("logger", l)
		c.Request = c.Request.WithContext(logctx.WithRequestID(c.Request.Context(), id))
		defer func() {
			if p := recover(); p != nil {
				l.Error("panic", "panic", fmt.Sprint(p), "path", c.Request.URL.Path)
				WriteError(c, apperr.Errorf(apperr.Internal, "", "internal error (request %s)", id))
			}
			l.Log(c.Request.Context(), accessLevel(c), "http", "method", c.Request.Method, "route", c.FullPath(),
				"status", c.Writer.Status(), "ms", time.Since(start).Milliseconds())
		}()
		c.Next()
	})
	r.NoRoute(func(c *gin.Context) {
		WriteError(c, apperr.Errorf(apperr.NotFound, "", "no route %s %s", c.Request.Method, c.Request.URL.Path))
	})
	r.NoMethod(func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusMethodNotAllowed, gin.H{"error": gin.H{"code": "method_not_allowed",
			"message": fmt.Sprintf("method %s not allowed on %s", apperr.Clip(c.Request.Method), apperr.Clip(c.Request.URL.Path))}})
	})
	return r
}

// accessLevel is the level of a request's access line: info, warn for a
// 5xx, debug for a QuietAccess route that answered below 400.
func accessLevel(c *gin.Context) slog.Level {
	switch status := c.Writer.Status(); {
	case status >= 500:
		return slog.LevelWarn
	case status < 400 && c.GetBool(quietAccessKey):
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

const quietAccessKey = "quiet_access"

// QuietAccess marks a route polled by machines (a load balancer's health
// probe, a metrics scrape), so its access line is logged at debug unless
// it fails: every few seconds from each prober would drown the log.
func QuietAccess(c *gin.Context) {
	c.Set(quietAccessKey, true)
}
