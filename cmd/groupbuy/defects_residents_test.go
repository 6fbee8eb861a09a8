package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/pressly/goose/v3"

	"groupbuy/fulfillment/intake"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/migrations"
)

// A phone known at one pickup point is unknown at another: the other
// point's leader registers their own resident and learns nothing of the
// first, and a resident id of another point answers as an unknown one.
func TestResidentsBelongToTheirPoint(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	a, b := c.leaders[0], c.leaders[1]
	egg := c.item("EGG")
	const phone = "13912345678"
	place := func(token, key string, body any) intake.Order {
		t.Helper()
		var o intake.Order
		r := c.do("POST", "/api/v1/leader/orders", token, body, "Idempotency-Key", key)
		r.json(t, &o)
		if r.Status != http.StatusCreated {
			t.Fatalf("order %s: %d %s", key, r.Status, r.Body)
		}
		return o
	}
	atA := place(a, "a1", orderBody(phone, "张三", egg.ID, 1))
	atB := place(b, "b1", orderBody(phone, "王五", egg.ID, 1))
	if atB.Resident.ID == atA.Resident.ID || atB.Resident.Name != "王五" || atB.Resident.PickupPointID != c.points[1].Point.ID {
		t.Fatalf("B's order for a phone known at A: resident %+v (A's is %+v)", atB.Resident, atA.Resident)
	}
	var bookedTo int64
	if err := c.app.db.Get(&bookedTo, `SELECT resident_id FROM orders WHERE id = $1`, atB.ID); err != nil || bookedTo != atB.Resident.ID {
		t.Fatalf("B's order is booked to resident %d (%v), want B's %d", bookedTo, err, atB.Resident.ID)
	}
	// Each point knows its resident by phone, under the name it gave.
	if again := place(a, "a2", orderBody(phone, "别名", egg.ID, 1)); again.Resident != atA.Resident {
		t.Fatalf("A's second order: resident %+v, want %+v", again.Resident, atA.Resident)
	}
	if again := place(b, "b2", orderBody(phone, "别名", egg.ID, 1)); again.Resident != atB.Resident {
		t.Fatalf("B's second order: resident %+v, want %+v", again.Resident, atB.Resident)
	}
	var listing intake.OrderPage
	c.do("GET", "/api/v1/leader/orders?date="+c.date.String(), b, nil).json(t, &listing)
	for _, o := range listing.Orders {
		if o.Resident.ID != atB.Resident.ID || o.Resident.Name != "王五" {
			t.Fatalf("B's listing shows resident %+v", o.Resident)
		}
	}

	// A's resident id at B is exactly an unknown id: on orders and on contacts.
	const unknown = 987654321
	byID := func(id int64) map[string]any {
		return map[string]any{"resident": map[string]any{"id": id}, "lines": []map[string]any{{"sale_item_id": egg.ID, "quantity": 1}}}
	}
	for i, req := range []struct {
		method, path string
		body         func(id int64) any
	}{
		{"POST", "/api/v1/leader/orders", func(id int64) any { return byID(id) }},
		{"PUT", "/api/v1/leader/residents/%d/contact", func(int64) any { return map[string]any{"email": "x@example.com"} }},
	} {
		var got [2]response
		for j, id := range []int64{atA.Resident.ID, unknown} {
			path := req.path
			if req.method == "PUT" {
				path = fmt.Sprintf(req.path, id)
			}
			got[j] = c.do(req.method, path, b, req.body(id), "Idempotency-Key", fmt.Sprintf("byid%d-%d", i, j))
		}
		if got[0].Status != http.StatusNotFound || got[0].errorCode(t) != "resident_not_found" || got[0].Status != got[1].Status ||
			string(got[0].Body) != string(got[1].Body) {
			t.Fatalf("%s %s with A's resident at B: %d %s; with an unknown one: %d %s", req.method, req.path,
				got[0].Status, got[0].Body, got[1].Status, got[1].Body)
		}
	}
	// Contact preferences are the point's: A's opt-out is not B's.
	if r := c.do("PUT", fmt.Sprintf("/api/v1/leader/residents/%d/contact", atA.Resident.ID), a, map[string]any{"opt_out": []string{"sms"}}); r.Status != http.StatusOK {
		t.Fatalf("A's contact: %d %s", r.Status, r.Body)
	}
	var optedOut []byte
	if err := c.app.db.Get(&optedOut, `SELECT opted_out::text FROM residents WHERE id = $1`, atB.Resident.ID); err != nil || string(optedOut) != "{}" {
		t.Fatalf("B's resident opted out of %s (%v)", optedOut, err)
	}
}

// Orders booked to another point's resident before residents belonged to
// their point move, with their parcels, codes and refunds, to a resident of
// their own point with the same phone; nothing is lost.
func TestResidentsMigrateToTheirPoints(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, err := pg.Open(ctx, testenv.NewDatabase(t), 4)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Start from an empty schema at the version before residents had points.
	if _, err := db.ExecContext(ctx, `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	provider, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.UpTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	// Points 1 and 2; resident 1 (phone P) at point 1, with an order at each
	// point: B's was booked to A's resident. Resident 2 only at point 2.
	seed := []string{
		`INSERT INTO warehouses (id, code, name, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
			VALUES (1, 'W', '仓', 31, 121, 'Asia/Shanghai', '23:00', '07:00', '10:00')`,
		`INSERT INTO leaders (id, name, phone) VALUES (1, '甲', '13800000001'), (2, '乙', '13800000002')`,
		`INSERT INTO pickup_points (id, code, warehouse_id, leader_id, name, lat, lng, opens, closes)
			VALUES (1, 'A', 1, 1, '甲点', 31, 121, '08:00', '21:00'), (2, 'B', 1, 2, '乙点', 31.01, 121, '08:00', '21:00')`,
		`INSERT INTO residents (id, phone, name, pickup_point_id, email, opted_out) VALUES
			(1, '13900000000', '张三', 1, 'z@example.com', '{sms}'), (2, '13900000002', '李四', 2, '', '{}')`,
		`SELECT setval('residents_id_seq', 2)`,
		`INSERT INTO products (id, sku, name, unit, weight_g, volume_ml, zone, bin) VALUES (1, 'EGG', '蛋', '盒', 900, 1500, 'chilled', 'C')`,
		`INSERT INTO sale_items (id, warehouse_id, product_id, delivery_date, price_fen, stock_cap, sold, created_at, updated_at)
			VALUES (1, 1, 1, '2026-12-01', 100, 10, 3, now(), now())`,
		`INSERT INTO orders (id, leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key, request_hash, total_fen, created_at)
			VALUES (1, 1, 1, 1, 1, '2026-12-01', 'placed', 'k1', '', 100, now()),
			       (2, 2, 2, 1, 1, '2026-12-01', 'placed', 'k2', '', 100, now()),
			       (3, 2, 2, 2, 1, '2026-12-01', 'placed', 'k3', '', 100, now())`,
		`INSERT INTO order_lines (id, order_id, sale_item_id, quantity, price_fen) VALUES (1, 1, 1, 1, 100), (2, 2, 1, 1, 100), (3, 3, 1, 1, 100)`,
		`INSERT INTO waves (id, warehouse_id, delivery_date, state, cutoff_at, created_at, updated_at)
			VALUES (1, 1, '2026-12-01', 'closed', now(), now(), now())`,
		`INSERT INTO deliveries (id, wave_id, pickup_point_id, state) VALUES (1, 1, 1, 'received'), (2, 1, 2, 'received')`,
		`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
			VALUES (1, 1, 1, 1, '2026-12-01', 1, now()), (2, 2, 2, 1, '2026-12-01', 1, now()), (3, 2, 2, 2, '2026-12-01', 1, now())`,
		`INSERT INTO pickup_codes (pickup_point_id, delivery_date, resident_id, code, created_at)
			VALUES (1, '2026-12-01', 1, '111111', now()), (2, '2026-12-01', 1, '222222', now()), (2, '2026-12-01', 2, '333333', now())`,
		`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
			VALUES (1, 2, 2, 1, 'missing', 1, 100, now())`,
	}
	for _, q := range seed {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := provider.UpTo(ctx, 16); err != nil {
		t.Fatal(err)
	}
	var residents []struct {
		ID       int64  `db:"id"`
		Phone    string `db:"phone"`
		Name     string `db:"name"`
		Point    int64  `db:"pickup_point_id"`
		Email    string `db:"email"`
		OptedOut string `db:"opted_out"`
	}
	if err := db.SelectContext(ctx, &residents, `SELECT id, phone, name, pickup_point_id, email, opted_out::text FROM residents ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(residents) != 3 || residents[2].Phone != "13900000000" || residents[2].Point != 2 || residents[2].Name != "张三" ||
		residents[2].Email != "z@example.com" || residents[2].OptedOut != "{sms}" || residents[0].Point != 1 {
		t.Fatalf("residents after the migration: %+v", residents)
	}
	moved := residents[2].ID
	// links are the residents B's order's rows point to, and how many rows
	// there are in all.
	var links struct {
		Order, Parcel, Code, Refund int64
		Rows                        int64
	}
	readLinks := func() {
		t.Helper()
		if err := db.GetContext(ctx, &links, `SELECT
			(SELECT resident_id FROM orders WHERE id = 2) AS "order",
			(SELECT resident_id FROM parcel_lines WHERE order_line_id = 2) AS parcel,
			(SELECT resident_id FROM pickup_codes WHERE pickup_point_id = 2 AND code = '222222') AS code,
			(SELECT resident_id FROM refunds WHERE order_id = 2) AS refund,
			(SELECT (SELECT count(*) FROM orders) + (SELECT count(*) FROM parcel_lines) + (SELECT count(*) FROM pickup_codes)
				+ (SELECT count(*) FROM refunds)) AS rows`); err != nil {
			t.Fatal(err)
		}
	}
	readLinks()
	if links.Order != moved || links.Parcel != moved || links.Code != moved || links.Refund != moved || links.Rows != 10 {
		t.Fatalf("B's order's rows after the migration: %+v, want resident %d and 10 rows", links, moved)
	}
	var untouched int64
	if err := db.GetContext(ctx, &untouched, `SELECT count(*) FROM orders o JOIN residents r ON r.id = o.resident_id
		WHERE o.id IN (1, 3) AND r.id = o.id / 2 + 1 AND r.pickup_point_id = o.pickup_point_id`); err != nil || untouched != 2 {
		t.Fatalf("orders at their resident's point moved: %d of 2 kept (%v)", untouched, err)
	}
	// The schema now refuses an order at another point than its resident's.
	if _, err := db.ExecContext(ctx, `UPDATE orders SET resident_id = 1 WHERE id = 3`); err == nil {
		t.Fatal("an order booked to another point's resident was accepted")
	}
	// And back: the rows of one phone merge again, nothing lost.
	if _, err := provider.DownTo(ctx, 15); err != nil {
		t.Fatal(err)
	}
	readLinks()
	if links.Order != 1 || links.Parcel != 1 || links.Code != 1 || links.Refund != 1 || links.Rows != 10 {
		t.Fatalf("B's order's rows after migrating down: %+v, want resident 1 and 10 rows", links)
	}
}
