package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/refund"
	"groupbuy/pickup/notify"
)

const paymentsSecret = "test-payments-secret"

// TestRefundsReachThePaymentSystem runs a night that is short of eggs: the
// worker sends each shortage refund to the payment system on loopback
// once; the payment system's signed callback marks one paid (a replay
// changes nothing, a bad signature or an unknown refund is refused with the
// envelope); the ledger lists, exports and shows the unpaid ones a day on.
func TestRefundsReachThePaymentSystem(t *testing.T) {
	t.Parallel()
	c, rc, path := newShortNight(t)
	runNightToReady(t, c, path)

	// Three units short: the latest order loses 2, the one before it 1.
	var page refund.LedgerPage
	if r := c.do("GET", "/api/v1/ops/refunds?reason=shortage&state=created&limit=1", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if distinct, _, bad := rc.Stats(); distinct == 2 && bad == 0 {
			break
		} else if time.Now().After(deadline) || distinct > 2 || bad > 0 {
			t.Fatalf("the payment system got %d refunds (%d badly signed), want 2", distinct, bad)
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "the refund events", func() bool {
		c.do("GET", "/api/v1/ops/refunds?state=submitted", c.admin, nil).json(t, &page)
		return len(page.Refunds) == 2
	})
	first := page.Refunds[0]
	if first.Reason != "shortage" || first.SKU != "EGG" || first.PickupPointID != c.points[0].Point.ID {
		t.Fatalf("refund %+v", first)
	}
	for key := range rc.Notices() {
		if !strings.HasPrefix(key, "refund.created:") {
			t.Errorf("event key %q", key)
		}
	}

	callback := c.payCallback
	paid := fmt.Sprintf(`{"refund_id":%d,"status":"paid","payment_ref":"WX-9"}`, first.ID)
	for name, tc := range map[string]struct {
		secret, body string
		status       int
		code         string
	}{
		"bad signature":  {"another-secret", paid, http.StatusUnauthorized, "bad_signature"},
		"unknown refund": {paymentsSecret, `{"refund_id":987654,"status":"paid"}`, http.StatusNotFound, "refund_not_found"},
		"bad status":     {paymentsSecret, fmt.Sprintf(`{"refund_id":%d,"status":"done"}`, first.ID), http.StatusBadRequest, ""},
	} {
		r := callback(tc.secret, tc.body)
		if code := r.errorCode(t); r.Status != tc.status || (tc.code != "" && code != tc.code) {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if n := c.countWhere("refunds", "state = 'paid'"); n != 0 {
		t.Fatalf("refused callbacks paid %d refunds", n)
	}
	for range 2 {
		var got refund.Refund
		r := callback(paymentsSecret, paid)
		r.json(t, &got)
		if r.Status != http.StatusOK || got.State != refund.Paid || got.PaymentRef != "WX-9" {
			t.Fatalf("paid callback: %d %s", r.Status, r.Body)
		}
	}
	if n := c.countWhere("outbox", fmt.Sprintf("kind = 'refund_paid' AND dedupe_key = 'refund:paid:%d'", first.ID)); n != 1 {
		t.Fatalf("%d paid notices, want 1", n)
	}

	r := c.do("GET", "/api/v1/ops/refunds/export?reason=shortage", c.admin, nil)
	if lines := strings.Split(strings.TrimSpace(string(r.Body)), "\n"); r.Status != http.StatusOK || len(lines) != 3 ||
		!strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") || !strings.Contains(string(r.Body), ",paid,") {
		t.Fatalf("export: %d %s", r.Status, r.Body)
	}
	var unpaid refund.UnpaidRefunds
	c.do("GET", "/api/v1/ops/refunds/unpaid", c.admin, nil).json(t, &unpaid)
	if unpaid.Total != 0 {
		t.Fatalf("unpaid at once: %+v", unpaid)
	}
	c.clock.Advance(25 * time.Hour)
	c.do("GET", "/api/v1/ops/refunds/unpaid", c.admin, nil).json(t, &unpaid)
	if unpaid.Total != 1 || len(unpaid.Refunds) != 1 || unpaid.Refunds[0].ID == first.ID {
		t.Fatalf("unpaid a day on: %+v", unpaid)
	}
	if r := c.do("GET", "/api/v1/ops/refunds", c.leaders[0], nil); r.Status != http.StatusForbidden {
		t.Fatalf("a leader lists the ledger: %d", r.Status)
	}

	// The leader's order tells why fewer eggs come: cut for shortage, paid back.
	var o intake.Order
	r = c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", first.OrderID), c.leaders[0], nil)
	r.json(t, &o)
	if r.Status != http.StatusOK || o.Status != intake.ShortShipped || len(o.Lines) != 1 || o.Lines[0].ID != first.LineID || o.Lines[0].Story == nil {
		t.Fatalf("leader's order: %d %s", r.Status, r.Body)
	}
	if s := o.Lines[0].Story; s.Cut == nil || s.Cut.Units != first.Quantity || s.Cut.Why != "仓库缺货" || s.Cut.State != "paid" ||
		s.Refunded.AmountFen != first.AmountFen || s.Ordered.Units != 2 {
		t.Fatalf("story: %s", r.Body)
	}
	var found FoundOrders
	c.do("GET", fmt.Sprintf("/api/v1/ops/orders/search?line_id=%d", first.LineID), c.admin, nil).json(t, &found)
	if len(found.Orders) != 1 || found.Orders[0].ID != first.OrderID || found.Orders[0].Status != intake.ShortShipped {
		t.Fatalf("found by line: %+v", found)
	}
	if r := c.do("GET", "/api/v1/ops/orders/search", c.admin, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("a search for nothing: %d %s", r.Status, r.Body)
	}
}

// newShortNight is a city whose three residents of one point order 2 eggs
// each, of which the warehouse receives 3; the payment system runs on
// loopback and takes the refund events. The night has not run yet.
func newShortNight(t *testing.T) (*testCity, *webhook.Receiver, string) {
	c := newTestCity(t, 1)
	rc := webhook.NewReceiver(paymentsSecret)
	url, stop, err := webhook.Serve(rc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	c.app.payments = refund.NewPayments(c.app.db, c.clock, c.app.log, refund.PaymentsOptions{URL: url, Secret: paymentsSecret,
		Webhook: notify.WebhookOptions{Now: time.Now}})
	egg := c.item("EGG")
	c.addVans("冷藏车", 1)
	for i := range 3 {
		c.placeOrder(0, fmt.Sprintf("r%d", i), orderBody(fmt.Sprintf("159000%05d", i), "居民", egg.ID, 2))
	}
	path := c.wavePath()
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 3}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	return c, rc, path
}

// payCallback posts a confirmation to the payment callback, signed with secret.
func (c *testCity) payCallback(secret, body string) response {
	h := http.Header{}
	notify.Sign(h, secret, c.clock.Now(), []byte(body))
	return c.do("POST", "/api/v1/payments/refunds", "", body, notify.HeaderTimestamp, h.Get(notify.HeaderTimestamp),
		notify.HeaderSignature, h.Get(notify.HeaderSignature), "Content-Type", "application/json")
}

func (c *testCity) countWhere(table, where string) int {
	c.t.Helper()
	var n int
	if err := c.app.db.Get(&n, "SELECT count(*) FROM "+table+" WHERE "+where); err != nil {
		c.t.Fatal(err)
	}
	return n
}
