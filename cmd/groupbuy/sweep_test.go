package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/pickup/geo"
)

// TestEveryOperationRefusesBadInputCleanly sends every operation of the
// OpenAPI document requests a careless or hostile client would: a plausible
// request, built from the operation's own schema, with one parameter or body
// field (a JSON body's or a multipart form's) at a time made bad
// (sweepModes: zero, negative, past int64, a day or time that does not
// exist, too long, holding NUL, the wrong type, a fraction, white space
// around it). Every answer must be one the document describes, with an
// error code it gives for that status (the test client checks both), and
// none may be a 5xx: bad input is the client's error, never the server's.
// A refusal stays under 2 KB whatever it quotes, and a 400 names the field
// made bad (checkField). Each write's plausible request is then sent eight
// times at once: racing itself must not fail either.
func TestEveryOperationRefusesBadInputCleanly(t *testing.T) {
	t.Parallel()
	c := newTestCityWith(t, 2, clock.NewManual(beforeCutoff), func(cfg *config.Config) { cfg.WriteLimit = 0 })
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]any `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	var ops []sweepOp
	for path, methods := range doc.Paths {
		for method, raw := range methods {
			op := sweepOp{method: strings.ToUpper(method), path: path}
			if err := json.Unmarshal(raw, &op.doc); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].path+ops[i].method < ops[j].path+ops[j].method })
	s := &sweep{t: t, c: c, g: sweepGen{schemas: doc.Components.Schemas, plans: maps.Clone(plausibleFor)}}

	// While the wave is open, with orders in it; then once the night is
	// ready, with routes, deliveries and pickup codes for ids to name.
	egg, rice := c.item("EGG"), c.item("RICE")
	for l := range c.leaders {
		c.placeOrder(l, "sweep", orderBody(fmt.Sprintf("1591200000%d", l), "居民", egg.ID, 2, rice.ID, 1))
	}
	c.addVehicleType(map[string]any{"code": "VAN", "name": "冷藏车", "chilled": true, "frozen": true, "count": 2, "capacity_g": 1_500_000,
		"capacity_ml": 8_000_000, "shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150})
	sup, err := c.app.supply.SaveSupplier(context.Background(), supply.SupplierInput{Code: "SWEEP", Name: "供应商", Channel: supply.ChannelEmail, Email: "po@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.app.supply.SetTerms(context.Background(), egg.ProductID, []supply.TermInput{{SupplierID: sup.ID, Priority: 1, CasePack: 1,
		PriceFen: 100, DeliverySlot: clock.NewTimeOfDay(2, 0)}}); err != nil {
		t.Fatal(err)
	}
	path := c.wavePath()
	s.orderAtPointOne(rice.ID)
	s.run(ops)
	s.burst(ops, 8)
	c.admin = s.token(auth.TokenSpec{Role: auth.RoleAdmin, Name: "after the sweep"})
	c.receiptsFinal(path)
	runNightToReady(t, c, path)
	s.receivePointOne(path)
	s.run(ops)
	s.burst(ops, 8)
	t.Logf("%d requests", s.sent.Load())
}

// orderAtPointOne places an order of saleItem at point 1, as its leader (who
// files the sweep's claims), and makes its line the one the claims name.
// The sweep cancels the city's first order (its plausible id is 1), not
// this one; and its plausible receipt cuts sale item 1, so the claim's line
// is another's, to come whole.
func (s *sweep) orderAtPointOne(saleItem int64) {
	t, c := s.t, s.c
	var o struct{ Lines []struct{ ID int64 } }
	r := c.do("POST", "/api/v1/leader/orders", s.leaderToken(), orderBody("15912345678", "认领人", saleItem, 2),
		"Idempotency-Key", fmt.Sprintf("sweep-claim-%d", s.sent.Add(1)))
	if r.json(t, &o); r.Status != http.StatusCreated || len(o.Lines) == 0 {
		t.Fatalf("an order at point 1: %d %s", r.Status, r.Body)
	}
	s.g.plans["POST /api/v1/leader/aftersale/claims"] = map[string]any{"body.line_id": json.Number(fmt.Sprint(o.Lines[0].ID)),
		"body.reason": "damaged", "body.quantity": json.Number("1")}
}

// receivePointOne dispatches the night's routes and has point 1's leader
// receive its delivery, so the claim's line is one that came: a claim then
// gets past "not delivered" to the checks of its fields.
func (s *sweep) receivePointOne(wavePath string) {
	t, c := s.t, s.c
	if r := c.do("POST", wavePath+"/dispatch", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	leader := s.leaderToken()
	var out struct{ Deliveries []lastmile.Delivery }
	c.do("GET", "/api/v1/leader/deliveries?date="+testDate.String(), leader, nil).json(t, &out)
	if len(out.Deliveries) == 0 {
		t.Fatal("point 1 has no delivery")
	}
	for _, d := range out.Deliveries {
		if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d.ID), leader, map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
			t.Fatalf("receiving delivery %d: %d %s", d.ID, r.Status, r.Body)
		}
	}
}

// sweep sends the operations' requests and counts them.
type sweep struct {
	t    *testing.T
	c    *testCity
	g    sweepGen
	sent atomic.Int64
}

// run sends each operation its plausible request, then one request for each
// parameter or field made bad in each mode.
func (s *sweep) run(ops []sweepOp) {
	for _, op := range ops {
		token := s.tokenFor(op)
		targets := []string{""} // "": nothing bad, the plausible request itself
		for _, p := range op.doc.Parameters {
			if p.In == "path" || p.In == "query" {
				targets = append(targets, p.In+":"+p.Name)
			}
		}
		if body, ok := op.doc.RequestBody.Content["application/json"]; ok {
			targets = append(targets, "body")
			s.g.leaves(body.Schema, "body", 0, &targets)
		}
		if form, ok := op.doc.RequestBody.Content["multipart/form-data"]; ok {
			s.g.leaves(form.Schema, "body", 0, &targets)
		}
		plausibleRefused := false
		for _, target := range targets {
			for _, mode := range sweepModes {
				if target == "" && mode != sweepModes[0] {
					break
				}
				r := s.send(op, token, target, mode)
				switch {
				case target == "":
					plausibleRefused = r.Status == http.StatusBadRequest
				case !plausibleRefused:
					s.checkField(op, target, mode, r)
				}
			}
		}
	}
}

// burst sends each write its plausible request n times at once, each with
// its own Idempotency-Key: a check-then-write race shows as a 5xx (a unique
// key violated, a deadlock) where one at a time answers cleanly.
func (s *sweep) burst(ops []sweepOp, n int) {
	for _, op := range ops {
		if op.method == http.MethodGet {
			continue
		}
		token := s.tokenFor(op)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { s.send(op, token, "", sweepModes[0]) })
		}
		wg.Wait()
	}
}

// tokenFor is a fresh token for op: the sweep revokes tokens and hands
// point 1 over.
func (s *sweep) tokenFor(op sweepOp) string {
	if !strings.HasPrefix(op.path, "/api/v1/leader/") {
		return s.token(auth.TokenSpec{Role: auth.RoleAdmin, Name: "sweep"})
	}
	return s.leaderToken()
}

// leaderToken is a fresh token of point 1's leader, whoever that is now.
func (s *sweep) leaderToken() string {
	var leader int64
	if err := s.c.app.db.Get(&leader, `SELECT leader_id FROM pickup_points WHERE id = 1`); err != nil {
		s.t.Fatal(err)
	}
	return s.token(auth.TokenSpec{Role: auth.RoleLeader, LeaderID: leader, Name: "sweep"})
}

// send sends op's plausible request with target made bad in mode ("": none)
// and fails the test on a 5xx.
func (s *sweep) send(op sweepOp, token, target, mode string) response {
	t, c, g := s.t, s.c, s.g
	path, query := op.path, url.Values{}
	for _, p := range op.doc.Parameters {
		v := g.param(p.Name, p.Schema, target == p.In+":"+p.Name, mode)
		switch p.In {
		case "path":
			if v == "" {
				v = " " // an empty segment would be another route
			}
			path = strings.ReplaceAll(path, "{"+p.Name+"}", url.PathEscape(v))
		case "query":
			query.Set(p.Name, v)
		}
	}
	if len(query) > 0 {
		path += "?" + query.Encode()
	}
	var b any
	var raw []byte
	if body, ok := op.doc.RequestBody.Content["application/json"]; ok {
		var err error
		if raw, err = json.Marshal(g.value(body.Schema, "body", "body", target, mode, 0, g.plan(op))); err != nil {
			t.Error(err)
			return response{}
		}
		b = raw
	}
	headers := []string{"Idempotency-Key", fmt.Sprintf("sweep-%d", s.sent.Add(1))}
	if form, ok := op.doc.RequestBody.Content["multipart/form-data"]; ok {
		var ctype string
		raw, ctype = g.form(t, form.Schema, target, mode, g.plan(op))
		b = raw
		headers = append(headers, "Content-Type", ctype)
	}
	if strings.HasPrefix(op.path, "/api/v1/driver/") {
		headers = append(headers, "X-Driver-Pass", c.app.driverPass.Token(1, c.clock.Now().Add(24*time.Hour)))
	}
	r := c.do(op.method, path, token, b, headers...)
	if r.Status >= 500 {
		t.Errorf("%s %s with %s %s, body %.300s: %d %.300s", op.method, path, target, mode, raw, r.Status, r.Body)
	}
	// A refusal may quote what it refuses, not echo a request's 5,000
	// characters back: its message stays short whatever was sent.
	if r.Status >= 400 && len(r.Body) > maxErrorBody {
		t.Errorf("%s %s with %s %s: a %d refusal of %d bytes: %.300s", op.method, op.path, target, mode, r.Status, len(r.Body), r.Body)
	}
	return r
}

// checkField fails the test when a 400 for target made bad names another
// field: the field itself, a list or object it is in, or a part of it are
// the field; so is the other end of a rule between two (crossFields).
func (s *sweep) checkField(op sweepOp, target, mode string, r response) {
	var env struct{ Error struct{ Field string } }
	if r.Status != http.StatusBadRequest || json.Unmarshal(r.Body, &env) != nil || env.Error.Field == "" {
		return
	}
	field, want := env.Error.Field, target
	if _, after, ok := strings.Cut(want, ":"); ok {
		want = after
	}
	want = strings.TrimPrefix(strings.TrimPrefix(want, "body"), ".")
	within := func(a, b string) bool { return strings.HasPrefix(a, b+".") || strings.HasPrefix(a, b+"[") }
	leaf := func(path string) string { return path[strings.LastIndexAny(path, ".]")+1:] }
	if want == "" || field == want || within(want, field) || within(field, want) || slices.Contains(crossFields[leaf(want)], leaf(field)) {
		return
	}
	s.t.Errorf("%s %s with %s %s: refused naming %q: %.300s", op.method, op.path, target, mode, field, r.Body)
}

// crossFields are the rules between two fields: one made bad may be refused
// naming the other (arrived is accepted + rejected; a window opens before
// it closes; a commission rate's scope is the default, a category or a
// product; a return's line names a purchase-order line or a product; a
// service area is cells or GeoJSON).
var crossFields = map[string][]string{
	"accepted": {"arrived"}, "rejected": {"arrived"},
	"opens": {"closes"}, "receiving_from": {"receiving_until"},
	"shift_start": {"shift_end"}, "delivery_start": {"delivery_end"},
	"category": {"scope"}, "product_id": {"scope", "purchase_order_line_id"}, "geojson": {"cells"},
}

// maxErrorBody bounds the size of an error's answer, in bytes: the
// envelope, a message quoting at most apperr's 200 characters of a value
// (up to 4 bytes each, or 6 escaped), and details.
const maxErrorBody = 2048

// token issues a token of spec straight into the database.
func (s *sweep) token(spec auth.TokenSpec) string {
	tok, _, err := auth.IssueToken(context.Background(), s.c.app.db, s.c.clock.Now(), spec)
	if err != nil {
		s.t.Fatal(err)
	}
	return tok
}

// sweepOp is one operation of the document: what the sweep reads of it.
type sweepOp struct {
	method, path string
	doc          struct {
		Parameters []struct {
			In     string         `json:"in"`
			Name   string         `json:"name"`
			Schema map[string]any `json:"schema"`
		} `json:"parameters"`
		RequestBody struct {
			Content map[string]struct {
				Schema map[string]any `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
	}
}

// sweepModes are the ways a value is made bad, one request each.
var sweepModes = []string{"zero", "negative", "max-int64", "past-int64", "no-such-day", "far", "long", "nul", "wrong-type", "null",
	"fraction", "exponent", "padded"}

// sweepGen builds requests from the document's schemas, and from plans:
// plausibleFor, and the values known once the city exists.
type sweepGen struct {
	schemas map[string]any
	plans   map[string]map[string]any
}

// plan is the plausible values op's requests take by path.
func (g sweepGen) plan(op sweepOp) map[string]any {
	plan := maps.Clone(g.plans[""])
	maps.Copy(plan, g.plans[op.method+" "+op.path])
	return plan
}

// resolve follows a $ref and takes the first of allOf, oneOf or anyOf.
func (g sweepGen) resolve(s map[string]any) map[string]any {
	for range 8 {
		if ref, ok := s["$ref"].(string); ok {
			s, _ = g.schemas[strings.TrimPrefix(ref, "#/components/schemas/")].(map[string]any)
			continue
		}
		alt := false
		for _, k := range []string{"allOf", "oneOf", "anyOf"} {
			if alts, ok := s[k].([]any); ok && len(alts) > 0 {
				s, _ = alts[0].(map[string]any)
				alt = true
				break
			}
		}
		if !alt {
			return s
		}
	}
	return s
}

func schemaType(s map[string]any) string {
	if t, ok := s["type"].(string); ok {
		return t
	}
	if ts, ok := s["type"].([]any); ok {
		for _, t := range ts {
			if t != "null" {
				return t.(string)
			}
		}
	}
	if _, ok := s["properties"]; ok {
		return "object"
	}
	return ""
}

// leaves appends the paths of the fields below s.
func (g sweepGen) leaves(s map[string]any, path string, depth int, out *[]string) {
	s = g.resolve(s)
	if depth > 5 {
		return
	}
	switch schemaType(s) {
	case "object":
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			sub, _ := p.(map[string]any)
			*out = append(*out, path+"."+name)
			g.leaves(sub, path+"."+name, depth+1, out)
		}
	case "array":
		items, _ := s["items"].(map[string]any)
		g.leaves(items, path+"[0]", depth+1, out)
	}
}

// value is a plausible instance of s, but for the field at bad, which is
// made bad in mode.
func (g sweepGen) value(s map[string]any, name, path, bad, mode string, depth int, plan map[string]any) any {
	s = g.resolve(s)
	if path == bad {
		return g.hostile(s, mode)
	}
	if v, ok := plan[path]; ok && !strings.HasPrefix(bad, path) {
		return v
	}
	if v, ok := plausibleByName[name]; ok && !strings.HasPrefix(bad, path) {
		return v
	}
	switch schemaType(s) {
	case "object":
		out := map[string]any{}
		if depth > 5 {
			return out
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			sub, _ := p.(map[string]any)
			if at := path + "." + name; plan[at] != leftOut || at == bad {
				out[name] = g.value(sub, name, at, bad, mode, depth+1, plan)
			}
		}
		return out
	case "array":
		items, _ := s["items"].(map[string]any)
		return []any{g.value(items, name, path+"[0]", bad, mode, depth+1, plan)}
	}
	return plausible(name, s)
}

// form is a plausible multipart body of schema s, as a client's form sends
// it, with the part at bad made bad in mode: a field's text as plan or
// param writes it (null: the part left out); a file array's parts each a
// small PNG, or the bad value's text as a PNG's bytes, or none (null, an
// empty array), or one more than a claim may hold (too long: the server
// stops reading there).
func (g sweepGen) form(t *testing.T, s map[string]any, bad, mode string, plan map[string]any) ([]byte, string) {
	fields := map[string]string{}
	var files []claimPhoto
	props, _ := g.resolve(s)["properties"].(map[string]any)
	for name, p := range props {
		sub, _ := p.(map[string]any)
		sub = g.resolve(sub)
		path := "body." + name
		if schemaType(sub) != "array" {
			switch v, ok := plan[path]; {
			case bad == path && mode == "null":
			case bad != path && ok:
				fields[name] = fmt.Sprint(v)
			default:
				fields[name] = g.param(name, sub, bad == path, mode)
			}
			continue
		}
		png := claimPhoto{"image/png", fulfillmenttest.PNG(4, 3)}
		switch {
		case bad == path && (mode == "null" || mode == "zero"):
		case bad == path && mode == "long":
			files = slices.Repeat([]claimPhoto{png}, aftersale.MaxPhotos+1)
		case bad == path || bad == path+"[0]":
			items, _ := sub["items"].(map[string]any)
			v := g.param(name, items, true, mode)
			files = []claimPhoto{png, {"image/png", []byte(v)}}
		default:
			files = []claimPhoto{png}
		}
	}
	return claimForm(t, fields, files...)
}

// param is a parameter's text: plausible, or bad in mode.
func (g sweepGen) param(name string, s map[string]any, bad bool, mode string) string {
	s = g.resolve(s)
	v := plausible(name, s)
	if bad {
		v = g.hostile(s, mode)
	}
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return string(v)
	}
	raw, _ := json.Marshal(v)
	return string(raw)
}

// plausibleByName are values for fields whose rule the schema does not
// spell out.
var plausibleByName = map[string]any{
	"phone": "13912345678", "email": "po@example.com", "webhook_url": "https://example.com/po",
	"opens": "08:00", "closes": "21:00", "shift_start": "05:00", "shift_end": "12:00", "share_pct": json.Number("100"),
	"accepted": json.Number("1"), "rejected": json.Number("0"), "arrived": json.Number("1"), "code": "123456",
	"webhook_secret": "sweep-secret-0123456789", "time_zone": "Asia/Shanghai", "receiving_from": "01:00", "receiving_until": "06:00",
	"month": "2026-12", "opt_out": []any{}, "reason": "", "delivery_start": "07:00", "delivery_end": "10:00",
	"file": "sort-sheet.pdf", "stage": "pick",
}

// plausibleFor are, by operation ("": every one), the fields whose
// plausible value the schema cannot tell, by their path: a value, or
// leftOut where one field excludes others. A resident is named by id, or by
// phone and name; the default commission rate takes neither category nor
// product; a return of rejected units names their purchase-order line, and
// they have no lot; a service area is cells (one in the city) or GeoJSON; a
// rejection says why.
var plausibleFor = map[string]map[string]any{
	"":                                  {"body.resident.id": leftOut},
	"PUT /api/v1/ops/commission-rates":  {"body.category": leftOut, "body.product_id": leftOut},
	"POST /api/v1/ops/supplier-returns": {"body.lines[0].product_id": leftOut, "body.lines[0].lot": leftOut, "body.lines[0].expires_on": leftOut},
	"PUT /api/v1/ops/warehouses/{id}/service-area":  {"body.geojson": leftOut, "body.cells": []any{cellAround(31.23, 121.47)}},
	"POST /api/v1/ops/aftersale/claims/{id}/reject": {"body.reason": "照片看不出问题"},
}

// cellAround is the service-area cell of a location, as a request names it.
func cellAround(lat, lng float64) string {
	c, err := geo.CellsAt(lat, lng)
	if err != nil {
		panic(err)
	}
	text, _ := c.R7.MarshalText()
	return string(text)
}

// leftOut marks a field plausibleFor leaves out of a plausible request.
var leftOut = &struct{ leftOut bool }{}

// plausible is a value of the field name with schema s that a careful
// client might send.
func plausible(name string, s map[string]any) any {
	if v, ok := plausibleByName[name]; ok {
		return v
	}
	if enum, ok := s["enum"].([]any); ok && len(enum) > 0 {
		return enum[0]
	}
	switch schemaType(s) {
	case "integer", "number":
		if m, ok := s["minimum"].(float64); ok && m > 1 {
			return json.Number(fmt.Sprint(int64(m)))
		}
		return json.Number("1")
	case "boolean":
		return true
	case "object":
		return map[string]any{}
	case "array":
		return []any{}
	}
	format, _ := s["format"].(string)
	pattern, _ := s["pattern"].(string)
	switch {
	case format == "date":
		return testDate.String()
	case format == "date-time":
		return beforeCutoff.Format("2006-01-02T15:04:05Z07:00")
	case strings.Contains(pattern, ":"):
		return "08:00"
	case strings.Contains(pattern, "-"):
		return "2026-12"
	case strings.Contains(pattern, `\d{9}`), strings.Contains(pattern, "[0-9]{9}"):
		return "13912345678"
	}
	return "x"
}

// hostile is a bad value for s in mode.
func (g sweepGen) hostile(s map[string]any, mode string) any {
	typ := schemaType(s)
	format, _ := s["format"].(string)
	pattern, _ := s["pattern"].(string)
	switch mode {
	case "null":
		return nil
	case "wrong-type":
		if typ == "string" {
			return json.Number("7")
		}
		return "7"
	case "long":
		if typ == "array" {
			items, _ := s["items"].(map[string]any)
			out := make([]any, 20001)
			for i := range out {
				out[i] = plausible("", g.resolve(items))
			}
			return out
		}
		return strings.Repeat("界", 5000)
	case "nul":
		return "a\x00b"
	case "fraction", "exponent":
		v := map[string]string{"fraction": "1.5", "exponent": "1e3"}[mode]
		if typ == "integer" || typ == "number" {
			return json.Number(v)
		}
		return v
	case "padded":
		if typ == "integer" || typ == "number" {
			return json.Number("-0")
		}
		return " " + fmt.Sprint(plausible("", s)) + " "
	}
	switch typ {
	case "integer", "number":
		switch mode {
		case "zero":
			return json.Number("0")
		case "negative":
			return json.Number("-1")
		case "max-int64", "far":
			return json.Number("9223372036854775807")
		case "past-int64":
			return json.Number("92233720368547758070")
		case "no-such-day":
			return json.Number("1e400")
		}
	case "array":
		if mode == "zero" {
			return []any{}
		}
		return []any{nil}
	case "object":
		return []any{}
	case "boolean":
		return json.Number("2")
	}
	switch mode {
	case "zero":
		return ""
	case "negative":
		return "-1"
	case "max-int64":
		return "9223372036854775807"
	case "past-int64":
		return "92233720368547758070"
	}
	far := mode == "far"
	switch {
	case format == "date" && far:
		return "0000-12-31" // PostgreSQL has no year 0: a date that reaches it unbounded is a 500
	case format == "date":
		return "2026-02-30"
	case format == "date-time" && far:
		return "0000-01-01T00:00:00Z"
	case format == "date-time":
		return "2026-02-30T25:61:00Z"
	case strings.Contains(pattern, ":") && far:
		return "23:59"
	case strings.Contains(pattern, ":"):
		return "24:60"
	case strings.Contains(pattern, "-") && far:
		return "0000-01"
	case strings.Contains(pattern, "-"):
		return "2026-13"
	case far:
		return strings.Repeat("x", 200)
	}
	return "\u202e\x01"
}
