package main

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/cmd/internal/queues"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// The operator console: a page of static files over the ops API (each data
// call carries the bearer token the operator pasted), plus the asynq queue
// monitor. A browser cannot put a bearer header on a navigation, so the
// monitor also takes a session cookie the page gets at login: a random
// session id standing for the token (auth.Authenticator.OpenSession), never the token.

//go:embed console/*
var consoleFS embed.FS

const (
	consoleQueuesPath = "/console/queues"
	consoleCookie     = "groupbuy_console"
	// consoleSessionTTL is how long a console login lasts: a working day;
	// less if the token expires first.
	consoleSessionTTL = 12 * time.Hour
)

// consoleCSP keeps the console to its own files and API: no inline script or
// style, nothing from another host (it must work on a closed network).
const consoleCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// consoleAsset is one embedded file, ready to serve.
type consoleAsset struct {
	body  []byte
	ctype string
	etag  string
}

// consoleTypes are the content types of the console's files; set here, not
// from the machine's MIME tables, so every install serves the same.
var consoleTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".svg":  "image/svg+xml",
}

// consoleAssets reads the embedded files; a file of another type is a
// build mistake, caught by the tests.
func consoleAssets() (map[string]consoleAsset, error) {
	files, err := fs.ReadDir(consoleFS, "console")
	if err != nil {
		return nil, err
	}
	out := map[string]consoleAsset{}
	for _, f := range files {
		body, err := consoleFS.ReadFile("console/" + f.Name())
		if err != nil {
			return nil, err
		}
		ctype, ok := consoleTypes[path.Ext(f.Name())]
		if !ok {
			return nil, fmt.Errorf("console file %s has no known content type", f.Name())
		}
		sum := sha256.Sum256(body)
		out[f.Name()] = consoleAsset{body: body, ctype: ctype, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	}
	return out, nil
}

// serve answers with the file. File names carry no version, so browsers
// revalidate every time (no-cache) and get a 304 while the ETag — the hash
// of the content — still matches: a new binary's console is seen at once.
func (f consoleAsset) serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	h.Set("Content-Security-Policy", consoleCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	for tag := range strings.SplitSeq(c.GetHeader("If-None-Match"), ",") {
		if t := strings.TrimPrefix(strings.TrimSpace(tag), "W/"); t == f.etag || t == "*" {
			c.Status(http.StatusNotModified)
			return
		}
	}
	c.Data(http.StatusOK, f.ctype, f.body)
}

// consoleRoutes are the console: the page at /console and /console/, its
// files, the session that lets a browser into the queue monitor, and the
// monitor itself under /console/queues. Pages, not the JSON API: the
// OpenAPI document leaves them out.
func (a *app) consoleRoutes() []api.Route {
	assets, err := consoleAssets()
	if err != nil {
		panic(err) // the embedded files are fixed at build time
	}
	section := "Operator console (pages, not the JSON API)"
	page := func(method, path string, access api.Access, h gin.HandlerFunc) api.Route {
		return api.Route{Method: method, Path: path, Access: access, Section: section, Hidden: true, Handler: api.Raw(h)}
	}
	index := assets["index.html"]
	routes := []api.Route{page(http.MethodGet, "/console", public, index.serve), page(http.MethodGet, "/console/", public, index.serve)}
	for _, name := range slices.Sorted(maps.Keys(assets)) {
		routes = append(routes, page(http.MethodGet, "/console/"+name, public, assets[name].serve))
	}
	routes = append(routes,
		page(http.MethodPost, "/console/session", public, httpx.Handle(a.openConsoleSession)),
		page(http.MethodDelete, "/console/session", public, httpx.Handle(a.closeConsoleSession)))
	// The monitor is asynqmon: its page, its files and its JSON API, all
	// under the one prefix (it reads with GET and acts with POST and
	// DELETE). A write with the cookie must come from the console's own
	// origin (auth.RequireSession): SameSite=Strict alone lets another port
	// of the host, or a sibling subdomain, make the monitor act.
	monitor := queues.Monitor(consoleQueuesPath, a.rdb)
	for _, method := range []string{http.MethodGet, http.MethodPost, http.MethodDelete} {
		routes = append(routes, page(method, consoleQueuesPath+"/*any", consoleSession, monitor))
	}
	return routes
}

// openConsoleSession checks a staff token and opens a session for it, whose
// id goes into an HttpOnly cookie for /console: the page's own API calls
// still send the bearer header; only the queue monitor reads the cookie.
func (a *app) openConsoleSession(c *gin.Context) error {
	// JSON only: a cross-site form cannot send it without a CORS preflight,
	// which this API never grants, so no other site can log a browser in.
	if mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type")); mt != "application/json" {
		return apperr.Errorf(apperr.Invalid, "bad_content_type", "send {\"token\"} as application/json")
	}
	// And from a browser, only from this site's own page.
	if fromBrowser(c.Request) {
		if err := auth.SameOrigin(c.Request); err != nil {
			return err
		}
	}
	var in struct {
		Token string `json:"token"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	ctx := c.Request.Context()
	p, err := a.auth.Authenticate(ctx, strings.TrimSpace(in.Token))
	if err != nil {
		return err
	}
	if p.Role == auth.RoleLeader {
		return apperr.Errorf(apperr.Forbidden, "", "the console is for staff (warehouse, ops, admin); a leader token may not open it")
	}
	sid, err := a.auth.OpenSession(ctx, p, consoleSessionTTL)
	if err != nil {
		return err
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: consoleCookie, Value: sid, Path: "/console",
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: auth.HTTPS(c.Request)})
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{"role": p.Role, "name": p.Name,
		"queues": p.Role == auth.RoleOps || p.Role == auth.RoleAdmin})
	return nil
}

// fromBrowser reports whether a browser sent r: every current one says
// where a write comes from.
func fromBrowser(r *http.Request) bool {
	return r.Header.Get("Sec-Fetch-Site") != "" || r.Header.Get("Origin") != ""
}

// closeConsoleSession ends the cookie's session on the server and drops
// the cookie; the token itself stays valid. The cookie is a credential
// here too, so only the console's own page may use it to log out.
func (a *app) closeConsoleSession(c *gin.Context) error {
	if sid, err := c.Cookie(consoleCookie); err == nil && sid != "" {
		if err := auth.SameOrigin(c.Request); err != nil {
			return err
		}
		if err := a.auth.CloseSession(c.Request.Context(), sid); err != nil {
			return err
		}
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: consoleCookie, Value: "", Path: "/console", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: auth.HTTPS(c.Request)})
	c.Status(http.StatusNoContent)
	return nil
}
