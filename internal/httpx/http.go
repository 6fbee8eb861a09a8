// Package httpx is groupbuy's HTTP plumbing on gin: the engine (request
// IDs, access log, recovery, JSON 404/405), the one mapping of errors to
// statuses and the error envelope, strict JSON bodies and path and query
// parameters.
package httpx

import (
	"bytes"
	"context"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/logctx"
)

// MaxBodyBytes bounds a JSON request body; CSV imports set their own limit.
const MaxBodyBytes = 1 << 20

var statusOf = map[apperr.Kind]int{
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

// DecodeJSON reads the request body strictly into v: bounded size and depth,
// no unknown or repeated fields, UTF-8 text without NUL, no trailing data.
// Errors name the offending field.
func DecodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.Errorf(apperr.Invalid, "body_too_large", "request body exceeds %d bytes", MaxBodyBytes)
		}
		return apperr.Errorf(apperr.Invalid, "bad_body", "cannot read request body: %v", err)
	}
	return DecodeJSONBytes(body, v)
}

// DecodeJSONBytes is DecodeJSON for a body already read.
func DecodeJSONBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Errorf(apperr.Invalid, "bad_json", "request body is empty; a JSON object is expected")
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	// More() is false before a stray '}' or ']', so look at the bytes left.
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return apperr.Errorf(apperr.Invalid, "bad_json", "unexpected data after the JSON object")
	}
	return nil
}

// MaxJSONDepth bounds how deeply objects and arrays nest in a request body;
// no request of the API needs more than a few levels.
const MaxJSONDepth = 32

// jsonFrame is one open object or array met by checkJSON.
type jsonFrame struct {
	object  bool
	wantKey bool   // an object's next string is a member name
	key     []byte // an object's current member name, as written between its quotes
	index   int    // an array's current element
	names   [][]byte
	nameSet map[string]bool
}

// seen records an object's member name and reports whether the object had
// it already, comparing names as encoding/json matches them to fields:
// unescaped and case-folded.
func (f *jsonFrame) seen(name []byte) bool {
	if f.nameSet != nil {
		k := foldJSONName(jsonName(name))
		if f.nameSet[k] {
			return true
		}
		f.nameSet[k] = true
		return false
	}
	for _, n := range f.names {
		if bytes.IndexByte(n, '\\') < 0 && bytes.IndexByte(name, '\\') < 0 {
			if bytes.EqualFold(n, name) {
				return true
			}
		} else if strings.EqualFold(jsonName(n), jsonName(name)) {
			return true
		}
	}
	f.names = append(f.names, name)
	if len(f.names) > 16 { // keep a wide object linear, not quadratic
		f.nameSet = make(map[string]bool, 2*len(f.names))
		for _, n := range f.names {
			f.nameSet[foldJSONName(jsonName(n))] = true
		}
	}
	return false
}

// checkJSON refuses, in one pass over the bytes and before any decoding,
// what encoding/json would accept quietly but wrongly: nesting deeper than
// MaxJSONDepth, a member named twice in one object (encoding/json keeps the
// last, matching names case-insensitively, so two readers of a body could
// disagree on it), bytes that are not UTF-8 and lone surrogate escapes (both
// silently become U+FFFD), and NUL characters (no PostgreSQL text holds
// them). Malformed JSON is left for the decoder to describe.
func checkJSON(body []byte) error {
	var buf [8]jsonFrame
	stack := buf[:0]
	for i := 0; i < len(body); i++ {
		switch c := body[i]; c {
		case '{', '[':
			if len(stack) >= MaxJSONDepth {
				return apperr.Errorf(apperr.Invalid, "bad_json", "JSON nested too deep: more than %d levels of objects and arrays", MaxJSONDepth)
			}
			stack = append(stack, jsonFrame{object: c == '{', wantKey: c == '{'})
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].object {
					stack[n-1].wantKey = true
				} else {
					stack[n-1].index++
				}
			}
		case ':':
			if n := len(stack); n > 0 {
				stack[n-1].wantKey = false
			}
		case '"':
			end, err := checkJSONString(body, i, stack)
			if err != nil {
				return err
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey && end < len(body) {
				top := &stack[n-1]
				top.key = body[i+1 : end]
				top.wantKey = false
				if top.seen(top.key) {
					field := jsonPath(stack)
					return apperr.InvalidField(field, "%s is given twice", field)
				}
			}
			i = end
		}
	}
	return nil
}

// checkJSONString checks the string starting at body[start] == '"' and
// returns the index of its closing quote (len(body) if unterminated).
func checkJSONString(body []byte, start int, stack []jsonFrame) (int, error) {
	for i := start + 1; i < len(body); {
		c := body[i]
		switch {
		case c == '"':
			return i, nil
		case c == '\\':
			if i+1 < len(body) && body[i+1] == 'u' {
				r, ok := hex4(body, i+2)
				switch {
				case !ok: // malformed: the decoder will say so
				case r == 0:
					field := jsonPath(stack)
					return 0, apperr.InvalidField(field, "%s contains a NUL character (\\u0000)", field)
				case r >= 0xd800 && r < 0xdc00: // must pair with a low surrogate
					if lo, ok := hex4(body, i+8); !ok || body[i+6] != '\\' || body[i+7] != 'u' || lo < 0xdc00 || lo >= 0xe000 {
						return 0, badText(stack, "an unpaired UTF-16 surrogate escape")
					}
					i += 6
				case r >= 0xdc00 && r < 0xe000:
					return 0, badText(stack, "an unpaired UTF-16 surrogate escape")
				}
				i += 6
				continue
			}
			i += 2
		case c < utf8.RuneSelf:
			i++
		default:
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				return 0, badText(stack, "bytes that are not UTF-8")
			}
			i += n
		}
	}
	return len(body), nil
}

func badText(stack []jsonFrame, what string) *apperr.Error {
	e := apperr.Errorf(apperr.Invalid, "bad_json", "%s: text must be UTF-8, and this has %s", jsonPath(stack), what)
	e.Field = jsonPath(stack)
	return e
}

// hex4 reads the 4 hex digits of a \u escape at body[i:].
func hex4(body []byte, i int) (rune, bool) {
	if i+4 > len(body) || i < 0 {
		return 0, false
	}
	var r rune
	for _, c := range body[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// jsonName unescapes a member name as written between its quotes.
func jsonName(raw []byte) string {
	if bytes.IndexByte(raw, '\\') < 0 {
		return string(raw)
	}
	var s string
	if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &s) != nil {
		return string(raw)
	}
	return s
}

// foldJSONName folds a member name as encoding/json does when it matches
// names to struct fields.
func foldJSONName(name string) string {
	ascii := true
	for i := 0; i < len(name); i++ {
		if name[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToUpper(name)
	}
	return strings.Map(func(r rune) rune {
		for {
			f := unicode.SimpleFold(r)
			if f <= r {
				return f
			}
			r = f
		}
	}, name)
}

// jsonPath names the place checkJSON is at, as lines[0].quantity.
func jsonPath(stack []jsonFrame) string {
	var b strings.Builder
	for _, f := range stack {
		switch {
		case f.object && len(f.key) > 0:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(jsonName(f.key))
		case !f.object:
			b.WriteString("[" + strconv.Itoa(f.index) + "]")
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

func jsonError(err error) error {
	var appErr *apperr.Error
	if errors.As(err, &appErr) {
		return appErr
	}
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntaxErr):
		return apperr.Errorf(apperr.Invalid, "bad_json", "malformed JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return apperr.InvalidField(field, "%s must be %s, not %s", field, jsonKind(typeErr.Type), typeErr.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return apperr.InvalidField(field, "unknown field %q", field)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.Errorf(apperr.Invalid, "bad_json", "truncated JSON")
	}
	return apperr.Errorf(apperr.Invalid, "bad_json", "malformed JSON: %v", err)
}

// jsonKind describes what JSON a Go type takes, without naming Go types.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("an integer within [%s, %s]", intMin(t), intMax(t))
	case reflect.Float32, reflect.Float64:
		return "a finite number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON type"
}

func intMin(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "0"
	}
	return strconv.FormatInt(-1<<(t.Bits()-1), 10)
}

func intMax(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(1<<t.Bits()-1, 10)
	}
	return strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
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
			"message": fmt.Sprintf("method %s not allowed on %s", c.Request.Method, c.Request.URL.Path)}})
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
