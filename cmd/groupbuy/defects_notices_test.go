package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/lastmile"
	"net/http"
	"testing"
	"time"
)

// phoneNotice is an outbox row of a resident, found by phone.
type phoneNotice struct {
	Kind  string `db:"kind"`
	Key   string `db:"dedupe_key"`
	Point int64  `db:"point"`
	Code  string `db:"code"`
}

// noticesTo returns the notices of kind queued for the residents with phone.
func (c *testCity) noticesTo(phone, kind string) []phoneNotice {
	c.t.Helper()
	var out []phoneNotice
	if err := c.app.db.Select(&out, `SELECT o.kind, o.dedupe_key, coalesce((o.payload->>'pickup_point_id')::bigint, 0) AS point,
			coalesce(o.payload->'vars'->>'code', '') AS code
		FROM outbox o JOIN residents r ON r.id = o.resident_id WHERE r.phone = $1 AND o.kind = $2 ORDER BY o.id`, phone, kind); err != nil {
		c.t.Fatal(err)
	}
	return out
}

// A resident who orders at two pickup points for one day hears of each
// point's parcel with its own code, is reminded of both, and told of both
// refunds and returns.
func TestResidentAtTwoPointsGetsEveryNotice(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	c.addVans("冷藏车", 1)
	egg, rice := c.item("EGG"), c.item("RICE")
	const phone = "15900001111"
	for l := range 2 {
		c.placeOrder(l, "two", orderBody(phone, "李四", egg.ID, 2, rice.ID, 1))
	}
	path := c.wavePath()
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true, "items": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	runNightToReady(t, c, path)
	if r := c.do("POST", path+"/dispatch", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	c.clock.Set(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)) // 09:00 in Shanghai on the delivery day
	for l := range 2 {
		var out struct{ Deliveries []lastmile.Delivery }
		c.do("GET", "/api/v1/leader/deliveries?date="+c.date.String(), c.leaders[l], nil).json(t, &out)
		if len(out.Deliveries) != 1 {
			t.Fatalf("deliveries of leader %d: %+v", l, out)
		}
		// One egg of each point's two is missing: a refund at each point.
		receipt := map[string]any{"lines": []map[string]any{{"sale_item_id": egg.ID, "missing": 1}}}
		if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", out.Deliveries[0].ID), c.leaders[l], receipt); r.Status != http.StatusOK {
			t.Fatalf("receive at point %d: %d %s", l, r.Status, r.Body)
		}
	}

	arrivals := c.noticesTo(phone, "arrival")
	if len(arrivals) != 2 || arrivals[0].Point == arrivals[1].Point || arrivals[0].Code == "" || arrivals[1].Code == "" {
		t.Fatalf("arrival notices of a resident at two points: %+v, want one per point with its code", arrivals)
	}
	for _, a := range arrivals {
		l := 0
		if a.Point == c.points[1].Point.ID {
			l = 1
		}
		var v struct{ Parcels []lastmile.Parcel }
		r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[l], map[string]any{"code": a.Code})
		r.json(t, &v)
		if r.Status != http.StatusOK || len(v.Parcels) != 1 || len(v.Parcels[0].Lines) != 2 {
			t.Fatalf("the code of point %d's notice at that point: %d %s", a.Point, r.Status, r.Body)
		}
	}
	if refunds := c.noticesTo(phone, "refund"); len(refunds) != 2 {
		t.Fatalf("receipt refund notices of a resident at two points: %+v, want one per point", refunds)
	}

	ctx := context.Background()
	c.clock.Set(time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)) // 19:30 in Shanghai
	if _, err := c.app.desk.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if reminders := c.noticesTo(phone, "reminder"); len(reminders) != 2 {
		t.Fatalf("reminders of a resident at two points: %+v, want one per point", reminders)
	}
	c.clock.Set(time.Date(2026, 12, 4, 16, 1, 0, 0, time.UTC)) // past the third day after delivery
	if _, err := c.app.desk.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if returns := c.noticesTo(phone, "return"); len(returns) != 2 {
		t.Fatalf("return notices of a resident at two points: %+v, want one per point", returns)
	}
}
