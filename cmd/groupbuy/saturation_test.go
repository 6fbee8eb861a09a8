package main

import (
	"context"
	"fmt"
	"testing"
	"time"

	"groupbuy/cmd/internal/loadgen"
	"groupbuy/fulfillment/intake"
)

// TestIntakeAtSaturation offers orders open loop faster than a deliberately
// small intake (one batch worker, a short queue) commits them: every answer
// is 201, 409 sold_out or 503 with Retry-After, never another 5xx; every 201
// is an order in the database; the hot SKU is never oversold.
func TestIntakeAtSaturation(t *testing.T) {
	c := newTestCity(t, 20)
	a := c.app
	a.intake.Close()
	a.intake = intake.New(a.db, a.clock, a.log, intake.Options{Workers: 1, MaxBatch: 8, QueueSize: 32, MaxWait: 200 * time.Millisecond})
	srv := apiServer(t, a)
	egg, rice := c.item("EGG"), c.item("RICE")
	if _, err := a.catalog.SetCap(context.Background(), egg.ID, 20); err != nil {
		t.Fatal(err)
	}
	const n = 3000
	r := loadgen.FireOrders(context.Background(), srv.URL, n, 200, 0, func(i int) (string, string, []byte) {
		body := fmt.Sprintf(`{"resident":{"phone":"1390%07d","name":"居民"},"lines":[{"sale_item_id":%d,"quantity":1},{"sale_item_id":%d,"quantity":1}]}`,
			i, egg.ID, rice.ID)
		return c.leaders[i%len(c.leaders)], fmt.Sprintf("sat-%d", i), []byte(body)
	})
	t.Logf("%d offered: %d created, %d sold out, %d 503 (%d without Retry-After), %d other 4xx, %d other 5xx, %d transport; p99 of 201s %.1f ms",
		r.Sent, r.Created, r.SoldOut, r.Unavailable, r.NoRetryAfter, r.Other4xx, r.FiveXX, r.Transport, r.Pct(0.99))
	if r.Sent != n || r.Created+r.SoldOut+r.Unavailable != n || r.FiveXX+r.Other4xx+r.Transport+r.NoRetryAfter != 0 {
		t.Fatalf("answers outside 201 / 409 sold_out / 503 with Retry-After")
	}
	if r.Unavailable == 0 || r.Created == 0 {
		t.Fatalf("the intake was not saturated (%d 503s) or took nothing (%d created)", r.Unavailable, r.Created)
	}
	var stored, eggs int64
	if err := a.db.Get(&stored, `SELECT count(*) FROM orders WHERE status = 'placed'`); err != nil {
		t.Fatal(err)
	}
	if err := a.db.Get(&eggs, `SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE sale_item_id = $1`, egg.ID); err != nil {
		t.Fatal(err)
	}
	if stored != r.Created || eggs != c.sold(egg.ID) || eggs > 20 || (r.SoldOut > 0) != (eggs == 20) {
		t.Fatalf("%d orders stored for %d created; %d eggs in lines, %d sold, cap 20, %d sold out", stored, r.Created, eggs, c.sold(egg.ID), r.SoldOut)
	}
}
