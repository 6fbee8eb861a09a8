package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment/refund"
	"groupbuy/pickup/notify"
)

// TestWorkerResendsStuckRefunds: the worker's schedule lists the resend
// sweep with the configured age; run by the worker's own handlers, it
// sends a refund left created 20 minutes ago to the payment system on
// loopback once, and leaves a younger one to its own publish job.
func TestWorkerResendsStuckRefunds(t *testing.T) {
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	for i := range 2 {
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody(fmt.Sprintf("1590000000%d", i), "居民", egg.ID, 2),
			"Idempotency-Key", fmt.Sprintf("resend-%d", i)); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	now := c.clock.Now()
	var ids []int64
	if err := c.app.db.Select(&ids, `INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT w.id, o.id, ol.id, o.resident_id, 'damaged', 1, ol.price_fen, $1::timestamptz - make_interval(mins => (20 - 15 * (row_number() OVER (ORDER BY ol.id) - 1))::int)
		FROM orders o JOIN order_lines ol ON ol.order_id = o.id JOIN waves w ON w.warehouse_id = o.warehouse_id AND w.delivery_date = o.delivery_date
		ORDER BY ol.id RETURNING id`, now); err != nil || len(ids) != 2 {
		t.Fatalf("refunds made 20 and 5 minutes ago: %v %v", ids, err)
	}

	rc := webhook.NewReceiver(paymentsSecret)
	url, stop, err := webhook.Serve(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c.app.cfg.RefundResendAfter = 15 * time.Minute
	c.app.payments = refund.NewPayments(c.app.db, c.clock, c.app.log, refund.PaymentsOptions{URL: url, Secret: paymentsSecret,
		Webhook: notify.WebhookOptions{Now: time.Now}})
	w, err := newWorker(c.app, workerOptions{syncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	configs, err := (&schedule{a: c.app, sweepEvery: time.Minute, dispatchEvery: time.Second}).GetConfigs()
	if err != nil {
		t.Fatal(err)
	}
	var sweeps int
	for _, cfg := range configs {
		if cfg.Task.Type() != refund.TaskResend {
			continue
		}
		sweeps++
		if string(cfg.Task.Payload()) != `{"after_seconds":900}` || cfg.Cronspec != "@every 5m" {
			t.Fatalf("resend sweep %s %s", cfg.Cronspec, cfg.Task.Payload())
		}
		for range 2 {
			if err := w.mux.ProcessTask(context.Background(), cfg.Task); err != nil {
				t.Fatal(err)
			}
		}
	}
	if sweeps != 1 {
		t.Fatalf("%d resend sweeps in the schedule", sweeps)
	}
	got := rc.Notices()
	if distinct, requests, bad := rc.Stats(); distinct != 1 || requests != 1 || bad != 0 {
		t.Fatalf("payment system got %d refunds in %d requests (%d bad), want 1", distinct, requests, bad)
	}
	if _, ok := got[fmt.Sprintf("refund.created:%d", ids[0])]; !ok {
		t.Fatalf("events %v, want refund %d's", got, ids[0])
	}
	if n := c.countWhere("refunds", fmt.Sprintf("state = 'submitted' AND id = %d", ids[0])); n != 1 {
		t.Fatal("the stuck refund is not submitted")
	}
	if n := c.countWhere("refunds", fmt.Sprintf("state = 'created' AND id = %d", ids[1])); n != 1 {
		t.Fatal("the young refund was sent")
	}
}
