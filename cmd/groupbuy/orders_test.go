package main

import (
	"bytes"
	"fmt"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/intake"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestOrderLifecycle(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	egg, rice := c.item("EGG"), c.item("RICE")
	body := orderBody("13912345678", "张三", egg.ID, 2, rice.ID, 1)

	first := c.do("POST", "/api/v1/leader/orders", c.leaders[0], body, "Idempotency-Key", "order-1")
	if first.Status != http.StatusCreated {
		t.Fatalf("place: %d %s", first.Status, first.Body)
	}
	var o intake.Order
	first.json(t, &o)
	if o.Status != intake.Placed || o.TotalFen != 2*1890+3990 || len(o.Lines) != 2 || o.Resident.Name != "张三" ||
		o.DeliveryDate.String() != "2026-12-01" || o.PickupPointID != c.points[0].Point.ID {
		t.Fatalf("unexpected order %+v", o)
	}
	if got := c.sold(egg.ID); got != 2 {
		t.Fatalf("egg sold %d, want 2", got)
	}

	// A retry with the same key and body is the same order, byte for byte.
	again := c.do("POST", "/api/v1/leader/orders", c.leaders[0], body, "Idempotency-Key", "order-1")
	if again.Status != http.StatusOK || !bytes.Equal(again.Body, first.Body) {
		t.Fatalf("replay: %d\n%s\nwant\n%s", again.Status, again.Body, first.Body)
	}
	if got := c.sold(egg.ID); got != 2 || c.count("orders") != 1 {
		t.Fatalf("replay changed stock or orders: sold %d, orders %d", got, c.count("orders"))
	}
	// The same key with another body is a conflict.
	other := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 3), "Idempotency-Key", "order-1")
	if other.Status != http.StatusConflict || other.errorCode(t) != "idempotency_conflict" {
		t.Fatalf("reused key: %d %s", other.Status, other.Body)
	}
	// Keys are per leader: another leader may use the same one.
	c.placeOrder(1, "order-1", orderBody("13700000000", "李四", egg.ID, 1))

	// Reading: own order yes, another leader's no.
	path := fmt.Sprintf("/api/v1/leader/orders/%d", o.ID)
	if r := c.do("GET", path, c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("get own order: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", path, c.leaders[1], nil); r.Status != http.StatusForbidden || r.errorCode(t) != "not_your_order" {
		t.Fatalf("get other's order: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", path+"/cancel", c.leaders[1], nil); r.Status != http.StatusForbidden {
		t.Fatalf("cancel other's order: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/leader/orders/999999", c.leaders[0], nil); r.Status != http.StatusNotFound {
		t.Fatalf("missing order: %d %s", r.Status, r.Body)
	}
	var page intake.OrderPage
	list := c.do("GET", "/api/v1/leader/orders?date=2026-12-01", c.leaders[0], nil)
	list.json(t, &page)
	if list.Status != http.StatusOK || len(page.Orders) != 1 || page.Totals.Units != 3 || page.Totals.AmountFen != o.TotalFen {
		t.Fatalf("leader list: %d %s", list.Status, list.Body)
	}

	// The resident registered with the first order can be named by id.
	byID := map[string]any{"resident": map[string]any{"id": o.Resident.ID}, "lines": []map[string]any{{"sale_item_id": rice.ID, "quantity": 1}}}
	c.placeOrder(0, "order-2", byID)
	// ...but not by another leader, whose point the resident does not use.
	if r := c.do("POST", "/api/v1/leader/orders", c.leaders[1], byID, "Idempotency-Key", "x"); r.Status != http.StatusNotFound || r.errorCode(t) != "resident_not_found" {
		t.Fatalf("other point's resident: %d %s", r.Status, r.Body)
	}

	// Cancel releases the stock; cancelling again changes nothing.
	cancel := c.do("POST", path+"/cancel", c.leaders[0], nil)
	var co intake.Order
	cancel.json(t, &co)
	if cancel.Status != http.StatusOK || co.Status != intake.Cancelled || co.CancelledAt == nil {
		t.Fatalf("cancel: %d %s", cancel.Status, cancel.Body)
	}
	if got := c.sold(egg.ID); got != 1 { // leader 1's egg remains
		t.Fatalf("after cancel egg sold %d, want 1", got)
	}
	if r := c.do("POST", path+"/cancel", c.leaders[0], nil); r.Status != http.StatusOK || c.sold(egg.ID) != 1 {
		t.Fatalf("second cancel: %d %s sold %d", r.Status, r.Body, c.sold(egg.ID))
	}

	// Ops sees every order of the day with totals, and can filter by point.
	var ops intake.OrderPage
	r := c.do("GET", fmt.Sprintf("/api/v1/ops/orders?date=2026-12-01&pickup_point_id=%d", c.points[0].Point.ID), c.admin, nil)
	r.json(t, &ops)
	if r.Status != http.StatusOK || len(ops.Orders) != 2 || ops.Totals.Orders != 1 || ops.Totals.Cancelled != 1 || ops.Totals.AmountFen != 3990 {
		t.Fatalf("ops list: %d %s", r.Status, r.Body)
	}
}

func TestCutoff(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	c.clock.Set(testCutoffUTC.Add(-time.Second))
	r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1), "Idempotency-Key", "a")
	if r.Status != http.StatusCreated {
		t.Fatalf("one second before cutoff: %d %s", r.Status, r.Body)
	}
	var o intake.Order
	r.json(t, &o)
	var cat catalog.Catalog
	c.do("GET", "/api/v1/leader/catalog?date=2026-12-01", c.leaders[0], nil).json(t, &cat)
	if !cat.Open || !cat.Cutoff.Equal(testCutoffUTC) || len(cat.Items) != 3 {
		t.Fatalf("catalog before cutoff: %+v", cat)
	}

	c.clock.Set(testCutoffUTC)
	r = c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1), "Idempotency-Key", "b")
	if r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "cutoff_passed" {
		t.Fatalf("at cutoff: %d %s", r.Status, r.Body)
	}
	r = c.do("POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", o.ID), c.leaders[0], nil)
	if r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "cutoff_passed" {
		t.Fatalf("cancel after cutoff: %d %s", r.Status, r.Body)
	}
	// A retry of an order accepted before cutoff still answers with that order.
	r = c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1), "Idempotency-Key", "a")
	if r.Status != http.StatusOK {
		t.Fatalf("replay after cutoff: %d %s", r.Status, r.Body)
	}
	c.do("GET", "/api/v1/leader/catalog?date=2026-12-01", c.leaders[0], nil).json(t, &cat)
	if cat.Open {
		t.Fatal("catalog says open after cutoff")
	}
	if c.sold(egg.ID) != 1 || c.count("orders") != 1 {
		t.Fatalf("after cutoff: sold %d orders %d", c.sold(egg.ID), c.count("orders"))
	}
}

// TestNoOversell fires hundreds of concurrent orders from many leaders over
// real HTTP at a hot SKU whose cap is far below demand.
func TestNoOversell(t *testing.T) {
	t.Parallel()
	const leaders, perLeader, hotCap = 20, 20, 57
	c := newTestCity(t, leaders)
	egg, rice := c.item("EGG"), c.item("RICE")
	if r := c.do("PATCH", fmt.Sprintf("/api/v1/ops/sale-items/%d", egg.ID), c.admin, map[string]any{"stock_cap": hotCap}); r.Status != http.StatusOK {
		t.Fatalf("set cap: %d %s", r.Status, r.Body)
	}
	var created, soldOut, other atomic.Int64
	var wg sync.WaitGroup
	for l := range leaders {
		for i := range perLeader {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body := orderBody(fmt.Sprintf("1500%03d%04d", l, i), "居民", egg.ID, 1+int64(i%2), rice.ID, 1)
				// A saturated intake answers 503 "retry shortly"; the app
				// retries under the same key, as a leader's app does.
				r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", fmt.Sprintf("k%d", i))
				for try := 1; r.Status == http.StatusServiceUnavailable && try < 20; try++ {
					time.Sleep(time.Duration(try) * 50 * time.Millisecond)
					r = c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", fmt.Sprintf("k%d", i))
				}
				switch {
				case r.Status == http.StatusCreated:
					created.Add(1)
				case r.Status == http.StatusConflict && r.errorCode(t) == "sold_out":
					soldOut.Add(1)
				default:
					other.Add(1)
					t.Errorf("unexpected answer %d %s", r.Status, r.Body)
				}
			}()
		}
	}
	wg.Wait()
	if other.Load() != 0 || created.Load()+soldOut.Load() != leaders*perLeader {
		t.Fatalf("created %d sold out %d other %d", created.Load(), soldOut.Load(), other.Load())
	}
	var fromLines, riceLines int64
	if err := c.app.db.Get(&fromLines, `SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE sale_item_id = $1`, egg.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.app.db.Get(&riceLines, `SELECT coalesce(sum(quantity), 0) FROM order_lines WHERE sale_item_id = $1`, rice.ID); err != nil {
		t.Fatal(err)
	}
	sold := c.sold(egg.ID)
	t.Logf("created %d, sold out %d, egg sold %d of %d", created.Load(), soldOut.Load(), sold, hotCap)
	// Quantities are 1 or 2, so the last unit may stay unsold when only 2s remain.
	if sold > hotCap || sold < hotCap-1 {
		t.Fatalf("egg sold %d, cap %d", sold, hotCap)
	}
	if fromLines != sold || riceLines != created.Load() || c.sold(rice.ID) != riceLines || int64(c.count("orders")) != created.Load() {
		t.Fatalf("rows disagree: egg lines %d sold %d; rice lines %d sold %d; orders %d created %d",
			fromLines, sold, riceLines, c.sold(rice.ID), c.count("orders"), created.Load())
	}
}
