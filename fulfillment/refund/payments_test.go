package refund_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup/notify"
)

const secret = "payments-test-secret"

// paymentSystem is the operator's side on a loopback port: it checks each
// event's signature and keeps the bodies it got per Idempotency-Key.
type paymentSystem struct {
	mu     sync.Mutex
	bodies map[string][][]byte
	bad    int
}

func (ps *paymentSystem) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	ps.mu.Lock()
	defer ps.mu.Unlock()
	key, err := notify.VerifyDelivery(secret, r.Header, body, time.Now(), time.Minute)
	if err != nil {
		ps.bad++
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	ps.bodies[key] = append(ps.bodies[key], body)
}

func (ps *paymentSystem) got(key string) [][]byte {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	return ps.bodies[key]
}

// refunded seeds an order and refunds 2 of its 5 eggs as damaged.
func refunded(t *testing.T) (*fulfillmenttest.City, int64) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	item := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 150)
	order := c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 5})
	line := c.Count(`SELECT id FROM order_lines WHERE order_id = $1`, order)
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		var rows refund.Rows
		rows.Add(order, line, c.Points[0].Resident, fulfillment.ReasonDamaged, 2, 300)
		return rows.Insert(ctx, tx, nil, c.Wave(), fulfillmenttest.Now)
	}); err != nil {
		t.Fatal(err)
	}
	return c, c.Count(`SELECT id FROM refunds WHERE order_line_id = $1`, line)
}

// TestRefundReachesThePaymentSystemOnce: the refund's insert puts its
// publish task in the job outbox; publishing sends one signed
// refund.created event and marks it submitted; a rerun sends nothing, and a
// refund whose mark was lost goes out again under the same key and body.
func TestRefundReachesThePaymentSystemOnce(t *testing.T) {
	ctx := context.Background()
	c, id := refunded(t)
	var payload string
	if err := c.DB.Get(&payload, `SELECT convert_from(payload, 'UTF8') FROM jobs WHERE task_type = $1`, refund.TaskPublish); err != nil {
		t.Fatalf("no publish job in the outbox: %v", err)
	}
	var p struct{ IDs []int64 }
	if err := json.Unmarshal([]byte(payload), &p); err != nil || len(p.IDs) != 1 || p.IDs[0] != id {
		t.Fatalf("publish job %s (%v), want refund %d", payload, err, id)
	}

	ps := &paymentSystem{bodies: map[string][][]byte{}}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	clk := clock.NewManual(fulfillmenttest.Now.Add(time.Hour))
	pay := refund.NewPayments(c.DB, clk, nil, refund.PaymentsOptions{URL: srv.URL, Secret: secret,
		Webhook: notify.WebhookOptions{Now: time.Now}})
	for range 2 {
		if err := pay.Publish(ctx, p.IDs); err != nil {
			t.Fatal(err)
		}
	}
	key := "refund.created:" + itoa(id)
	if got := ps.got(key); len(got) != 1 || ps.bad != 0 {
		t.Fatalf("events under %s: %d (bad %d), want 1", key, len(got), ps.bad)
	}
	var ev refund.Event
	if err := json.Unmarshal(ps.got(key)[0], &ev); err != nil || ev.Type != "refund.created" || ev.Refund.ID != id ||
		ev.Refund.AmountFen != 300 || ev.Refund.Quantity != 2 || ev.Refund.Reason != fulfillment.ReasonDamaged || ev.Refund.SKU != "EGG" {
		t.Fatalf("event %+v (%v)", ev, err)
	}
	r, err := refund.Get(ctx, c.DB, id)
	if err != nil || r.State != refund.Submitted || r.SubmittedAt == nil {
		t.Fatalf("after publishing: %+v (%v)", r, err)
	}
	// A crash between the send and the mark: the event goes again, the same.
	c.Exec(`UPDATE refunds SET state = 'created', submitted_at = NULL WHERE id = $1`, id)
	if err := pay.Publish(ctx, p.IDs); err != nil {
		t.Fatal(err)
	}
	if got := ps.got(key); len(got) != 2 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("the resent event differs or is missing: %q", got)
	}
}

// callback signs a confirmation as the payment system does.
func callback(t *testing.T, pay *refund.Payments, key string, at time.Time, body string) (refund.Refund, error) {
	h := http.Header{}
	notify.Sign(h, key, at, []byte(body))
	return pay.Confirm(context.Background(), h, []byte(body))
}

// TestPaymentCallback: a bad signature, a stale one, an unknown refund or a
// bad body change nothing; paid marks the refund and queues one paid
// notice, however often it is replayed; a paid refund cannot fail.
func TestPaymentCallback(t *testing.T) {
	c, id := refunded(t)
	now := fulfillmenttest.Now.Add(2 * time.Hour)
	pay := refund.NewPayments(c.DB, clock.NewManual(now), nil, refund.PaymentsOptions{Secret: secret})
	paid := `{"refund_id":` + itoa(id) + `,"status":"paid","payment_ref":"WX-1"}`
	for name, tc := range map[string]struct {
		key  string
		at   time.Time
		body string
		want error
	}{
		"another secret": {"not-the-secret", now, paid, refund.ErrBadSignature},
		"stale":          {secret, now.Add(-time.Hour), paid, refund.ErrBadSignature},
		"unknown refund": {secret, now, `{"refund_id":999999,"status":"paid"}`, refund.ErrNotFound},
		"bad status":     {secret, now, `{"refund_id":` + itoa(id) + `,"status":"maybe"}`, nil},
	} {
		_, err := callback(t, pay, tc.key, tc.at, tc.body)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if r, _ := refund.Get(context.Background(), c.DB, id); r.State != refund.Created {
		t.Fatalf("a refused callback changed the refund: %+v", r)
	}
	for range 2 {
		r, err := callback(t, pay, secret, now, paid)
		if err != nil || r.State != refund.Paid || r.PaymentRef != "WX-1" || r.PaidAt == nil || !r.PaidAt.Equal(now) {
			t.Fatalf("paid: %+v (%v)", r, err)
		}
	}
	var notices []struct {
		Kind    string `db:"kind"`
		Payload string `db:"payload"`
	}
	if err := c.DB.Select(&notices, `SELECT kind, payload::text AS payload FROM outbox WHERE dedupe_key = $1`, "refund:paid:"+itoa(id)); err != nil ||
		len(notices) != 1 || notices[0].Kind != string(notify.KindRefundPaid) || !strings.Contains(notices[0].Payload, "EGG") {
		t.Fatalf("paid notices %+v (%v), want one", notices, err)
	}
	if _, err := callback(t, pay, secret, now, `{"refund_id":`+itoa(id)+`,"status":"failed","failure":"closed account"}`); !errors.Is(err, refund.ErrAlreadyPaid) {
		t.Fatalf("failing a paid refund: %v", err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestLedgerListsExportsAndShowsTheUnpaid: the filters select by reason,
// state, point and creation time; pages follow the cursor; the CSV has the
// rows the listing has; a refund not paid a day after is listed as unpaid.
func TestLedgerListsExportsAndShowsTheUnpaid(t *testing.T) {
	ctx := context.Background()
	c, damaged := refunded(t)
	order := c.Count(`SELECT order_id FROM refunds WHERE id = $1`, damaged)
	line := c.Count(`SELECT order_line_id FROM refunds WHERE id = $1`, damaged)
	later := fulfillmenttest.Now.Add(30 * time.Hour)
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		_, err := refund.Add(ctx, tx, nil, refund.Row{WaveID: c.Wave(), OrderID: order, LineID: line, ResidentID: c.Points[0].Resident,
			Reason: fulfillment.ReasonAfterSale, Quantity: 1, AmountFen: 150}, later)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	list := func(f refund.Filter) []int64 {
		t.Helper()
		rows, err := refund.List(ctx, c.DB, f)
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
		return ids
	}
	all := list(refund.Filter{Limit: 10})
	if len(all) != 2 || all[0] != damaged {
		t.Fatalf("all refunds: %v", all)
	}
	for name, tc := range map[string]struct {
		f    refund.Filter
		want int
	}{
		"reason":        {refund.Filter{Reason: fulfillment.ReasonDamaged, Limit: 10}, 1},
		"state":         {refund.Filter{State: refund.Paid, Limit: 10}, 0},
		"point":         {refund.Filter{PointID: c.Points[0].ID, Limit: 10}, 2},
		"another point": {refund.Filter{PointID: c.Points[0].ID + 1000, Limit: 10}, 0},
		"from":          {refund.Filter{From: fulfillmenttest.Now.Add(time.Hour), Limit: 10}, 1},
		"to":            {refund.Filter{To: fulfillmenttest.Now.Add(time.Hour), Limit: 10}, 1},
		"after":         {refund.Filter{AfterID: damaged, Limit: 10}, 1},
	} {
		if got := list(tc.f); len(got) != tc.want {
			t.Errorf("%s: %v, want %d refunds", name, got, tc.want)
		}
	}
	page, err := refund.ListPage(ctx, c.DB, refund.Filter{Limit: 1})
	if err != nil || len(page.Refunds) != 1 || !page.HasMore || page.NextID != damaged {
		t.Fatalf("first page of one: %+v (%v)", page, err)
	}
	var csv bytes.Buffer
	if err := refund.WriteCSV(ctx, c.DB, &csv, refund.Filter{Reason: fulfillment.ReasonAfterSale}); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Split(strings.TrimSpace(csv.String()), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "id,created_at,") ||
		!strings.Contains(lines[1], ",after_sale,1,150,created,") {
		t.Fatalf("CSV:\n%s", csv.String())
	}
	unpaid, n, err := refund.Unpaid(ctx, c.DB, later.Add(-24*time.Hour), 10)
	if err != nil || n != 1 || len(unpaid) != 1 || unpaid[0].ID != damaged {
		t.Fatalf("unpaid a day after: %+v, %d (%v)", unpaid, n, err)
	}
}

// TestAResentEventIsTheSameBody: a refund whose event went out but was not
// marked (a crash, a timeout after the payment system took it) is sent
// again; the catalog renamed the product in between, and the same
// Idempotency-Key carried another body, which a payment system may refuse.
// The first body is kept and sent again as it was.
func TestAResentEventIsTheSameBody(t *testing.T) {
	ctx := context.Background()
	c, id := refunded(t)
	ps := &paymentSystem{bodies: map[string][][]byte{}}
	srv := httptest.NewServer(ps)
	defer srv.Close()
	pay := refund.NewPayments(c.DB, clock.NewManual(fulfillmenttest.Now.Add(time.Hour)), nil,
		refund.PaymentsOptions{URL: srv.URL, Secret: secret, Webhook: notify.WebhookOptions{Now: time.Now}})
	if err := pay.Publish(ctx, []int64{id}); err != nil {
		t.Fatal(err)
	}
	c.Exec(`UPDATE refunds SET state = 'created', submitted_at = NULL WHERE id = $1`, id) // the mark is lost
	c.Exec(`UPDATE products SET name = '散养土鸡蛋' WHERE sku = 'EGG'`)
	if err := pay.Publish(ctx, []int64{id}); err != nil {
		t.Fatal(err)
	}
	got := ps.got("refund.created:" + itoa(id))
	if len(got) != 2 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("the same Idempotency-Key carried %d bodies: %q", len(got), got)
	}
}
