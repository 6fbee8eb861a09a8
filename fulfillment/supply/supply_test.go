package supply

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
	"groupbuy/pickup/notify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// The test night: delivery on 2026-12-01 at a Shanghai warehouse; the
// clock stands after the cutoff (2026-11-30 23:00 local).
var testDate = fulfillmenttest.Date

type fixture struct {
	t     *testing.T
	ctx   context.Context
	db    *sqlx.DB
	city  *fulfillmenttest.City
	clock *clock.Manual
	svc   *Service
	wh    pickup.Warehouse
	wave  int64
	items map[string]item
	sups  map[string]Supplier
	hook  *receiver
}

// item is a sale item of the fixture.
type item struct{ ID, ProductID int64 }

// receiver is a supplier's webhook endpoint: it checks the signature and
// keeps what it got.
type receiver struct {
	secret string
	mu     sync.Mutex
	got    []map[string]any
	keys   []string
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	if err := notify.VerifyWebhook(r.secret, req.Header, body, time.Now(), 0); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	r.mu.Lock()
	r.got, r.keys = append(r.got, m), append(r.keys, req.Header.Get(notify.HeaderIdempotencyKey))
	r.mu.Unlock()
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

// newFixture builds a warehouse selling EGG (chilled, 蛋类), RICE and OIL
// (ambient) and DUMPLING (frozen, no supplier) with units sold, two
// suppliers on webhooks, their terms, and the wave open.
func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	c := fulfillmenttest.New(t, 2)
	f := &fixture{t: t, ctx: ctx, db: c.DB, city: c, clock: clock.NewManual(fulfillmenttest.Cutoff.Add(30 * time.Minute)),
		items: map[string]item{}, sups: map[string]Supplier{}, hook: &receiver{secret: "supplier-secret-0123456789"}}
	srv := httptest.NewServer(f.hook)
	t.Cleanup(srv.Close)
	redisOpt, err := jobs.RedisOpt(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { client.Close() })
	f.svc = NewService(f.db, f.clock, jobs.NewOutbox(f.db, client, f.clock, nil, jobs.Options{}), nil, Options{})
	if f.wh, err = pickup.GetWarehouse(ctx, f.db, c.Warehouse); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		sku      string
		zone     fulfillment.Zone
		category string
		sold     int64
	}{{"EGG", fulfillment.Chilled, "蛋类", 30}, {"RICE", fulfillment.Ambient, "粮油", 47}, {"OIL", fulfillment.Ambient, "粮油", 4},
		{"DUMPLING", fulfillment.Frozen, "", 9}} {
		it := item{ProductID: c.Product(p.sku, p.zone, p.category)}
		it.ID = c.SaleItem(it.ProductID, 1000, 1000)
		c.Order(0, fulfillmenttest.Line{SaleItem: it.ID, Quantity: p.sold - 1})
		c.Order(1, fulfillmenttest.Line{SaleItem: it.ID, Quantity: 1})
		f.items[p.sku] = it
	}
	f.wave = c.Wave()
	for _, code := range []string{"A", "B"} {
		s, err := f.svc.SaveSupplier(ctx, SupplierInput{Code: code, Name: "供应商" + code, Contact: "王经理 13900000000",
			Channel: ChannelWebhook, WebhookURL: srv.URL, WebhookSecret: f.hook.secret})
		if err != nil {
			t.Fatal(err)
		}
		f.sups[code] = s
	}
	slot := clock.NewTimeOfDay(2, 0)
	f.terms("EGG", TermInput{SupplierID: f.sups["A"].ID, Priority: 1, CasePack: 12, PriceFen: 120, DeliverySlot: clock.NewTimeOfDay(3, 0)})
	f.terms("RICE", TermInput{SupplierID: f.sups["A"].ID, Priority: 1, SharePct: 60, CasePack: 10, PriceFen: 3000, DeliverySlot: slot},
		TermInput{SupplierID: f.sups["B"].ID, Priority: 2, SharePct: 40, CasePack: 5, PriceFen: 2900, DeliverySlot: slot})
	f.terms("OIL", TermInput{SupplierID: f.sups["B"].ID, Priority: 1, CasePack: 4, PriceFen: 5000, DeliverySlot: slot})
	if _, err := f.svc.SetMargin(ctx, SafetyMargin{Category: "蛋类", Percent: 10}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) terms(sku string, terms ...TermInput) {
	f.t.Helper()
	if _, err := f.svc.SetTerms(f.ctx, f.items[sku].ProductID, terms); err != nil {
		f.t.Fatal(err)
	}
}

// stock puts units of a product on hand as if received earlier.
func (f *fixture) stock(sku, lot string, expires *fulfillment.Date, n int64, source string) {
	f.t.Helper()
	err := pg.InTx(f.ctx, f.db, func(tx *sqlx.Tx) error {
		return move(f.ctx, tx, movement{Warehouse: f.wh.ID, Product: f.items[sku].ProductID, Lot: lot, ExpiresOn: expires,
			Kind: MoveReceived, Quantity: n, Source: source}, f.clock.Now())
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) close() {
	f.t.Helper()
	err := pg.InTx(f.ctx, f.db, func(tx *sqlx.Tx) error {
		if _, err := wave.Lock(f.ctx, tx, f.wave); err != nil {
			return err
		}
		return wave.MarkClosed(f.ctx, tx, f.wave, wave.Totals{}, f.clock.Now())
	})
	if err != nil {
		f.t.Fatal(err)
	}
}

// purchase runs the purchase stage in a transaction of its own.
func (f *fixture) purchase() bool {
	f.t.Helper()
	var moved bool
	err := pg.InTx(f.ctx, f.db, func(tx *sqlx.Tx) error {
		var err error
		moved, _, err = f.svc.Purchase(f.ctx, tx, f.wave, f.clock.Now(), func(int64, int64) {})
		return err
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return moved
}

func (f *fixture) orders() WaveOrders {
	f.t.Helper()
	o, err := ListPurchaseOrders(f.ctx, f.db, f.wave)
	if err != nil {
		f.t.Fatal(err)
	}
	return o
}

func (f *fixture) count(table string) int {
	f.t.Helper()
	var n int
	if err := f.db.Get(&n, `SELECT count(*) FROM `+table); err != nil {
		f.t.Fatal(err)
	}
	return n
}

func lineOf(t *testing.T, o PurchaseOrder, sku string) PurchaseOrderLine {
	t.Helper()
	for _, l := range o.Lines {
		if l.SKU == sku {
			return l
		}
	}
	t.Fatalf("%s has no line of %s", o.Number, sku)
	return PurchaseOrderLine{}
}

func codeOf(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestPurchaseStageMakesOrdersOnce: at cutoff each supplier gets one order
// for what was sold less usable stock, plus the category's margin, in whole
// cases, split by share; a rerun adds nothing.
func TestPurchaseStageMakesOrdersOnce(t *testing.T) {
	f := newFixture(t)
	yesterday := fulfillment.Date{Time: testDate.AddDate(0, 0, -1)}
	f.stock("EGG", "L1", &testDate, 5, "seed:1")  // usable on the delivery date
	f.stock("EGG", "L0", &yesterday, 7, "seed:2") // expired by then: not counted
	if f.purchase() {
		t.Fatal("the purchase stage acted on an open wave")
	}
	f.close()
	if !f.purchase() {
		t.Fatal("the purchase stage did nothing on a closed wave")
	}
	o := f.orders()
	if len(o.Orders) != 2 {
		t.Fatalf("%d orders, want one per supplier: %+v", len(o.Orders), o.Orders)
	}
	a, b := o.Orders[0], o.Orders[1]
	if a.Number != "PO-WH-20261201-001" || a.SupplierID != f.sups["A"].ID || b.Number != "PO-WH-20261201-002" || a.Version != 1 {
		t.Fatalf("numbers %s %s", a.Number, b.Number)
	}
	// EGG: (30 sold − 5 usable) × 1.1 = 27.5 → 28 → 3 cases of 12.
	// RICE: 47 split 60/40 → 28 and 19 → 3 cases of 10 and 4 of 5. OIL: 4, one case.
	if l := lineOf(t, a, "EGG"); l.Cases != 3 || l.Quantity != 36 || l.AmountFen != 36*120 {
		t.Fatalf("EGG line %+v", l)
	}
	if l := lineOf(t, a, "RICE"); l.Quantity != 30 {
		t.Fatalf("RICE at A %+v", l)
	}
	if l := lineOf(t, b, "RICE"); l.Quantity != 20 || l.Cases != 4 {
		t.Fatalf("RICE at B %+v", l)
	}
	if a.Units != 66 || a.AmountFen != 36*120+30*3000 || len(b.Lines) != 2 {
		t.Fatalf("order A %d units %d fen; B %d lines", a.Units, a.AmountFen, len(b.Lines))
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	if want := time.Date(2026, 12, 1, 2, 0, 0, 0, loc); !a.ExpectedAt.Equal(want) {
		t.Fatalf("A expected at %s, want the earliest slot %s", a.ExpectedAt, want)
	}
	if a.State != OrderQueued || len(o.Needs) != 3 {
		t.Fatalf("state %s, %d needs", a.State, len(o.Needs))
	}
	before := []int{f.count("purchase_orders"), f.count("purchase_order_lines"), f.count("purchase_order_sends"), f.count("jobs")}
	if f.purchase() {
		t.Fatal("a second run acted again")
	}
	after := []int{f.count("purchase_orders"), f.count("purchase_order_lines"), f.count("purchase_order_sends"), f.count("jobs")}
	if before[0] != after[0] || before[1] != after[1] || before[2] != after[2] || before[3] != after[3] {
		t.Fatalf("rerun changed rows: %v → %v", before, after)
	}
	w, err := wave.Get(f.ctx, f.db, f.wave)
	if err != nil {
		t.Fatal(err)
	}
	if w.PurchaseOrders == nil || *w.PurchaseOrders != 2 || w.WaitingFor == nil || !strings.Contains(w.WaitingFor.Message, "0 of 2") {
		t.Fatalf("wave %+v waits for %+v", w, w.WaitingFor)
	}
}

// TestSendOnceThenResend: the send job posts the order once, signed, with
// its CSV; running it again sends nothing; a resend is a new key.
func TestSendOnceThenResend(t *testing.T) {
	f := newFixture(t)
	f.close()
	f.purchase()
	po := f.orders().Orders[0]
	task := func(seq int64) *asynq.Task {
		b, _ := json.Marshal(sendPayload{PurchaseOrderID: po.ID, Seq: seq})
		return asynq.NewTask(TaskSendPurchaseOrder, b)
	}
	for range 2 {
		if err := f.svc.handleSend(f.ctx, task(1)); err != nil {
			t.Fatal(err)
		}
	}
	if f.hook.count() != 1 {
		t.Fatalf("%d posts, want 1", f.hook.count())
	}
	payload := f.hook.got[0]["payload"].(map[string]any)
	csv := payload["csv"].(string)
	if !strings.Contains(csv, "采购单号") || !strings.Contains(csv, po.Number) || !strings.Contains(csv, "商品EGG") {
		t.Fatalf("csv %q", csv)
	}
	got, err := GetPurchaseOrder(f.ctx, f.db, po.ID)
	if err != nil || got.State != OrderSent || got.Sends != 1 {
		t.Fatalf("after the send: %+v %v", got, err)
	}
	if _, err := f.svc.Resend(f.ctx, po.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.handleSend(f.ctx, task(2)); err != nil {
		t.Fatal(err)
	}
	if f.hook.count() != 2 || f.hook.keys[0] == f.hook.keys[1] {
		t.Fatalf("resend: %d posts, keys %v", f.hook.count(), f.hook.keys)
	}
}

// TestReceivingRules walks the dock's rules on one line.
func TestReceivingRules(t *testing.T) {
	f := newFixture(t)
	f.close()
	f.purchase()
	o := f.orders()
	a := o.Orders[0]
	rice, egg := lineOf(t, a, "RICE"), lineOf(t, a, "EGG") // 30 ordered, case 10; 36 ordered, chilled
	recv := func(line int64, r Scan) (ScanRecord, bool, error) { return f.svc.Receive(f.ctx, line, r, "dock") }

	first, replayed, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage})
	if err != nil || replayed || first.Line.Accepted != 18 || first.Line.Rejected != 2 {
		t.Fatalf("first scan: %+v %v %v", first, replayed, err)
	}
	// Two scanners sending the same scan: it counts once and answers the same.
	again, replayed, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage})
	if err != nil || !replayed || again.ID != first.ID || again.Line.Accepted != 18 {
		t.Fatalf("repeated scan: %+v %v %v", again, replayed, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 5, Accepted: 5}); codeOf(err) != "scan_conflict" {
		t.Fatalf("same scan id, other quantities: %v", err)
	}
	// Partial arrivals add up; over-delivery up to the tolerance (one case of
	// 10 beats 10 % of 30) is accepted, beyond it is 422.
	if r, _, err := recv(rice.ID, Scan{ScanID: "s2", Arrived: 22, Accepted: 22}); err != nil || r.Line.Accepted != 40 || r.Tolerance != 10 {
		t.Fatalf("second arrival: %+v %v", r, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s3", Arrived: 1, Accepted: 1}); codeOf(err) != "over_delivery" {
		t.Fatalf("beyond the tolerance: %v", err)
	}
	// A correction is a new row; it may not take the totals below zero.
	if r, _, err := recv(rice.ID, Scan{ScanID: "s4", Arrived: -3, Accepted: -3, Lot: ""}); err != nil || r.Line.Accepted != 37 {
		t.Fatalf("correction: %+v %v", r, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s5", Arrived: -5, Rejected: -5, Reason: RejectDamage}); codeOf(err) != "correction_below_zero" {
		t.Fatalf("below zero: %v", err)
	}
	// Rejections need a reason; chilled goods need lot and expiry.
	if _, _, err := recv(egg.ID, Scan{ScanID: "e1", Arrived: 2, Rejected: 2}); codeOf(err) != "invalid_field" {
		t.Fatalf("rejected without a reason: %v", err)
	}
	if _, _, err := recv(egg.ID, Scan{ScanID: "e2", Arrived: 12, Accepted: 12}); codeOf(err) != "invalid_field" {
		t.Fatalf("chilled without a lot: %v", err)
	}
	exp := fulfillment.Date{Time: testDate.AddDate(0, 0, 10)}
	if _, _, err := recv(egg.ID, Scan{ScanID: "e3", Arrived: 12, Accepted: 12, Lot: "E-1201", ExpiresOn: &exp}); err != nil {
		t.Fatal(err)
	}
	// The records are append-only, in the database too.
	if _, err := f.db.Exec(`UPDATE receiving_records SET accepted = 0`); err == nil {
		t.Fatal("a receiving record was edited in place")
	}
	// Accepted units are stock: 37 rice, 12 eggs of lot E-1201.
	st, err := StockOf(f.ctx, f.db, f.wh.ID, testDate)
	if err != nil {
		t.Fatal(err)
	}
	onHand := map[int64]int64{}
	for _, p := range st.Products {
		onHand[p.ProductID] = p.Usable
	}
	if onHand[f.items["RICE"].ProductID] != 37 || onHand[f.items["EGG"].ProductID] != 12 {
		t.Fatalf("stock %+v", st)
	}
	// Closed: receiving is over (409); closing again the same way is the same answer.
	if _, err := f.svc.Close(f.ctx, a.ID, OutcomeReceived, "dock"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Close(f.ctx, a.ID, OutcomeReceived, "dock"); err != nil {
		t.Fatalf("closing twice: %v", err)
	}
	if _, err := f.svc.Close(f.ctx, a.ID, OutcomeNotComing, "dock"); codeOf(err) != "purchase_order_closed" {
		t.Fatalf("closing another way: %v", err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s6", Arrived: 1, Accepted: 1}); codeOf(err) != "purchase_order_closed" {
		t.Fatalf("receiving on a closed order: %v", err)
	}
	if _, replayed, err := recv(rice.ID, Scan{ScanID: "s2", Arrived: 22, Accepted: 22}); err != nil || !replayed {
		t.Fatalf("a repeated scan after the close: %v %v", replayed, err)
	}
	w, _ := wave.Get(f.ctx, f.db, f.wave)
	if w.PurchaseOrdersClosed != 1 || !strings.Contains(w.WaitingFor.Message, "1 of 2") {
		t.Fatalf("wave waits for %+v", w.WaitingFor)
	}
}

// TestStockFirstExpiryFirstOut: allocation takes the lot that expires first,
// and expired lots are written off once.
func TestStockFirstExpiryFirstOut(t *testing.T) {
	f := newFixture(t)
	soon, later := fulfillment.Date{Time: testDate.AddDate(0, 0, 2)}, fulfillment.Date{Time: testDate.AddDate(0, 0, 9)}
	f.stock("EGG", "LATE", &later, 20, "seed:1")
	f.stock("EGG", "SOON", &soon, 15, "seed:2")
	f.close()
	f.purchase() // stock covers the 30 eggs: no egg to buy
	for _, o := range f.orders().Orders {
		for _, l := range o.Lines {
			if l.SKU == "EGG" {
				t.Fatalf("eggs bought though stock covers them: %+v", l)
			}
		}
	}
	w, _ := wave.Get(f.ctx, f.db, f.wave)
	err := pg.InTx(f.ctx, f.db, func(tx *sqlx.Tx) error {
		return Allocate(f.ctx, tx, w, map[int64]int64{f.items["EGG"].ID: 30}, f.clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := StockOf(f.ctx, f.db, f.wh.ID, testDate)
	var lots []Lot
	for _, p := range st.Products {
		if p.ProductID == f.items["EGG"].ProductID {
			lots = p.Lots
		}
	}
	if len(lots) != 1 || lots[0].Lot != "LATE" || lots[0].Balance != 5 {
		t.Fatalf("after allocating 30 eggs: %+v", lots)
	}
	// Ten days on, lot LATE has expired: written off once, however often the job runs.
	f.clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
	for range 2 {
		if _, err := f.svc.WriteOffExpired(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	var off int64
	if err := f.db.Get(&off, `SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE kind = 'written_off'`); err != nil {
		t.Fatal(err)
	}
	if off != -5 {
		t.Fatalf("written off %d, want -5", off)
	}
}

func TestSupplierValidationAndImport(t *testing.T) {
	f := newFixture(t)
	for field, in := range map[string]SupplierInput{
		"code":           {Code: "A B", Name: "x", Channel: ChannelEmail, Email: "a@b.cn"},
		"channel":        {Code: "C", Name: "x", Channel: "fax"},
		"webhook_url":    {Code: "C", Name: "x", Channel: ChannelWebhook, WebhookURL: "ftp://x", WebhookSecret: strings.Repeat("k", 16)},
		"webhook_secret": {Code: "C", Name: "x", Channel: ChannelWebhook, WebhookURL: "https://x.cn/po", WebhookSecret: "short"},
		"email":          {Code: "C", Name: "x", Channel: ChannelEmail, Email: "not an address"},
	} {
		var e *apperr.Error
		if _, err := f.svc.SaveSupplier(f.ctx, in); !errors.As(err, &e) || e.Field != field {
			t.Errorf("bad %s: %v", field, err)
		}
	}
	csv := "code,name,contact,channel,webhook_url,webhook_secret,email\n" +
		"C,供应商C,李 13800000000,email,,,orders@c.cn\n" +
		"A,供应商A改,,webhook,https://a.cn/po,,\n" // A keeps its secret
	got, err := f.svc.ImportSuppliers(f.ctx, strings.NewReader(csv))
	if err != nil || len(got) != 2 || got[1].ID != f.sups["A"].ID || got[1].WebhookSecret != f.hook.secret {
		t.Fatalf("import: %+v %v", got, err)
	}
	bad := "code,name,contact,channel,webhook_url,webhook_secret,email\nD,供应商D,,email,,,\n"
	var e *apperr.Error
	if _, err := f.svc.ImportSuppliers(f.ctx, strings.NewReader(bad)); !errors.As(err, &e) || e.Details["line"] != 2 {
		t.Fatalf("bad row: %v", err)
	}
	if n := f.count("suppliers"); n != 3 {
		t.Fatalf("%d suppliers", n)
	}
	if _, err := f.svc.SetTerms(f.ctx, f.items["OIL"].ProductID, []TermInput{{SupplierID: 999, Priority: 1, CasePack: 1,
		DeliverySlot: clock.NewTimeOfDay(2, 0)}}); codeOf(err) != "unknown_supplier" {
		t.Fatalf("unknown supplier: %v", err)
	}
	if _, err := f.svc.SetTerms(f.ctx, f.items["OIL"].ProductID, []TermInput{
		{SupplierID: f.sups["A"].ID, Priority: 1, SharePct: 50, CasePack: 1, DeliverySlot: clock.NewTimeOfDay(2, 0)}}); codeOf(err) != "invalid_field" {
		t.Fatalf("shares not adding up: %v", err)
	}
}
