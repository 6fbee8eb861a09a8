package main

import (
	"fmt"
	"net/http"
	"testing"
)

// TestOutOfRangeInputIs400 sends dates, months, ids and limits that parse
// but lie outside what the columns behind them hold: each is refused with
// 400 and the envelope naming the parameter, never passed on to PostgreSQL
// to fail there as a 500.
func TestOutOfRangeInputIs400(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	leader, wh := c.leaders[0], c.warehous.ID
	egg := c.item("EGG")
	publish := func(date string) map[string]any {
		return map[string]any{"warehouse_id": wh, "delivery_date": date,
			"items": []map[string]any{{"product_id": egg.ProductID, "price_fen": 100, "stock_cap": 10}}}
	}
	cases := []struct {
		name, method, path, token string
		body                      any
		field                     string
	}{
		{"leader catalog year 0", "GET", "/api/v1/leader/catalog?date=0000-01-01", leader, nil, "date"},
		{"leader orders year 0", "GET", "/api/v1/leader/orders?date=0000-01-01", leader, nil, "date"},
		{"leader deliveries year 0", "GET", "/api/v1/leader/deliveries?date=0000-01-01", leader, nil, "date"},
		{"leader commissions from year 0", "GET", "/api/v1/leader/commissions?from=0000-01-01&to=2026-12-31", leader, nil, "from"},
		{"leader commissions to year 9999", "GET", "/api/v1/leader/commissions?from=2026-01-01&to=9999-12-31", leader, nil, "to"},
		{"ops waves year 0", "GET", "/api/v1/ops/waves?date=0000-01-01", c.admin, nil, "date"},
		{"ops orders year 0", "GET", "/api/v1/ops/orders?date=0000-01-01", c.admin, nil, "date"},
		{"ops sale items year 0", "GET", fmt.Sprintf("/api/v1/ops/sale-items?date=0000-01-01&warehouse_id=%d", wh), c.admin, nil, "date"},
		{"ops areas year 0", "GET", fmt.Sprintf("/api/v1/ops/warehouses/%d/areas?date=0000-01-01", wh), c.admin, nil, "date"},
		{"commission statement month 0000-01", "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv?month=0000-01", c.points[0].Leader.ID), c.admin, nil, "month"},
		{"sale for year 0", "POST", "/api/v1/ops/sale-items", c.admin, publish("0000-01-01"), "delivery_date"},
		{"sale in the past", "POST", "/api/v1/ops/sale-items", c.admin, publish("2020-01-01"), "delivery_date"},
		{"sale yesterday", "POST", "/api/v1/ops/sale-items", c.admin, publish("2026-11-29"), "delivery_date"},
		{"sale a year ahead", "POST", "/api/v1/ops/sale-items", c.admin, publish("2027-12-01"), "delivery_date"},
		{"tokens of leader 2^31", "GET", "/api/v1/ops/tokens?leader_id=2147483648", c.admin, nil, ""},
		{"tokens of leader 2^63", "GET", "/api/v1/ops/tokens?leader_id=9223372036854775808", c.admin, nil, "leader_id"},
		{"arrive at stop 2^31", "POST", "/api/v1/ops/routes/1/stops/2147483648/arrive", c.admin, nil, "seq"},
		{"areas max_kg 0.0001", "GET", fmt.Sprintf("/api/v1/ops/warehouses/%d/areas?date=2026-12-01&max_kg=0.0001", wh), c.admin, nil, "max_kg"},
		{"areas max_l 0.000001", "GET", fmt.Sprintf("/api/v1/ops/warehouses/%d/areas?date=2026-12-01&max_l=0.000001", wh), c.admin, nil, "max_l"},
		// The same flaws elsewhere: an id filter the database typed as int4,
		// and query text PostgreSQL cannot hold.
		{"ops orders of warehouse 2^31", "GET", "/api/v1/ops/orders?date=2026-12-01&warehouse_id=2147483648", c.admin, nil, ""},
		{"ops orders of point 2^31", "GET", "/api/v1/ops/orders?date=2026-12-01&pickup_point_id=2147483648", c.admin, nil, ""},
		{"points of warehouse 2^31", "GET", "/api/v1/ops/pickup-points?warehouse_id=2147483648", c.admin, nil, ""},
		{"dispatch route 2^31", "POST", "/api/v1/ops/routes/2147483648/dispatch", c.admin, nil, ""},
		{"printout route not UTF-8", "GET", "/api/v1/ops/waves/1/printouts/sort-sheet.csv?route=%ff", c.admin, nil, "route"},
		{"sort plan route not UTF-8", "GET", "/api/v1/ops/waves/1/sort-plan?route=%ff", c.admin, nil, "route"},
		{"rerun stage not UTF-8", "POST", "/api/v1/ops/waves/1/stages/%ff/rerun", c.admin, nil, "stage"},
		{"printout route NUL", "GET", "/api/v1/ops/waves/1/printouts/sort-sheet.csv?route=R%0001", c.admin, nil, "route"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.do(tc.method, tc.path, tc.token, tc.body)
			if r.Status >= 500 {
				t.Fatalf("server error %d: %.300s", r.Status, r.Body)
			}
			if tc.field == "" { // a legal id that names nothing: an empty list or 404
				if r.Status != http.StatusOK && r.Status != http.StatusNotFound {
					t.Fatalf("status %d, want 200 or 404: %.300s", r.Status, r.Body)
				}
				return
			}
			if _, field := envelopeOf(t, r); r.Status != http.StatusBadRequest || field != tc.field {
				t.Fatalf("status %d field %q, want 400 naming %q: %.300s", r.Status, field, tc.field, r.Body)
			}
		})
	}

	// A request ID travels into the jobs table: one PostgreSQL cannot hold
	// is replaced by a generated one, not refused there as a 500.
	r := c.do("POST", c.wavePath()+"/stages/pick/rerun", c.admin, nil, "X-Request-ID", "r\xffed")
	if id := r.Header.Get("X-Request-ID"); r.Status >= 500 || len(id) != 16 {
		t.Fatalf("request ID not UTF-8: %d %q %.300s", r.Status, id, r.Body)
	}
}
