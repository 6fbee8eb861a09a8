package refund_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/clock"
	"groupbuy/pickup/notify"
)

// TestResendSweepSendsStuckRefundsOnce: a refund still created after the
// sweep's minutes goes to the payment system (on loopback) through the
// periodic task; a younger one waits; a second sweep sends nothing; a
// refund whose mark was lost goes again under the same key and body.
func TestResendSweepSendsStuckRefundsOnce(t *testing.T) {
	ctx := context.Background()
	c, stuck := refunded(t) // made at fulfillmenttest.Now, its publish task long gone
	clk := clock.NewManual(fulfillmenttest.Now.Add(time.Hour))
	young := c.ID(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT wave_id, order_id, order_line_id, resident_id, 'missing', 1, 100, $2 FROM refunds WHERE id = $1 RETURNING id`,
		stuck, clk.Now().Add(-5*time.Minute))

	// No payment system configured: the sweep sends nothing and changes nothing.
	idle := refund.NewPayments(c.DB, clk, nil, refund.PaymentsOptions{Secret: secret})
	if n, err := idle.Resend(ctx, 15*time.Minute); n != 0 || err != nil {
		t.Fatalf("without a URL: %d %v", n, err)
	}

	ps := &paymentSystem{bodies: map[string][][]byte{}}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	pay := refund.NewPayments(c.DB, clk, nil, refund.PaymentsOptions{URL: srv.URL, Secret: secret,
		Webhook: notify.WebhookOptions{Now: time.Now}})
	mux := asynq.NewServeMux()
	pay.Register(mux)
	for range 2 {
		if err := mux.ProcessTask(ctx, refund.NewResendTask(15*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	key := "refund.created:" + itoa(stuck)
	if got := ps.got(key); len(got) != 1 || ps.bad != 0 || len(ps.got("refund.created:"+itoa(young))) != 0 {
		t.Fatalf("sweeps sent %d events of the stuck refund (bad %d), %d of the young one; want 1 and 0",
			len(got), ps.bad, len(ps.got("refund.created:"+itoa(young))))
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE state = 'submitted' AND submitted_at IS NOT NULL AND id = $1`, stuck); n != 1 {
		t.Fatal("the stuck refund is not submitted")
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE state = 'created' AND id = $1`, young); n != 1 {
		t.Fatal("the young refund left created")
	}

	// Once the young one is old enough, and the stuck one's mark was lost.
	c.Exec(`UPDATE refunds SET state = 'created', submitted_at = NULL WHERE id = $1`, stuck)
	clk.Advance(15 * time.Minute)
	if n, err := pay.Resend(ctx, 15*time.Minute); n != 2 || err != nil {
		t.Fatalf("second sweep: %d %v, want 2", n, err)
	}
	if got := ps.got(key); len(got) != 2 || !bytes.Equal(got[0], got[1]) || len(ps.got("refund.created:"+itoa(young))) != 1 {
		t.Fatalf("the resent event differs or is missing: %d, %d", len(got), len(ps.got("refund.created:"+itoa(young))))
	}
	if err := mux.ProcessTask(ctx, asynq.NewTask(refund.TaskResend, []byte(`{}`))); err == nil {
		t.Fatal("a sweep task without its minutes ran")
	}
}

// TestARefusedRefundDoesNotHoldBackTheOthers: the payment system refuses
// one refund for good (a 4xx). It is marked failed with the refusal, for
// the unpaid list, and the refunds after it go out; a transient error
// still leaves a refund created for the next attempt.
func TestARefusedRefundDoesNotHoldBackTheOthers(t *testing.T) {
	ctx := context.Background()
	c, first := refunded(t)
	second := c.ID(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT wave_id, order_id, order_line_id, resident_id, 'missing', 1, 150, created_at FROM refunds WHERE id = $1 RETURNING id`, first)
	ps := &paymentSystem{bodies: map[string][][]byte{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get(notify.HeaderIdempotencyKey) == "refund.created:"+itoa(first) {
			http.Error(w, "refund refused", http.StatusUnprocessableEntity)
			return
		}
		ps.ServeHTTP(w, r)
	}))
	defer srv.Close()
	clk := clock.NewManual(fulfillmenttest.Now.Add(time.Hour))
	pay := refund.NewPayments(c.DB, clk, nil, refund.PaymentsOptions{URL: srv.URL, Secret: secret,
		Webhook: notify.WebhookOptions{Now: time.Now}})
	for range 2 {
		if _, err := pay.Resend(ctx, 15*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if got := len(ps.got("refund.created:" + itoa(second))); got != 1 {
		t.Fatalf("refund %d went out %d times behind the refused one; want 1", second, got)
	}
	var failure string
	if err := c.DB.Get(&failure, `SELECT failure FROM refunds WHERE id = $1 AND state = 'failed' AND failed_at IS NOT NULL`, first); err != nil ||
		!strings.Contains(failure, "422") {
		t.Fatalf("the refused refund: %q %v, want failed with the refusal", failure, err)
	}

	// The payment system down: the refund stays created, and the sweep says so.
	c.Exec(`UPDATE refunds SET state = 'created', submitted_at = NULL WHERE id = $1`, second)
	srv.Close()
	if _, err := pay.Resend(ctx, 15*time.Minute); err == nil {
		t.Fatal("a sweep that reached no payment system succeeded")
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE id = $1 AND state = 'created'`, second); n != 1 {
		t.Fatal("a refund not sent for a transient error left created")
	}
}
