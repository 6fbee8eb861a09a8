package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestBadRequestsWriteNothing walks the error answers of the order API and
// checks each is the JSON envelope with the right status and writes nothing.
func TestBadRequestsWriteNothing(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	egg := c.item("EGG")
	good := orderBody("13912345678", "张三", egg.ID, 1)
	cases := []struct {
		name   string
		token  string
		body   any
		key    string
		status int
		code   string
		field  string
	}{
		{"no token", "", good, "k", 401, "unauthorized", ""},
		{"unknown token", "gb_nope", good, "k", 401, "unauthorized", ""},
		{"staff token on leader API", c.admin, good, "k", 403, "forbidden", ""},
		{"no idempotency key", c.leaders[0], good, "", 400, "invalid_field", "Idempotency-Key"},
		{"malformed JSON", c.leaders[0], `{"resident":`, "k", 400, "bad_json", ""},
		{"not an object", c.leaders[0], `[1,2]`, "k", 400, "invalid_field", "body"},
		{"unknown field", c.leaders[0], `{"resident":{"phone":"13912345678","name":"a"},"lines":[{"sale_item_id":1,"quantity":1}],"coupon":"x"}`, "k", 400, "invalid_field", "coupon"},
		{"wrong type", c.leaders[0], `{"resident":{"phone":"13912345678","name":"a"},"lines":[{"sale_item_id":"1","quantity":1}]}`, "k", 400, "invalid_field", "lines[0].sale_item_id"},
		{"no lines", c.leaders[0], orderBody("13912345678", "张三"), "k", 400, "invalid_field", "lines"},
		{"zero quantity", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 0), "k", 400, "invalid_field", "lines[0].quantity"},
		{"negative quantity", c.leaders[0], orderBody("13912345678", "张三", egg.ID, -5), "k", 400, "invalid_field", "lines[0].quantity"},
		{"huge quantity", c.leaders[0], `{"resident":{"phone":"13912345678","name":"a"},"lines":[{"sale_item_id":1,"quantity":9223372036854775808}]}`, "k", 400, "invalid_field", "lines[0].quantity"},
		{"duplicate line", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1, egg.ID, 2), "k", 400, "invalid_field", "lines[1].sale_item_id"},
		{"bad phone", c.leaders[0], orderBody("call me'; DROP TABLE orders;--", "张三", egg.ID, 1), "k", 400, "invalid_field", "resident.phone"},
		{"no resident", c.leaders[0], `{"lines":[{"sale_item_id":1,"quantity":1}]}`, "k", 400, "invalid_field", "resident.phone"},
		{"unknown sale item", c.leaders[0], orderBody("13912345678", "张三", 99999, 1), "k", 422, "unknown_sale_item", "lines[0].sale_item_id"},
		{"sold out", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1001), "k", 409, "sold_out", ""},
		{"wrong date", c.leaders[0], map[string]any{"resident": map[string]any{"phone": "13912345678", "name": "a"}, "delivery_date": "2026-12-02", "lines": []map[string]any{{"sale_item_id": egg.ID, "quantity": 1}}}, "k", 422, "delivery_date_mismatch", "delivery_date"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.key != "" {
				headers = []string{"Idempotency-Key", tc.key}
			}
			r := c.do("POST", "/api/v1/leader/orders", tc.token, tc.body, headers...)
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
			if code := r.errorCode(t); code != tc.code {
				t.Fatalf("code %q, want %q: %s", code, tc.code, r.Body)
			}
			if tc.field != "" && !strings.Contains(string(r.Body), `"field":"`+tc.field+`"`) {
				t.Fatalf("error does not name field %s: %s", tc.field, r.Body)
			}
		})
	}
	if n := c.count("orders") + c.count("order_lines") + c.count("residents"); n != 0 || c.sold(egg.ID) != 0 {
		t.Fatalf("failed requests wrote %d rows, sold %d", n, c.sold(egg.ID))
	}

	// The answers outside handlers are envelopes too.
	for _, r := range []response{
		c.do("GET", "/nowhere", "", nil),
		c.do("DELETE", "/api/v1/leader/orders", c.leaders[0], nil),
		c.do("GET", "/api/v1/leader/orders/abc", c.leaders[0], nil),
		c.do("GET", "/api/v1/leader/orders", c.leaders[0], nil),
		c.do("POST", "/api/v1/ops/warehouses", c.leaders[0], map[string]any{}),
	} {
		if r.Status < 400 {
			t.Fatalf("expected an error: %d %s", r.Status, r.Body)
		}
		r.errorCode(t)
	}
	// A body over the limit is refused before it is parsed.
	big := fmt.Sprintf(`{"resident":{"phone":"13912345678","name":"%s"},"lines":[]}`, strings.Repeat("x", 2<<20))
	if r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], big, "Idempotency-Key", "big"); r.Status != 400 || r.errorCode(t) != "body_too_large" {
		t.Fatalf("big body: %d %.200s", r.Status, r.Body)
	}
}

func TestRevokedAndExpiredTokens(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	if r := c.do("GET", "/api/v1/leader/me", c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	if _, err := c.app.db.Exec(`UPDATE api_tokens SET revoked_at = now() WHERE role = 'leader'`); err != nil {
		t.Fatal(err)
	}
	c.app.auth.Forget()
	if r := c.do("GET", "/api/v1/leader/me", c.leaders[0], nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked token: %d %s", r.Status, r.Body)
	}
	r := c.do("POST", "/api/v1/ops/tokens", c.admin, map[string]any{"role": "ops", "name": "night shift", "ttl_hours": 1})
	var tok struct{ Token string }
	r.json(t, &tok)
	if r.Status != http.StatusCreated || tok.Token == "" {
		t.Fatalf("issue token: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/warehouses", tok.Token, nil); r.Status != http.StatusOK {
		t.Fatalf("fresh ops token: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/ops/tokens", tok.Token, map[string]any{"role": "admin", "name": "me"}); r.Status != http.StatusForbidden {
		t.Fatalf("ops issuing admin token: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(time.Hour)
	if r := c.do("GET", "/api/v1/ops/warehouses", tok.Token, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d %s", r.Status, r.Body)
	}
}
