package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/api"
	"groupbuy/internal/api/openapi"
	"groupbuy/internal/api/openapi/openapitest"
	"groupbuy/internal/httpx"
)

// serve runs routes on a real HTTP server, as the app does.
func serve(t *testing.T, routes []api.Route) *httptest.Server {
	t.Helper()
	r := httpx.NewEngine(slog.New(slog.DiscardHandler))
	api.Register(r, roleGuards, routes)
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func call(t *testing.T, client *http.Client, method, url, role, body string, header ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if role != "" {
		req.Header.Set("X-Role", role)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{resp.StatusCode, resp.Header, b}
}

type envelope struct {
	Error struct{ Code, Message, Field string }
}

func TestBinderRefusesNamingTheField(t *testing.T) {
	srv := serve(t, shopRoutes())
	list := "/api/items?date=2026-12-01"
	for _, tc := range []struct {
		method, path, body string
		header             []string
		field, message     string
	}{
		{"GET", "/api/items/abc", "", nil, "id", "id must be an integer from 1 to 9223372036854775807"},
		{"GET", "/api/items/0", "", nil, "id", "id must be an integer from 1 to 9223372036854775807"},
		{"GET", "/api/items/9223372036854775808", "", nil, "id", "id must be an integer from 1 to 9223372036854775807"},
		{"GET", "/api/items", "", nil, "date", "query parameter date=YYYY-MM-DD is required"},
		{"GET", "/api/items?date=2026-13-01", "", nil, "date", `date must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31, got "2026-13-01"`},
		{"GET", "/api/items?date=1999-12-31", "", nil, "date", `date must be a date YYYY-MM-DD from 2000-01-01 to 2099-12-31, got "1999-12-31"`},
		{"GET", list + "&zone=tropical", "", nil, "zone", "zone must be ambient, chilled or frozen"},
		{"GET", list + "&limit=1001", "", nil, "limit", "limit must be an integer from 1 to 1000"},
		{"GET", list + "&after_id=-1", "", nil, "after_id", "after_id must be an integer from 1 to 9223372036854775807"},
		{"GET", list + "&q=a%07b", "", nil, "q", "q may hold up to 20 characters, valid UTF-8 without control characters"},
		{"GET", list + "&q=" + strings.Repeat("x", 21), "", nil, "q", "q may hold up to 20 characters, valid UTF-8 without control characters"},
		{"GET", list + "&at=25:00", "", nil, "at", `at must be a local time HH:MM, got "25:00"`},
		{"GET", "/healthz?fail=yes", "", nil, "fail", "fail must be true or false"},
		{"PUT", "/api/items/7/note", `{"text":"x"}`, nil, "Idempotency-Key", "the Idempotency-Key header is required"},
		{"PUT", "/api/items/7/note", `{"text":"x"}`, []string{"Idempotency-Key", "a\u0085b"}, "Idempotency-Key",
			"Idempotency-Key is required: up to 100 characters, valid UTF-8 without control characters"},
		{"PUT", "/api/items/7/note", `{"txt":"x"}`, []string{"Idempotency-Key", "k1"}, "txt", `unknown field "txt"`},
		{"POST", "/api/items", `{"sku":"a\nb"}`, nil, "sku", "sku is required: up to 20 characters, valid UTF-8 without control characters"},
	} {
		a := call(t, srv.Client(), tc.method, srv.URL+tc.path, "admin", tc.body, tc.header...)
		var e envelope
		if err := json.Unmarshal(a.body, &e); err != nil || a.status != http.StatusBadRequest {
			t.Errorf("%s %s: %d %s, want 400", tc.method, tc.path, a.status, a.body)
			continue
		}
		if e.Error.Code != "invalid_field" || e.Error.Field != tc.field || e.Error.Message != tc.message {
			t.Errorf("%s %s: %+v, want invalid_field %s %q", tc.method, tc.path, e.Error, tc.field, tc.message)
		}
	}
}

func TestBinderHandsTypedValues(t *testing.T) {
	srv := serve(t, shopRoutes())
	a := call(t, srv.Client(), "GET", srv.URL+"/api/items?date=2026-12-01&zone=chilled&limit=5&after_id=3&q=%E8%9B%8B&at=08:30", "warehouse", "")
	var page struct{ Echo map[string]any }
	if err := json.Unmarshal(a.body, &page); err != nil || a.status != http.StatusOK {
		t.Fatalf("%d %s", a.status, a.body)
	}
	want := map[string]any{"date": "2026-12-01", "zone": "chilled", "limit": 5.0, "after_id": 3.0, "q": "蛋", "at": "08:30"}
	for k, v := range want {
		if page.Echo[k] != v {
			t.Errorf("%s = %v, want %v", k, page.Echo[k], v)
		}
	}
	if a := call(t, srv.Client(), "POST", srv.URL+"/api/items", "ops", `{"sku":"MILK","zone":"chilled"}`); a.status != http.StatusCreated {
		t.Errorf("POST /api/items: %d %s, want 201", a.status, a.body)
	}
	if a := call(t, srv.Client(), "PUT", srv.URL+"/api/items/7/note", "ops", `{"text":"x"}`, "Idempotency-Key", "k1"); a.status != http.StatusNoContent {
		t.Errorf("PUT note: %d %s, want 204", a.status, a.body)
	}
	a = call(t, srv.Client(), "GET", srv.URL+"/api/items/7/label.csv", "ops", "")
	if a.status != http.StatusOK || a.header.Get("Content-Disposition") != `attachment; filename="item-7.csv"` || string(a.body) != "sku\nEGG\n" {
		t.Errorf("label: %d %v %q", a.status, a.header, a.body)
	}
	if a := call(t, srv.Client(), "POST", srv.URL+"/api/items/import", "ops", "sku\nEGG\n"); string(a.body) != `{"bytes":8}` {
		t.Errorf("import: %d %s", a.status, a.body)
	}
}

// TestGuardsFollowTheTable sends every route every principal: no
// credentials is 401 on a guarded route, a role the Access does not admit
// 403, and an admitted one gets past the guard.
func TestGuardsFollowTheTable(t *testing.T) {
	routes := shopRoutes()
	srv := serve(t, routes)
	for _, rt := range routes {
		path := strings.NewReplacer(":id", "7", "*any", "x").Replace(rt.Path)
		for _, role := range append([]string{""}, roleNames()...) {
			a := call(t, srv.Client(), rt.Method, srv.URL+path, role, "")
			var want string
			switch {
			case rt.Access.Public():
				want = "past"
			case role == "":
				want = "401"
			case rt.Access.Admits(authRole(role)):
				want = "past"
			default:
				want = "403"
			}
			got := "past"
			if a.status == http.StatusUnauthorized || a.status == http.StatusForbidden {
				got = itoa(a.status)
			}
			if got != want {
				t.Errorf("%s %s as %q: %d %s, want %s", rt.Method, rt.Path, role, a.status, a.body, want)
			}
		}
	}
}

func TestDocumentPassesTheStrictChecks(t *testing.T) {
	raw, err := openapi.Generate(shopRoutes(), shopDoc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range openapi.Problems(raw) {
		t.Errorf("document: %s", p)
	}
	again, err := openapi.Generate(shopRoutes(), shopDoc)
	if err != nil || !bytes.Equal(raw, again) {
		t.Errorf("two runs give different documents (%v)", err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string           `json:"operationId"`
			Security    *[]any           `json:"security"`
			Roles       []string         `json:"x-roles"`
			Parameters  []map[string]any `json:"parameters"`
			Responses   map[string]any   `json:"responses"`
		}
		Components struct{ Schemas map[string]map[string]any }
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if _, ok := doc.Paths["/console/{any}"]; ok {
		t.Error("a hidden route is documented")
	}
	list := doc.Paths["/api/items"]["get"]
	if strings.Join(list.Roles, ",") != "warehouse,ops,admin" {
		t.Errorf("GET /api/items x-roles %v", list.Roles)
	}
	if h := doc.Paths["/healthz"]["get"]; h.Security == nil || len(*h.Security) != 0 || h.Roles != nil {
		t.Errorf("GET /healthz: security %v, x-roles %v; want [] and none", h.Security, h.Roles)
	}
	limit := list.Parameters[2]
	if limit["name"] != "limit" || limit["in"] != "query" || limit["schema"].(map[string]any)["maximum"] != 1000.0 {
		t.Errorf("limit parameter %v", limit)
	}
	get := doc.Paths["/api/items/{id}"]["get"]
	if get.OperationID != "getApiItemsById" {
		t.Errorf("operationId %q", get.OperationID)
	}
	for _, code := range []string{"200", "400", "401", "403", "404", "500", "503"} {
		if _, ok := get.Responses[code]; !ok {
			t.Errorf("GET /api/items/{id} documents no %s", code)
		}
	}
	if _, ok := doc.Paths["/api/items"]["post"].Responses["409"]; !ok {
		t.Error("POST /api/items does not document its sku_taken 409")
	}
	if _, ok := doc.Paths["/api/items"]["post"].Responses["429"]; !ok {
		t.Error("POST /api/items does not document the write limit's 429")
	}
	sku := doc.Components.Schemas["item"]["properties"].(map[string]any)["sku"].(map[string]any)
	if sku["description"] != "The stock-keeping unit." {
		t.Errorf("item.sku %v: the doc tag is lost", sku)
	}
}

// TestProblemsCatches breaks the document in ways strict tools refuse
// (swagger-cli validate), and expects Problems to say so.
func TestProblemsCatches(t *testing.T) {
	raw, err := openapi.Generate(shopRoutes(), shopDoc)
	if err != nil {
		t.Fatal(err)
	}
	openapitest.ProblemsCatch(t, raw, "item")
}

// validated returns a client whose every response is checked against the
// shop's document, and the problems found.
func validated(t *testing.T, srv *httptest.Server) (*http.Client, *[]string) {
	t.Helper()
	raw, err := openapi.Generate(shopRoutes(), shopDoc)
	if err != nil {
		t.Fatal(err)
	}
	v, err := openapi.NewValidator(raw)
	if err != nil {
		t.Fatal(err)
	}
	v.Skip = func(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/console/") }
	var problems []string
	client := &http.Client{Transport: v.Transport(srv.Client().Transport, func(err error) { problems = append(problems, err.Error()) })}
	return client, &problems
}

func TestLiveResponsesMatchTheDocument(t *testing.T) {
	srv := serve(t, shopRoutes())
	client, problems := validated(t, srv)
	for _, c := range []struct{ method, path, role, body string }{
		{"GET", "/healthz", "", ""},
		{"GET", "/healthz?fail=true", "", ""},
		{"GET", "/api/leader/me", "leader", ""},
		{"GET", "/api/leader/me", "ops", ""},
		{"GET", "/api/items?date=2026-12-01&at=07:00", "warehouse", ""},
		{"GET", "/api/items?date=2026-13-01", "warehouse", ""},
		{"GET", "/api/items/7", "warehouse", ""},
		{"GET", "/api/items/8", "warehouse", ""},
		{"GET", "/api/items/7", "", ""},
		{"POST", "/api/items", "ops", `{"sku":"MILK","zone":"chilled"}`},
		{"POST", "/api/items", "ops", `{"sku":"EGG"}`},
		{"GET", "/api/items/7/label.csv", "ops", ""},
		{"POST", "/api/items/import", "ops", "sku\n"},
		{"GET", "/console/queues", "ops", ""},
		{"GET", "/no/such/path", "", ""},
	} {
		call(t, client, c.method, srv.URL+c.path, c.role, c.body, "Idempotency-Key", "k")
	}
	for _, p := range *problems {
		t.Error(p)
	}
}

// TestValidatorCatchesUndocumentedAnswers serves, under the shop's paths,
// handlers that answer what the document does not say.
func TestValidatorCatchesUndocumentedAnswers(t *testing.T) {
	lying := httpx.NewEngine(slog.New(slog.DiscardHandler))
	lying.GET("/api/items/:id", func(c *gin.Context) {
		switch c.Param("id") {
		case "1":
			c.JSON(http.StatusOK, gin.H{"id": 1, "sku": "EGG", "zone": "chilled", "tags": nil, "note": nil, "colour": "red"})
		case "2":
			c.JSON(http.StatusOK, gin.H{"id": "two", "sku": "EGG", "zone": "chilled", "tags": nil, "note": nil})
		case "3":
			c.JSON(http.StatusOK, gin.H{"id": 3, "zone": "chilled", "tags": nil, "note": nil})
		case "4":
			c.JSON(http.StatusTeapot, gin.H{"error": gin.H{"code": "teapot", "message": "no"}})
		case "5":
			c.JSON(http.StatusNotFound, gin.H{"message": "not the envelope"})
		case "6":
			c.JSON(http.StatusNotFound, gin.H{"error": gin.H{"code": "no_such_code", "message": "no"}})
		default:
			c.JSON(http.StatusOK, gin.H{"id": 7, "sku": "EGG", "zone": "chilled", "tags": []string{}, "note": "fine"})
		}
	})
	srv := httptest.NewServer(lying)
	defer srv.Close()
	client, problems := validated(t, srv)
	for id, what := range []string{"an undocumented member", "a wrong type", "a missing required member",
		"an undocumented status", "an error outside the envelope", "an error code the document does not give"} {
		before := len(*problems)
		call(t, client, "GET", srv.URL+"/api/items/"+itoa(id+1), "", "")
		if len(*problems) == before {
			t.Errorf("%s passed the validator", what)
		}
	}
	before := len(*problems)
	call(t, client, "GET", srv.URL+"/api/items/7", "", "")
	if len(*problems) != before {
		t.Errorf("a documented answer was refused: %v", (*problems)[before:])
	}
}

// TestContentDispositionNeverWritesANameRaw: a name with Chinese, a quote or
// a control character gets an ASCII filename= and the whole name in
// filename*=, which a client reads back; the header stays one line.
func TestContentDispositionNeverWritesANameRaw(t *testing.T) {
	for _, name := range []string{"item-7.csv", "退供单-供应商.pdf", "a\x01b\r\nX-Evil: 1.csv", `q"uote\.csv`} {
		v := api.ContentDisposition(name)
		if strings.ContainsAny(v, "\x00\x01\r\n") {
			t.Errorf("%q: raw control characters in %q", name, v)
		}
		_, params, err := mime.ParseMediaType(v)
		if err != nil {
			t.Errorf("%q: %q does not parse: %v", name, v, err)
			continue
		}
		want := name
		if strings.ContainsAny(name, `"\`) {
			want = "q_uote_.csv" // printable ASCII needs no filename*=; quotes become '_'
		}
		if params["filename"] != want {
			t.Errorf("%q: %q reads back as %q", name, v, params["filename"])
		}
	}
}
