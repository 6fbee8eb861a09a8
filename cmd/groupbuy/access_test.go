package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/testenv"
)

// principal is who a request of the walk comes as.
type principal struct {
	name    string
	token   string
	headers []string // extra headers, e.g. a malformed Authorization
	role    string   // the table column that applies; "" for credentials that must be refused
}

// TestAccessTable walks every route of the table with every principal and
// checks the answer against the route's Access: no or bad credentials are
// 401 on a guarded route, a role it does not admit 403, and an admitted
// one gets past the guard. The README's table and openapi.json's x-roles
// are generated from the same Access (openapi_test.go checks they are
// fresh).
func TestAccessTable(t *testing.T) {
	t.Parallel()
	start := time.Now()
	c := newTestCity(t, 2)
	ctx := context.Background()
	now := c.clock.Now()

	// Real ids where the city has them, so handlers get past their lookups.
	egg := c.item("EGG")
	r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1), "Idempotency-Key", "walk-1")
	var order intake.Order
	r.json(t, &order)
	if r.Status != http.StatusCreated {
		t.Fatalf("order: %d %s", r.Status, r.Body)
	}
	var waves struct{ Waves []wave.Wave }
	c.do("GET", "/api/v1/ops/waves?date=2026-12-01", c.admin, nil).json(t, &waves)
	var lineID int64
	if err := c.app.db.Get(&lineID, `SELECT min(id) FROM order_lines`); err != nil {
		t.Fatal(err)
	}
	_, spareToken, err := auth.IssueToken(ctx, c.app.db, now, auth.TokenSpec{Role: auth.RoleWarehouse, Name: "revoked by the walk"})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{ // the path segment before a parameter -> its value
		"orders":               strconv.FormatInt(order.ID, 10),
		"residents":            strconv.FormatInt(order.Resident.ID, 10),
		"warehouses":           strconv.FormatInt(c.warehous.ID, 10),
		"pickup-points":        strconv.FormatInt(c.points[0].Point.ID, 10),
		"leaders":              strconv.FormatInt(c.points[0].Leader.ID, 10),
		"waves":                strconv.FormatInt(waves.Waves[0].ID, 10),
		"sale-items":           strconv.FormatInt(egg.ID, 10),
		"order-lines":          strconv.FormatInt(lineID, 10),
		"tokens":               strconv.FormatInt(spareToken, 10),
		"deliveries":           "1", // none yet: the handlers answer 404 past the guard
		"routes":               "1",
		"suppliers":            "1", // none yet: 404 past the guard, like the purchase orders and their lines
		"products":             strconv.FormatInt(egg.ProductID, 10),
		"purchase-orders":      "1",
		"purchase-order-lines": "1",
		"supplier-returns":     "1",
		"stages":               "close",
		"stops":                "1",
		"claims":               "1", // none: 404 past the guard, as for their photos
		"photos":               "1",
		"printouts":            "pick-list.csv",
		"queues":               "api/queues", // the console's queue monitor (asynqmon)
	}

	// Credentials that must be refused: revoked and expired tokens of a
	// leader and of an admin, so they are refused for what they are, not
	// for their role.
	leaderTok := func(name string, issued time.Time, ttl time.Duration) (string, int64) {
		tok, id, err := auth.IssueToken(ctx, c.app.db, issued, auth.TokenSpec{Role: auth.RoleLeader,
			LeaderID: c.points[0].Leader.ID, Name: name, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return tok, id
	}
	adminTok := func(name string, issued time.Time, ttl time.Duration) (string, int64) {
		tok, id, err := auth.IssueToken(ctx, c.app.db, issued, auth.TokenSpec{Role: auth.RoleAdmin, Name: name, TTL: ttl})
		if err != nil {
			t.Fatal(err)
		}
		return tok, id
	}
	revokedLeader, revokedLeaderID := leaderTok("revoked leader", now, 0)
	revokedAdmin, revokedAdminID := adminTok("revoked admin", now, 0)
	for _, tok := range []struct {
		token, path string
		id          int64
	}{{revokedLeader, "/api/v1/leader/me", revokedLeaderID}, {revokedAdmin, "/api/v1/ops/warehouses", revokedAdminID}} {
		// Used first, so the check is cached when the revocation comes.
		if r := c.do("GET", tok.path, tok.token, nil); r.Status != http.StatusOK {
			t.Fatalf("token before revocation: %d %s", r.Status, r.Body)
		}
		if r := c.do("POST", fmt.Sprintf("/api/v1/ops/tokens/%d/revoke", tok.id), c.admin, nil); r.Status != http.StatusOK {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
	}
	expiredLeader, _ := leaderTok("expired leader", now.Add(-2*time.Hour), time.Hour)
	expiredAdmin, _ := adminTok("expired admin", now.Add(-2*time.Hour), time.Hour)

	principals := []principal{
		{name: "no token"},
		{name: "malformed header", headers: []string{"Authorization", "Basic Z2I6Z2I="}},
		{name: "unknown token", token: "gb_" + strings.Repeat("A", 43)},
		{name: "revoked leader token", token: revokedLeader},
		{name: "revoked admin token", token: revokedAdmin},
		{name: "expired leader token", token: expiredLeader},
		{name: "expired admin token", token: expiredAdmin},
		{name: "leader", token: c.leaders[0], role: "leader"},
		{name: "warehouse", token: c.staffToken("warehouse"), role: "warehouse"},
		{name: "ops", token: c.staffToken("ops"), role: "ops"},
		{name: "admin", token: c.admin, role: "admin"},
	}

	routes := c.app.routes()
	requests := 0
	for _, rt := range routes {
		public := rt.Access.Public()
		path := fillPath(t, rt.Path, ids)
		var body any
		if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			body = "{}"
		}
		for _, p := range principals {
			requests++
			r := c.do(rt.Method, path, p.token, body, p.headers...)
			switch {
			case public:
				// A public route signed by its caller (the payment system's
				// callback) refuses an unsigned body for what it is.
				if r.Status == http.StatusUnauthorized && r.errorCode(t) == "bad_signature" {
					break
				}
				// A driver's page route wants its route's pass, not a token.
				if r.Status == http.StatusUnauthorized && r.errorCode(t) == "driver_pass_missing" {
					break
				}
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
					t.Errorf("%s %s as %s: %d, but the route is public: %s", rt.Method, path, p.name, r.Status, r.Body)
				}
			case p.role == "":
				if r.Status != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" {
					t.Errorf("%s %s as %s: %d %s, want 401 unauthorized", rt.Method, path, p.name, r.Status, r.Body)
				}
			case rt.Access.Admits(auth.Role(p.role)):
				if r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
					t.Errorf("%s %s as %s (allowed): %d %s", rt.Method, path, p.name, r.Status, r.Body)
				}
			default:
				if r.Status != http.StatusForbidden || r.errorCode(t) != "forbidden" {
					t.Errorf("%s %s as %s (not allowed): %d %s, want 403 forbidden", rt.Method, path, p.name, r.Status, r.Body)
				}
			}
		}
	}
	t.Logf("%d routes × %d principals = %d requests in %v", len(routes), len(principals), requests, time.Since(start).Round(time.Millisecond))
}

// fillPath replaces each :param of a gin route with the value for the
// segment before it.
func fillPath(t *testing.T, route string, ids map[string]string) string {
	t.Helper()
	segs := strings.Split(route, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, ":") && !strings.HasPrefix(s, "*") {
			continue
		}
		v, ok := ids[segs[i-1]]
		if !ok {
			t.Fatalf("route %s: no value for %s after %q; add one to the walk", route, s, segs[i-1])
		}
		segs[i] = v
	}
	return strings.Join(segs, "/")
}

// TestLeadersSeeOnlyTheirOwn: leader B against leader A's orders,
// deliveries, pickup codes, residents and commission.
func TestLeadersSeeOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	a, b := c.leaders[0], c.leaders[1]
	leaderA := c.points[0].Leader.ID

	// Orders: B cannot read or cancel A's, and lists none of them.
	var mine, theirs intake.OrderPage
	c.do("GET", "/api/v1/leader/orders?date=2026-12-01", a, nil).json(t, &mine)
	c.do("GET", "/api/v1/leader/orders?date=2026-12-01", b, nil).json(t, &theirs)
	if len(mine.Orders) == 0 || len(theirs.Orders) == 0 {
		t.Fatalf("orders: A has %d, B has %d", len(mine.Orders), len(theirs.Orders))
	}
	for _, o := range theirs.Orders {
		if o.LeaderID == leaderA {
			t.Fatalf("B's listing holds A's order %d", o.ID)
		}
	}
	orderA := mine.Orders[0]
	for _, req := range []struct{ method, path string }{
		{"GET", fmt.Sprintf("/api/v1/leader/orders/%d", orderA.ID)},
		{"POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", orderA.ID)},
	} {
		if r := c.do(req.method, req.path, b, nil); r.Status != http.StatusForbidden || r.errorCode(t) != "not_your_order" {
			t.Fatalf("B: %s %s: %d %s, want 403 not_your_order", req.method, req.path, r.Status, r.Body)
		}
	}
	if r := c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", orderA.ID), a, nil); r.Status != http.StatusOK || bytes.Contains(r.Body, []byte(`"status":"cancelled"`)) {
		t.Fatalf("A's order after B tried to cancel it: %d %s", r.Status, r.Body)
	}

	// Deliveries: B sees only their own and cannot receive A's.
	m.dispatch(c.admin)
	dA, dB := m.deliveryOf(0), m.deliveryOf(1)
	if dA.ID == dB.ID {
		t.Fatalf("A and B see the same delivery %d", dA.ID)
	}
	empty := map[string]any{"lines": []any{}}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", dA.ID), b, empty); r.Status != http.StatusNotFound {
		t.Fatalf("B receiving A's delivery: %d %s", r.Status, r.Body)
	}
	if d := m.deliveryOf(0); d.State == lastmile.DeliveryReceived {
		t.Fatal("A's delivery was received by B")
	}
	for l, d := range []lastmile.Delivery{dA, dB} {
		if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d.ID), c.leaders[l], empty); r.Status != http.StatusOK {
			t.Fatalf("leader %d receiving: %d %s", l, r.Status, r.Body)
		}
	}

	// Pickup codes: A's codes open nothing for B.
	codesOf := func(point int64) []string {
		var codes []string
		if err := c.app.db.Select(&codes, `SELECT code FROM pickup_codes WHERE pickup_point_id = $1 ORDER BY code`, point); err != nil {
			t.Fatal(err)
		}
		if len(codes) == 0 {
			t.Fatalf("no pickup codes at point %d", point)
		}
		return codes
	}
	codesA, codesB := codesOf(c.points[0].Point.ID), codesOf(c.points[1].Point.ID)
	for _, path := range []string{"/api/v1/leader/pickups/verify", "/api/v1/leader/pickups/collect"} {
		r := c.do("POST", path, b, map[string]any{"code": codesA[0]})
		if r.Status != http.StatusNotFound || r.errorCode(t) != "unknown_code" {
			t.Fatalf("B: %s with A's code: %d %s", path, r.Status, r.Body)
		}
	}
	var parcels struct{ Parcels []lastmile.Parcel }
	r := c.do("POST", "/api/v1/leader/pickups/verify", a, map[string]any{"code": codesA[0]})
	r.json(t, &parcels)
	if r.Status != http.StatusOK || len(parcels.Parcels) == 0 {
		t.Fatalf("A verifying: %d %s", r.Status, r.Body)
	}
	for _, l := range parcels.Parcels[0].Lines {
		if l.State != lastmile.ParcelReady {
			t.Fatalf("A's parcel after B's try: %+v", parcels.Parcels[0])
		}
	}

	// Residents: B cannot set the contact of A's resident.
	contact := map[string]any{"email": "zhang@example.com", "opt_out": []string{"sms"}}
	residentA := parcels.Parcels[0].ResidentID
	if r := c.do("PUT", fmt.Sprintf("/api/v1/leader/residents/%d/contact", residentA), b, contact); r.Status != http.StatusNotFound {
		t.Fatalf("B setting A's resident's contact: %d %s", r.Status, r.Body)
	}
	var email string
	if err := c.app.db.Get(&email, `SELECT coalesce(email, '') FROM residents WHERE id = $1`, residentA); err != nil {
		t.Fatal(err)
	}
	if email != "" {
		t.Fatalf("A's resident's e-mail became %q", email)
	}
	if r := c.do("PUT", fmt.Sprintf("/api/v1/leader/residents/%d/contact", residentA), a, contact); r.Status != http.StatusOK {
		t.Fatalf("A setting their resident's contact: %d %s", r.Status, r.Body)
	}

	// An empty selection hands nothing over, rather than everything.
	if r := c.do("POST", "/api/v1/leader/pickups/collect", a, map[string]any{"code": codesA[0], "order_line_ids": []int64{}}); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"order_line_ids"`) {
		t.Fatalf("collecting none of the lines: %d %s", r.Status, r.Body)
	}

	// Commission: each collects a parcel; each ledger holds only its own.
	for l, code := range []string{codesA[0], codesB[0]} {
		if r := c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[l], map[string]any{"code": code}); r.Status != http.StatusOK {
			t.Fatalf("leader %d collecting: %d %s", l, r.Status, r.Body)
		}
	}
	ledger := func(token string) commission.CommissionPage {
		var p commission.CommissionPage
		r := c.do("GET", "/api/v1/leader/commissions?from=2026-11-01&to=2026-12-31", token, nil)
		r.json(t, &p)
		if r.Status != http.StatusOK || len(p.Entries) == 0 {
			t.Fatalf("commissions: %d %s", r.Status, r.Body)
		}
		return p
	}
	ledgerA, ledgerB := ledger(a), ledger(b)
	idsA := map[int64]bool{}
	for _, e := range ledgerA.Entries {
		idsA[e.ID] = true
		if e.LeaderID != leaderA {
			t.Errorf("A's ledger holds an entry of leader %d", e.LeaderID)
		}
	}
	for _, e := range ledgerB.Entries {
		if idsA[e.ID] || e.LeaderID == leaderA {
			t.Errorf("B's ledger holds A's entry %+v", e)
		}
	}
}

// TestTokensAreHashedRevocableAndExpire: revocation (here at once, in
// another process within the cache TTL), expiry, and no plain token at rest.
func TestTokensAreHashedRevocableAndExpire(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	ctx := context.Background()
	opsToken := c.staffToken("ops")
	issued := []string{c.admin, opsToken, c.leaders[0], c.leaders[1]}

	// A second API process over the same database, with its own cache.
	other, err := newApp(ctx, c.app.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), c.clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.close)
	otherSrv := apiServer(t, other)
	onOther := func(method, path, token string) response {
		return doHTTP(t, otherSrv.Client(), method, otherSrv.URL+path, token, nil)
	}

	// The list shows every token, and no secret.
	var list struct {
		Tokens  []auth.TokenInfo
		HasMore bool `json:"has_more"`
	}
	r := c.do("GET", "/api/v1/ops/tokens", c.admin, nil)
	r.json(t, &list)
	if r.Status != http.StatusOK || len(list.Tokens) != 4 || list.HasMore {
		t.Fatalf("token list: %d %s", r.Status, r.Body)
	}
	for _, tok := range issued {
		if bytes.Contains(r.Body, []byte(tok)) || bytes.Contains(r.Body, []byte(`"token":`)) {
			t.Fatalf("the token list shows a secret: %s", r.Body)
		}
	}
	if r := c.do("GET", "/api/v1/ops/tokens?limit=1&after_id=1", c.admin, nil); r.Status != http.StatusOK ||
		!bytes.Contains(r.Body, []byte(`"has_more":true`)) || !bytes.Contains(r.Body, []byte(`"next_after_id":2`)) {
		t.Fatalf("a page of one: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/tokens?role=boss", c.admin, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("a bad role filter: %d %s", r.Status, r.Body)
	}
	byRole := func(query string) auth.TokenInfo {
		var l struct{ Tokens []auth.TokenInfo }
		r := c.do("GET", "/api/v1/ops/tokens?"+query, c.admin, nil)
		r.json(t, &l)
		if r.Status != http.StatusOK || len(l.Tokens) != 1 {
			t.Fatalf("tokens?%s: %d %s", query, r.Status, r.Body)
		}
		return l.Tokens[0]
	}
	opsInfo := byRole("role=ops")
	leader1 := byRole(fmt.Sprintf("leader_id=%d", c.points[1].Leader.ID))

	// Both processes have the ops token's check cached.
	for _, do := range []func(string, string, string) response{
		func(m, p, tok string) response { return c.do(m, p, tok, nil) }, onOther} {
		if r := do("GET", "/api/v1/ops/warehouses", opsToken); r.Status != http.StatusOK {
			t.Fatalf("ops token before revocation: %d %s", r.Status, r.Body)
		}
	}
	revokePath := fmt.Sprintf("/api/v1/ops/tokens/%d/revoke", opsInfo.ID)
	if r := c.do("POST", revokePath, opsToken, nil); r.Status != http.StatusForbidden {
		t.Fatalf("ops revoking: %d %s", r.Status, r.Body)
	}
	var revoked, again auth.TokenInfo
	r = c.do("POST", revokePath, c.admin, nil)
	r.json(t, &revoked)
	if r.Status != http.StatusOK || revoked.ID != opsInfo.ID || revoked.Role != auth.RoleOps || revoked.RevokedAt == nil ||
		!revoked.RevokedAt.Equal(c.clock.Now()) || bytes.Contains(r.Body, []byte(opsToken)) || bytes.Contains(r.Body, []byte(`"token":`)) {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	// This process refuses it on the next request.
	if r := c.do("GET", "/api/v1/ops/warehouses", opsToken, nil); r.Status != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" {
		t.Fatalf("revoked token here: %d %s", r.Status, r.Body)
	}
	// Revoking again is harmless and keeps the first time.
	c.clock.Advance(time.Second / 2)
	r = c.do("POST", revokePath, c.admin, nil)
	r.json(t, &again)
	if r.Status != http.StatusOK || again.RevokedAt == nil || !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Fatalf("revoke again: %d %s", r.Status, r.Body)
	}
	// The other process, as documented, admits it until its cache TTL runs out.
	if r := onOther("GET", "/api/v1/ops/warehouses", opsToken); r.Status != http.StatusOK {
		t.Fatalf("revoked token elsewhere within the cache TTL: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(c.app.cfg.TokenTTL)
	if r := onOther("GET", "/api/v1/ops/warehouses", opsToken); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token elsewhere after the cache TTL: %d %s", r.Status, r.Body)
	}
	for _, id := range []string{"999999", "abc"} {
		want := map[string]int{"999999": http.StatusNotFound, "abc": http.StatusBadRequest}[id]
		if r := c.do("POST", "/api/v1/ops/tokens/"+id+"/revoke", c.admin, nil); r.Status != want {
			t.Fatalf("revoke %s: %d %s, want %d", id, r.Status, r.Body, want)
		} else if want == http.StatusNotFound && r.errorCode(t) != "token_not_found" {
			t.Fatalf("revoke an unknown token: %s", r.Body)
		}
	}

	// A leader's token is revoked the same way; the other leader goes on.
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/tokens/%d/revoke", leader1.ID), c.admin, nil); r.Status != http.StatusOK ||
		!bytes.Contains(r.Body, []byte(fmt.Sprintf(`"leader_id":%d`, c.points[1].Leader.ID))) {
		t.Fatalf("revoke a leader token: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/me", c.leaders[1], nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked leader: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/me", c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("the other leader: %d %s", r.Status, r.Body)
	}

	// Expiry: a staff token with ttl_hours, and a leader token with a TTL.
	r = c.do("POST", "/api/v1/ops/tokens", c.admin, map[string]any{"role": "warehouse", "name": "night shift", "ttl_hours": 1})
	var shift struct{ Token string }
	r.json(t, &shift)
	if r.Status != http.StatusCreated {
		t.Fatalf("issue a token for an hour: %d %s", r.Status, r.Body)
	}
	shortLeader, _, err := auth.IssueToken(ctx, c.app.db, c.clock.Now(), auth.TokenSpec{Role: auth.RoleLeader,
		LeaderID: c.points[0].Leader.ID, Name: "a day's phone", TTL: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	issued = append(issued, shift.Token, shortLeader)
	if r := c.do("GET", "/api/v1/ops/warehouses", shift.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("fresh token: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/me", shortLeader, nil); r.Status != http.StatusOK {
		t.Fatalf("fresh leader token: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(30 * time.Minute)
	if r := c.do("GET", "/api/v1/leader/me", shortLeader, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("leader token at its expiry: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/warehouses", shift.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("staff token half-way: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(30 * time.Minute)
	if r := c.do("GET", "/api/v1/ops/warehouses", shift.Token, nil); r.Status != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" {
		t.Fatalf("staff token after an hour: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/warehouses", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("a token without expiry: %d %s", r.Status, r.Body)
	}

	// At rest: each token only as its SHA-256; no column holds a plain one.
	var rows []string
	if err := c.app.db.Select(&rows, `SELECT row_to_json(t)::text FROM api_tokens t`); err != nil {
		t.Fatal(err)
	}
	var hashes [][]byte
	if err := c.app.db.Select(&hashes, `SELECT token_hash FROM api_tokens`); err != nil {
		t.Fatal(err)
	}
	for _, tok := range issued {
		for _, row := range rows {
			if strings.Contains(row, tok) || strings.Contains(row, strings.TrimPrefix(tok, auth.TokenPrefix)) {
				t.Fatalf("api_tokens holds a plain token: %s", row)
			}
		}
		sum := sha256.Sum256([]byte(tok))
		if !slices.ContainsFunc(hashes, func(h []byte) bool { return bytes.Equal(h, sum[:]) }) {
			t.Errorf("no SHA-256 of token %.8s… in api_tokens", tok)
		}
	}
}

// TestWriteLimitPerToken: with a write limit, one token's writes over it
// are refused in every API process while other tokens and reads go on, and
// without Redis writes go on.
func TestWriteLimitPerToken(t *testing.T) {
	c := newTestCity(t, 2)
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	serve := func(cfg config.Config) func(method, path, token string, body any, headers ...string) response {
		a, err := newApp(ctx, cfg, quiet, c.clock)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(a.close)
		srv := apiServer(t, a)
		return func(method, path, token string, body any, headers ...string) response {
			return doHTTP(t, srv.Client(), method, srv.URL+path, token, body, headers...)
		}
	}
	cfg := c.app.cfg
	cfg.WriteLimit = 3
	first, second := serve(cfg), serve(cfg) // two API processes sharing Redis
	egg := c.item("EGG")
	order := func(do func(string, string, string, any, ...string) response, leader int, key string) response {
		return do("POST", "/api/v1/leader/orders", c.leaders[leader], orderBody(fmt.Sprintf("1390000%04d", leader), "李四", egg.ID, 1),
			"Idempotency-Key", key)
	}
	for i := range 2 {
		if r := order(first, 0, fmt.Sprintf("w%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("write %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	if r := order(second, 0, "w2"); r.Status != http.StatusCreated {
		t.Fatalf("write 3, in the other process: %d %s", r.Status, r.Body)
	}
	before := c.count("orders")
	for _, do := range []func(string, string, string, any, ...string) response{first, second} {
		r := order(do, 0, "w3")
		retry, _ := strconv.Atoi(r.Header.Get("Retry-After"))
		if r.Status != http.StatusTooManyRequests || r.errorCode(t) != "too_many_requests" || retry < 1 || retry > 60 {
			t.Fatalf("write 4: %d Retry-After=%q %s", r.Status, r.Header.Get("Retry-After"), r.Body)
		}
	}
	if n := c.count("orders"); n != before {
		t.Fatalf("a refused write stored %d orders", n-before)
	}
	if r := first("GET", "/api/v1/leader/orders?date=2026-12-01", c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("reads are not limited: %d %s", r.Status, r.Body)
	}
	if r := order(first, 1, "other"); r.Status != http.StatusCreated {
		t.Fatalf("another token: %d %s", r.Status, r.Body)
	}
	// Logging in to the console is a write of the token too.
	warehouse := c.staffToken("warehouse")
	for i := range 4 {
		r := first("POST", "/console/session", "", map[string]string{"token": warehouse}, "Content-Type", "application/json")
		if want := map[bool]int{true: http.StatusOK, false: http.StatusTooManyRequests}[i < 3]; r.Status != want {
			t.Fatalf("console login %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	c.clock.Advance(time.Minute)
	if r := order(second, 0, "w3"); r.Status != http.StatusCreated {
		t.Fatalf("the next minute: %d %s", r.Status, r.Body)
	}

	// Redis down: the limit cannot count, and order intake goes on.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	noRedis := serve(cfg)
	for i := range 5 {
		t0 := time.Now()
		if r := order(noRedis, 1, fmt.Sprintf("down%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("write %d without Redis: %d %s", i+1, r.Status, r.Body)
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("write %d without Redis took %v: the limit must not wait long for Redis", i+1, d)
		}
	}
}
