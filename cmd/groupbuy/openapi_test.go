package main

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/api/openapi"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// openAPIMethods are the operation keys of an OpenAPI path item.
var openAPIMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true,
	"head": true, "patch": true, "trace": true}

// routeEngine builds the API's gin engine the way the app does, without a
// database: registering routes only stores handlers, none of them runs.
func routeEngine(t *testing.T) *gin.Engine {
	t.Helper()
	clock := clock.System{}
	a := &app{
		log:    slog.New(slog.DiscardHandler),
		clock:  clock,
		auth:   auth.NewAuthenticator(nil, clock, time.Second),
		pickup: pickup.NewService(nil, clock),
	}
	engine, ok := a.handler().(*gin.Engine)
	if !ok {
		t.Fatalf("handler() returned %T, want *gin.Engine", a.handler())
	}
	return engine
}

// openAPIDoc parses the embedded document.
func openAPIDoc(t *testing.T) map[string]any {
	t.Helper()
	var doc map[string]any
	dec := json.NewDecoder(bytes.NewReader(openAPIJSON))
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("openapi.json does not parse: %v", err)
	}
	if dec.More() {
		t.Fatal("openapi.json has data after the document")
	}
	return doc
}

var ginParam = regexp.MustCompile(`[:*]([A-Za-z0-9_]+)`)

// routeKey is "METHOD /path/{param}", the form both sides are compared in.
func routeKey(method, path string) string {
	return strings.ToUpper(method) + " " + ginParam.ReplaceAllString(path, "{$1}")
}

// documentedOperations returns "METHOD /path" -> operation for every operation in doc.
func documentedOperations(t *testing.T, doc map[string]any) map[string]map[string]any {
	t.Helper()
	paths, ok := doc["paths"].(map[string]any)
	if !ok {
		t.Fatal("openapi.json has no paths object")
	}
	ops := map[string]map[string]any{}
	for path, item := range paths {
		m, ok := item.(map[string]any)
		if !ok {
			t.Errorf("paths[%q] is not an object", path)
			continue
		}
		for method, op := range m {
			if !openAPIMethods[method] {
				continue
			}
			o, ok := op.(map[string]any)
			if !ok {
				t.Errorf("paths[%q].%s is not an object", path, method)
				continue
			}
			ops[routeKey(method, path)] = o
		}
	}
	return ops
}

// jsonAPIRoute reports whether a route belongs to the JSON API that
// openapi.json describes. The operator console (/console: its page, files,
// cookie session and the asynq queue monitor) and /metrics (Prometheus text)
// are pages and files for browsers and scrapers, not the JSON API; anything
// under /api always is.
func jsonAPIRoute(path string) bool {
	if strings.HasPrefix(path, "/api/") {
		return true
	}
	return path != "/console" && !strings.HasPrefix(path, "/console/") && path != "/metrics" && !strings.HasPrefix(path, "/metrics/")
}

func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	routes := routeEngine(t).Routes()
	if len(routes) == 0 {
		t.Fatal("the engine has no routes")
	}
	ops := documentedOperations(t, openAPIDoc(t))
	registered := map[string]bool{}
	for _, r := range routes {
		if !jsonAPIRoute(r.Path) {
			continue
		}
		k := routeKey(r.Method, r.Path)
		registered[k] = true
		if _, ok := ops[k]; !ok {
			t.Errorf("route %s (%s) is not in openapi.json", k, r.Handler)
		}
	}
	var stale []string
	for k := range ops {
		if !registered[k] {
			stale = append(stale, k)
		}
	}
	sort.Strings(stale)
	for _, k := range stale {
		t.Errorf("openapi.json documents %s, which is not a registered route", k)
	}
}

// TestOpenAPIIsGenerated fails when openapi.json or the README's access
// table is not what the route table gives: run go generate ./cmd/groupbuy.
func TestOpenAPIIsGenerated(t *testing.T) {
	routes := tableApp().routes()
	doc, err := openapi.Generate(routes, apiDoc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, openAPIJSON) {
		t.Error("openapi.json is stale: run go generate ./cmd/groupbuy")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if err := api.CheckAccessTable(readme, routes, allRoles); err != nil {
		t.Errorf("README.md: %v (go generate ./cmd/groupbuy)", err)
	}
}

func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	doc := openAPIDoc(t)
	if v, _ := doc["openapi"].(string); v != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", v)
	}
	info, _ := doc["info"].(map[string]any)
	if info["title"] != "groupbuy" || info["version"] == nil {
		t.Errorf("info = %v, want title groupbuy and a version", info)
	}
	tags := map[string]bool{}
	for _, tg := range doc["tags"].([]any) {
		tags[tg.(map[string]any)["name"].(string)] = true
	}
	braces := regexp.MustCompile(`\{([^}]+)\}`)
	opIDs := map[string]string{}
	for key, op := range documentedOperations(t, doc) {
		id, _ := op["operationId"].(string)
		if id == "" {
			t.Errorf("%s has no operationId", key)
		} else if prev, dup := opIDs[id]; dup {
			t.Errorf("operationId %q is used by %s and %s", id, prev, key)
		}
		opIDs[id] = key
		if s, _ := op["summary"].(string); s == "" {
			t.Errorf("%s has no summary", key)
		}
		opTags, _ := op["tags"].([]any)
		if len(opTags) == 0 {
			t.Errorf("%s has no tag", key)
		}
		for _, tg := range opTags {
			if !tags[tg.(string)] {
				t.Errorf("%s has undeclared tag %v", key, tg)
			}
		}
		responses, _ := op["responses"].(map[string]any)
		if len(responses) == 0 {
			t.Errorf("%s has no responses", key)
		}
		path := key[strings.Index(key, " ")+1:]
		// Every {param} in the path is a required path parameter, and no other.
		declared := map[string]bool{}
		params, _ := op["parameters"].([]any)
		for _, p := range params {
			pm := p.(map[string]any)
			if pm["in"] == "path" {
				declared[pm["name"].(string)] = pm["required"] == true
			}
		}
		for _, m := range braces.FindAllStringSubmatch(path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s does not declare required path parameter %q", key, m[1])
			}
			delete(declared, m[1])
		}
		for name := range declared {
			t.Errorf("%s declares path parameter %q that is not in its path", key, name)
		}
		// The API under /api/ is authenticated: it must say so and document
		// 401. The payment system's callback is signed instead of carrying a
		// token (its description says how); a driver's page carries its
		// route's pass.
		if strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/api/v1/payments/") && !strings.HasPrefix(path, "/api/v1/driver/") {
			sec, own := op["security"]
			if !own {
				sec = doc["security"] // inherited from the document
			}
			if reqs, _ := sec.([]any); len(reqs) == 0 {
				t.Errorf("%s needs a bearer token but documents no security", key)
			}
			if _, ok := responses["401"]; !ok {
				t.Errorf("%s needs a bearer token but documents no 401", key)
			}
		}
	}
}

func TestOpenAPIRefsResolve(t *testing.T) {
	doc := openAPIDoc(t)
	var walk func(at string, v any)
	n := 0
	walk = func(at string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if ref, ok := x["$ref"]; ok {
				s, _ := ref.(string)
				n++
				if _, err := resolvePointer(doc, s); err != "" {
					t.Errorf("%s: $ref %q: %s", at, s, err)
				}
			}
			for k, e := range x {
				walk(at+"/"+k, e)
			}
		case []any:
			for _, e := range x {
				walk(at+"/[]", e)
			}
		}
	}
	walk("#", doc)
	if n == 0 {
		t.Error("openapi.json has no $ref at all; expected shared components")
	}
}

// resolvePointer resolves a local JSON reference "#/a/b" in doc.
func resolvePointer(doc any, ref string) (any, string) {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, "only local references (#/...) are allowed"
	}
	cur := doc
	for _, tok := range strings.Split(rest, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, "walks into a non-object at " + tok
		}
		if cur, ok = m[tok]; !ok {
			return nil, "no member " + tok
		}
	}
	return cur, ""
}

func TestOpenAPIServedAsIs(t *testing.T) {
	rec := httptest.NewRecorder()
	routeEngine(t).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /openapi.json: status %d", rec.Code)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET /openapi.json: Content-Type %q", ct)
	}
	if !bytes.Equal(rec.Body.Bytes(), openAPIJSON) {
		t.Error("GET /openapi.json does not serve the embedded document")
	}
}
