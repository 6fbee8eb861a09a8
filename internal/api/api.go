// Package api is the one route table's machinery. A Route names, in one
// place, an operation's method and path, who may call it, its typed handler
// (whose request and response types say what it reads and answers) and its
// documentation. From the table come the router and its guards (Register),
// the OpenAPI document (package api/openapi) and the README's access table
// (AccessTable), so the access policy and the API's shape each have one home.
//
// A handler is typed: JSON, NoContent and File adapt a function of a
// request struct In to gin. In's fields tagged path, query or header are
// parsed from strings by one binder under the input rules (ids positive and
// within their column, dates within the sane window, printable text of a
// bounded length, enums), and a field named Body is the request body, decoded
// strictly by httpx.DecodeJSON (a Body struct tagged content:"multipart/form-data"
// only documents the form: the handler reads its parts as they stream). Every refusal is a 400 naming the field, and
// any error the handler returns is written by httpx.WriteError. Raw is the
// escape hatch for handlers that stream or serve pages.
package api

import (
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Access names who may call a route, by intent ("leader", "staff reads",
// "ops writes"): the roles it admits, listed in full (admin too, where it
// is admitted). No roles is public: no token is asked for.
type Access struct {
	Name  string
	Roles []auth.Role
	// Session also admits a console session cookie in place of the bearer
	// header, for pages a browser navigates to.
	Session bool
	// Errors are failures a caller of this kind may meet on every route it
	// admits (a leader whose point was handed over), documented with each.
	Errors []*apperr.Error
}

// Public reports whether the route needs no credentials.
func (a Access) Public() bool { return len(a.Roles) == 0 }

// Admits reports whether a principal of role r may call the route.
func (a Access) Admits(r auth.Role) bool { return a.Public() || slices.Contains(a.Roles, r) }

// Guards turn an Access into the middleware that enforces it; the caller
// builds them from its authenticator, so this package holds no policy.
type Guards interface {
	Guard(Access) gin.HandlerFunc
}

// GuardFunc is a function that is Guards.
type GuardFunc func(Access) gin.HandlerFunc

// Guard calls f.
func (f GuardFunc) Guard(a Access) gin.HandlerFunc { return f(a) }

// Route is one operation of the API.
type Route struct {
	Method string // http.MethodGet, ...
	Path   string // gin syntax: /api/v1/ops/waves/:id
	Access Access
	// Handler is built by JSON, NoContent, File or Raw.
	Handler Handler
	// Status is the success status; 0 is 200 (204 for NoContent).
	Status int
	// AltStatus lists other statuses the handler may answer with Out's
	// shape, chosen with SetStatus (200 for an idempotent replay, 503 for
	// a failed health check).
	AltStatus []int
	// Errors are the domain errors the route may answer, beyond the shared
	// ones (a bad parameter or body, the guard's 401 and 403, 429 for a
	// write, 500, 503); each is documented under its kind's status.
	Errors []*apperr.Error

	// ID is the OpenAPI operationId; empty derives one from method and path.
	ID      string
	Summary string
	Doc     string // the operation's description
	Tag     string
	// Section heads the group of the README's access table it is listed in.
	Section string
	// Hidden keeps a route out of the OpenAPI document (the console's
	// pages, metrics): not part of the JSON API, but guarded and listed.
	Hidden bool
	// Before run before the guard, e.g. httpx.QuietAccess.
	Before []gin.HandlerFunc
}

// SuccessStatus is the route's success status.
func (r Route) SuccessStatus() int {
	switch {
	case r.Status != 0:
		return r.Status
	case r.Handler.kind == noContent:
		return http.StatusNoContent
	}
	return http.StatusOK
}

// OperationID is the route's operationId: ID, or the method and the path's
// words in camel case (GET /api/v1/ops/waves/:id is getApiV1OpsWavesById).
func (r Route) OperationID() string {
	if r.ID != "" {
		return r.ID
	}
	var b strings.Builder
	b.WriteString(strings.ToLower(r.Method))
	for seg := range strings.SplitSeq(r.Path, "/") {
		if name, ok := strings.CutPrefix(seg, ":"); ok {
			seg = "by-" + name
		}
		for w := range strings.FieldsFuncSeq(seg, func(c rune) bool { return !isAlnum(c) }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func isAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Check reports the mistakes of a table that Register would refuse: a
// route without handler or path, one listed twice, a documented route
// without summary or tag, a status handlers cannot answer with.
func Check(routes []Route) error {
	seen := map[string]bool{}
	ids := map[string]string{}
	var errs []string
	for _, r := range routes {
		key := r.Method + " " + r.Path
		switch {
		case r.Handler.serve == nil:
			errs = append(errs, key+": no handler")
		case !strings.HasPrefix(r.Path, "/"):
			errs = append(errs, key+": the path must start with /")
		case seen[key]:
			errs = append(errs, key+": listed twice")
		case !r.Hidden && (r.Summary == "" || r.Tag == ""):
			errs = append(errs, key+": a documented route needs a summary and a tag")
		}
		seen[key] = true
		if id := r.OperationID(); !r.Hidden && ids[id] != "" {
			errs = append(errs, fmt.Sprintf("%s: operation id %s is %s's too", key, id, ids[id]))
		} else {
			ids[id] = key
		}
		for _, s := range append([]int{r.SuccessStatus()}, r.AltStatus...) {
			if s < 100 || s > 599 {
				errs = append(errs, fmt.Sprintf("%s: status %d", key, s))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("route table: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Register installs each route on r behind the guard its Access names
// (none for a public route). A table that fails Check panics, as gin does
// for a route registered twice: it is a mistake of the program.
func Register(r gin.IRouter, guards Guards, routes []Route) {
	if err := Check(routes); err != nil {
		panic(err)
	}
	for _, rt := range routes {
		chain := slices.Clone(rt.Before)
		if !rt.Access.Public() {
			chain = append(chain, guards.Guard(rt.Access))
		}
		chain = append(chain, rt.Handler.serve(rt.SuccessStatus()))
		r.Handle(rt.Method, rt.Path, chain...)
	}
}

const statusKey = "api_status"

// SetStatus makes a typed handler answer with status instead of its route's
// Status; the route lists it in AltStatus so the document says so.
func SetStatus(c *gin.Context, status int) { c.Set(statusKey, status) }

type outKind int

const (
	jsonOut outKind = iota
	noContent
	fileOut
	rawOut
)

// Handler is a route's handler with the types it reads and writes, built
// by JSON, NoContent, File or Raw.
type Handler struct {
	kind  outKind
	in    *binder
	out   reflect.Type
	types []string // the content types of a file
	serve func(status int) gin.HandlerFunc
}

// Params lists the path, query and header parameters the handler reads.
func (h Handler) Params() []Param {
	if h.in == nil {
		return nil
	}
	return h.in.params
}

// Body returns the type of the request body and its content type, or nil
// when the handler reads none.
func (h Handler) Body() (reflect.Type, string) {
	if h.in == nil || h.in.body == nil {
		return nil, ""
	}
	return h.in.body.Type, h.in.bodyType
}

// Out returns what a success answers: the JSON type (JSON), or the content
// types of a file (File); neither for NoContent and Raw.
func (h Handler) Out() (reflect.Type, []string) { return h.out, h.types }

// JSON adapts f: it binds In, calls f and answers Out as JSON with the
// route's status.
func JSON[In, Out any](f func(c *gin.Context, in In) (Out, error)) Handler {
	b := mustBinder[In]()
	return Handler{kind: jsonOut, in: b, out: reflect.TypeFor[Out](), serve: func(status int) gin.HandlerFunc {
		return adapt(b, func(c *gin.Context, in In) error {
			out, err := f(c, in)
			if err == nil {
				c.JSON(statusOf(c, status), out)
			}
			return err
		})
	}}
}

// NoContent adapts f for a route that answers success without a body (204).
func NoContent[In any](f func(c *gin.Context, in In) error) Handler {
	b := mustBinder[In]()
	return Handler{kind: noContent, in: b, serve: func(status int) gin.HandlerFunc {
		return adapt(b, func(c *gin.Context, in In) error {
			err := f(c, in)
			if err == nil {
				c.Status(statusOf(c, status))
			}
			return err
		})
	}}
}

// Download is a file a route answers: a printout, a CSV.
type Download struct {
	ContentType string
	FileName    string // for Content-Disposition: attachment; empty for none
	ETag        string // quoted, or empty
	Body        []byte
}

// ContentDisposition names an attachment: filename= with the name's
// printable ASCII (any other character, and quotes and backslashes, as
// '_'), and beside it filename*= (RFC 6266) with the whole name, encoded,
// when it holds more. A name is never written into the header raw: a
// control character there breaks the response.
func ContentDisposition(name string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, name)
	v := `attachment; filename="` + ascii + `"`
	if full := mime.FormatMediaType("attachment", map[string]string{"filename": name}); strings.Contains(full, "filename*=") {
		v += "; " + strings.TrimPrefix(full, "attachment; ")
	}
	return v
}

// File adapts f for a route that answers a file of one of contentTypes.
func File[In any](f func(c *gin.Context, in In) (Download, error), contentTypes ...string) Handler {
	if len(contentTypes) == 0 {
		panic("api.File: name the content types the route answers")
	}
	b := mustBinder[In]()
	return Handler{kind: fileOut, in: b, types: contentTypes, serve: func(status int) gin.HandlerFunc {
		return adapt(b, func(c *gin.Context, in In) error {
			d, err := f(c, in)
			if err != nil {
				return err
			}
			if d.FileName != "" {
				c.Header("Content-Disposition", ContentDisposition(d.FileName))
			}
			if d.ETag != "" {
				c.Header("ETag", d.ETag)
			}
			c.Data(statusOf(c, status), d.ContentType, d.Body)
			return nil
		})
	}}
}

// adapt binds In and calls h, writing any error either returns.
func adapt[In any](b *binder, h func(c *gin.Context, in In) error) gin.HandlerFunc {
	return func(c *gin.Context) {
		var in In
		err := b.bind(c, reflect.ValueOf(&in).Elem())
		if err == nil {
			err = h(c, in)
		}
		if err != nil {
			httpx.WriteError(c, err)
		}
	}
}

// Raw wraps a plain gin handler (a stream, a page, a foreign handler such
// as the queue monitor); it reads and writes as it likes, so the document
// shows no parameters and no body for it.
func Raw(h gin.HandlerFunc) Handler {
	return Handler{kind: rawOut, serve: func(int) gin.HandlerFunc { return h }}
}

func statusOf(c *gin.Context, status int) int {
	if s := c.GetInt(statusKey); s != 0 {
		return s
	}
	return status
}

// Authenticated returns the guards of a's one authorization middleware: a
// bearer token of a role the Access admits, or for an Access with Session
// also the console session cookie named cookie.
func Authenticated(a *auth.Authenticator, cookie string) Guards {
	return GuardFunc(func(acc Access) gin.HandlerFunc {
		if acc.Session {
			return a.RequireSession(cookie, acc.Roles...)
		}
		return a.Require(acc.Roles...)
	})
}
