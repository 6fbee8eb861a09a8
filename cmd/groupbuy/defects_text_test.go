package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"groupbuy/pickup"
)

// A terminal's colour escape, a bell and a line break: what must never be
// stored in text people read on sheets, labels, screens and SMS. The bare
// one has no white space, which codes refuse on their own.
const (
	controlText = "东门\r\n\x1b[31m红\x07"
	bareControl = "红\x1b[31m\x07"
)

// TestControlCharactersAreRefusedInEveryReadField sends each field people
// read, as JSON and in CSV imports, with control characters in it: each is
// refused with 400 naming the field, and nothing is stored.
func TestControlCharactersAreRefusedInEveryReadField(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	with := func(base map[string]any, path []string, v any) map[string]any {
		out := map[string]any{}
		for k, x := range base {
			out[k] = x
		}
		if len(path) == 2 {
			inner := map[string]any{}
			for k, x := range base[path[0]].(map[string]any) {
				inner[k] = x
			}
			inner[path[1]] = v
			out[path[0]] = inner
			return out
		}
		out[path[0]] = v
		return out
	}
	warehouse := map[string]any{"code": "WX", "name": "仓", "address": "路 1 号", "lat": 31.2, "lng": 121.5, "time_zone": "Asia/Shanghai",
		"cutoff_local": "23:00", "delivery_start": "07:00", "delivery_end": "12:00"}
	point := map[string]any{"code": "TX1", "warehouse_id": c.warehous.ID, "name": "点", "address": "路 2 号", "lat": 31.2, "lng": 121.5,
		"opens": "08:00", "closes": "21:00", "leader": map[string]any{"name": "团长", "phone": "13700001111"}}
	product := map[string]any{"sku": "TX", "name": "品", "unit": "盒", "weight_g": 1, "volume_ml": 1, "zone": "ambient", "bin": "A-1", "category": "类"}
	vehicle := map[string]any{"code": "TX", "name": "车", "count": 1, "capacity_g": 1000, "capacity_ml": 1000, "shift_start": "05:00", "shift_end": "12:00"}
	vehicles := fmt.Sprintf("/api/v1/ops/warehouses/%d/vehicle-types", c.warehous.ID)
	order := orderBody("13912345678", "居民", c.item("EGG").ID, 1)

	cases := []struct {
		method, path, token string
		body                map[string]any
		field               string
		tables              []string
	}{
		{"POST", "/api/v1/ops/warehouses", c.admin, warehouse, "name", []string{"warehouses"}},
		{"POST", "/api/v1/ops/warehouses", c.admin, warehouse, "address", []string{"warehouses"}},
		{"POST", "/api/v1/ops/pickup-points", c.admin, point, "name", []string{"pickup_points"}},
		{"POST", "/api/v1/ops/pickup-points", c.admin, point, "address", []string{"pickup_points"}},
		{"POST", "/api/v1/ops/pickup-points", c.admin, point, "leader.name", []string{"pickup_points", "leaders"}},
		{"POST", "/api/v1/ops/products", c.admin, product, "sku", []string{"products"}},
		{"POST", "/api/v1/ops/products", c.admin, product, "name", []string{"products"}},
		{"POST", "/api/v1/ops/products", c.admin, product, "unit", []string{"products"}},
		{"POST", "/api/v1/ops/products", c.admin, product, "bin", []string{"products"}},
		{"POST", "/api/v1/ops/products", c.admin, product, "category", []string{"products"}},
		{"POST", vehicles, c.admin, vehicle, "code", []string{"vehicle_types"}},
		{"POST", vehicles, c.admin, vehicle, "name", []string{"vehicle_types"}},
		{"PUT", "/api/v1/ops/commission-rates", c.admin, map[string]any{"scope": "category", "category": "类", "rate_bp": 100}, "category", []string{"commission_rates"}},
		{"POST", "/api/v1/ops/suppliers", c.admin, map[string]any{"code": "TX", "name": "供", "channel": "email", "email": "po@example.com"}, "code", []string{"suppliers"}},
		{"POST", "/api/v1/ops/suppliers", c.admin, map[string]any{"code": "TX", "name": "供", "channel": "email", "email": "po@example.com"}, "name", []string{"suppliers"}},
		{"POST", "/api/v1/ops/tokens", c.admin, map[string]any{"role": "ops", "name": "值班"}, "name", []string{"api_tokens"}},
		{"POST", "/api/v1/leader/orders", c.leaders[0], order, "resident.name", []string{"orders", "residents"}},
	}
	for _, tc := range cases {
		for i, text := range []string{controlText, bareControl} {
			t.Run(fmt.Sprintf("%s %s %d", tc.path, tc.field, i), func(t *testing.T) {
				before := c.rowCounts(tc.tables...)
				body := with(tc.body, strings.Split(tc.field, "."), text)
				r := c.do(tc.method, tc.path, tc.token, body, "Idempotency-Key", fmt.Sprintf("text-%s-%d", tc.field, i))
				if r.Status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %.300s", r.Status, r.Body)
				}
				if _, field := envelopeOf(t, r); field != tc.field {
					t.Fatalf("field %q, want %q: %.300s", field, tc.field, r.Body)
				}
				if after := c.rowCounts(tc.tables...); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("refused but stored: before %v after %v", before, after)
				}
			})
		}
	}

	quoted := `"` + controlText + `"`
	productRow := map[string]string{"sku": "TX", "name": "品", "unit": "盒", "weight_g": "1", "volume_ml": "1", "zone": "ambient", "bin": "A-1", "category": "类"}
	pointRow := map[string]string{"code": "TX2", "warehouse_code": c.warehous.Code, "name": "点", "address": "路", "lat": "31.2", "lng": "121.5",
		"opens": "08:00", "closes": "21:00", "leader_name": "团长", "leader_phone": "13700002222"}
	imports := []struct {
		path    string
		columns []string
		row     map[string]string
		column  string
	}{
		{"/api/v1/ops/products/import", []string{"sku", "name", "unit", "weight_g", "volume_ml", "zone", "bin", "category"}, productRow, "name"},
		{"/api/v1/ops/products/import", []string{"sku", "name", "unit", "weight_g", "volume_ml", "zone", "bin", "category"}, productRow, "unit"},
		{"/api/v1/ops/products/import", []string{"sku", "name", "unit", "weight_g", "volume_ml", "zone", "bin", "category"}, productRow, "bin"},
		{"/api/v1/ops/products/import", []string{"sku", "name", "unit", "weight_g", "volume_ml", "zone", "bin", "category"}, productRow, "category"},
		{"/api/v1/ops/pickup-points/import", pickup.PointCSVColumns, pointRow, "name"},
		{"/api/v1/ops/pickup-points/import", pickup.PointCSVColumns, pointRow, "address"},
		{"/api/v1/ops/pickup-points/import", pickup.PointCSVColumns, pointRow, "leader_name"},
	}
	for _, tc := range imports {
		t.Run(tc.path+" "+tc.column, func(t *testing.T) {
			cells := make([]string, len(tc.columns))
			for i, col := range tc.columns {
				cells[i] = tc.row[col]
				if col == tc.column {
					cells[i] = quoted
				}
			}
			body := strings.Join(tc.columns, ",") + "\n" + strings.Join(cells, ",") + "\n"
			before := c.rowCounts("products", "pickup_points", "leaders")
			r := c.do("POST", tc.path, c.admin, body)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %.300s", r.Status, r.Body)
			}
			if code, field := envelopeOf(t, r); code != "bad_csv_row" || field != tc.column {
				t.Fatalf("code %q field %q, want bad_csv_row %q: %.300s", code, field, tc.column, r.Body)
			}
			if after := c.rowCounts("products", "pickup_points", "leaders"); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Fatalf("refused but stored: before %v after %v", before, after)
			}
		})
	}
}
