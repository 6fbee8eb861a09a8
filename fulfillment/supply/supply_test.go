package supply_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/stock"
	. "groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/supply/supplytest"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
	"groupbuy/pickup/notify"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestPurchaseStageMakesOrdersOnce: at cutoff each supplier gets one order
// for what was sold less usable stock, plus the category's margin, in whole
// cases, split by share; a rerun adds nothing.
func TestPurchaseStageMakesOrdersOnce(t *testing.T) {
	f := supplytest.New(t)
	yesterday := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, -1)}
	f.Stock("EGG", "L1", &supplytest.Date, 5, "seed:1") // usable on the delivery date
	f.Stock("EGG", "L0", &yesterday, 7, "seed:2")       // expired by then: not counted
	if f.Purchase() {
		t.Fatal("the purchase stage acted on an open wave")
	}
	f.Close()
	if !f.Purchase() {
		t.Fatal("the purchase stage did nothing on a closed wave")
	}
	o := f.Orders()
	if len(o.Orders) != 2 {
		t.Fatalf("%d orders, want one per supplier: %+v", len(o.Orders), o.Orders)
	}
	a, b := o.Orders[0], o.Orders[1]
	if a.Number != "PO-WH-20261201-001" || a.SupplierID != f.Sups["A"].ID || b.Number != "PO-WH-20261201-002" || a.Version != 1 {
		t.Fatalf("numbers %s %s", a.Number, b.Number)
	}
	// EGG: (30 sold − 5 usable) × 1.1 = 27.5 → 28 → 3 cases of 12.
	// RICE: 47 split 60/40 → 28 and 19 → 3 cases of 10 and 4 of 5. OIL: 4, one case.
	if l := supplytest.LineOf(t, a, "EGG"); l.Cases != 3 || l.Quantity != 36 || l.AmountFen != 36*120 {
		t.Fatalf("EGG line %+v", l)
	}
	if l := supplytest.LineOf(t, a, "RICE"); l.Quantity != 30 {
		t.Fatalf("RICE at A %+v", l)
	}
	if l := supplytest.LineOf(t, b, "RICE"); l.Quantity != 20 || l.Cases != 4 {
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
	before := []int{f.Count("purchase_orders"), f.Count("purchase_order_lines"), f.Count("purchase_order_sends"), f.Count("jobs")}
	if f.Purchase() {
		t.Fatal("a second run acted again")
	}
	after := []int{f.Count("purchase_orders"), f.Count("purchase_order_lines"), f.Count("purchase_order_sends"), f.Count("jobs")}
	if before[0] != after[0] || before[1] != after[1] || before[2] != after[2] || before[3] != after[3] {
		t.Fatalf("rerun changed rows: %v → %v", before, after)
	}
	w, err := wave.Get(f.Ctx, f.DB, f.Wave)
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
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	po := f.Orders().Orders[0]
	task := func(seq int64) *asynq.Task { return SendTask(po.ID, seq) }
	for range 2 {
		if err := f.Svc.HandleSend(f.Ctx, task(1)); err != nil {
			t.Fatal(err)
		}
	}
	if f.Hook.Count() != 1 {
		t.Fatalf("%d posts, want 1", f.Hook.Count())
	}
	posts, _ := f.Hook.Got()
	payload := posts[0]["payload"].(map[string]any)
	csv := payload["csv"].(string)
	if !strings.Contains(csv, "采购单号") || !strings.Contains(csv, po.Number) || !strings.Contains(csv, "商品EGG") {
		t.Fatalf("csv %q", csv)
	}
	got, err := GetPurchaseOrder(f.Ctx, f.DB, po.ID)
	if err != nil || got.State != OrderSent || got.Sends != 1 {
		t.Fatalf("after the send: %+v %v", got, err)
	}
	if _, err := f.Svc.Resend(f.Ctx, po.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if err := f.Svc.HandleSend(f.Ctx, task(2)); err != nil {
		t.Fatal(err)
	}
	if _, keys := f.Hook.Got(); len(keys) != 2 || keys[0] == keys[1] {
		t.Fatalf("resend: %d posts, keys %v", len(keys), keys)
	}
}

// TestReceivingRules walks the dock's rules on one line.
func TestReceivingRules(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	o := f.Orders()
	a := o.Orders[0]
	rice, egg := supplytest.LineOf(t, a, "RICE"), supplytest.LineOf(t, a, "EGG") // 30 ordered, case 10; 36 ordered, chilled
	recv := func(line int64, r Scan) (ScanRecord, bool, error) { return f.Svc.Receive(f.Ctx, line, r, "dock") }

	first, replayed, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage})
	if err != nil || replayed || first.Line.Accepted != 18 || first.Line.Rejected != 2 {
		t.Fatalf("first scan: %+v %v %v", first, replayed, err)
	}
	// Two scanners sending the same scan: it counts once and answers the same.
	again, replayed, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage})
	if err != nil || !replayed || again.ID != first.ID || again.Line.Accepted != 18 {
		t.Fatalf("repeated scan: %+v %v %v", again, replayed, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s1", Arrived: 5, Accepted: 5}); supplytest.CodeOf(err) != "scan_conflict" {
		t.Fatalf("same scan id, other quantities: %v", err)
	}
	// Partial arrivals add up; over-delivery up to the tolerance (one case of
	// 10 beats 10 % of 30) is accepted, beyond it is 422.
	if r, _, err := recv(rice.ID, Scan{ScanID: "s2", Arrived: 22, Accepted: 22}); err != nil || r.Line.Accepted != 40 || r.Tolerance != 10 {
		t.Fatalf("second arrival: %+v %v", r, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s3", Arrived: 1, Accepted: 1}); supplytest.CodeOf(err) != "over_delivery" {
		t.Fatalf("beyond the tolerance: %v", err)
	}
	// A correction is a new row; it may not take the totals below zero.
	if r, _, err := recv(rice.ID, Scan{ScanID: "s4", Arrived: -3, Accepted: -3, Lot: ""}); err != nil || r.Line.Accepted != 37 {
		t.Fatalf("correction: %+v %v", r, err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s5", Arrived: -5, Rejected: -5, Reason: RejectDamage}); supplytest.CodeOf(err) != "correction_below_zero" {
		t.Fatalf("below zero: %v", err)
	}
	// Rejections need a reason; chilled goods need lot and expiry.
	if _, _, err := recv(egg.ID, Scan{ScanID: "e1", Arrived: 2, Rejected: 2}); supplytest.CodeOf(err) != "invalid_field" {
		t.Fatalf("rejected without a reason: %v", err)
	}
	if _, _, err := recv(egg.ID, Scan{ScanID: "e2", Arrived: 12, Accepted: 12}); supplytest.CodeOf(err) != "invalid_field" {
		t.Fatalf("chilled without a lot: %v", err)
	}
	// Goods that expire before the delivery date are rejected, not accepted.
	stale := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, -1)}
	if _, _, err := recv(egg.ID, Scan{ScanID: "e-stale", Arrived: 12, Accepted: 12, Lot: "E-1130", ExpiresOn: &stale}); supplytest.CodeOf(err) != "expired_on_arrival" {
		t.Fatalf("eggs expired before the delivery date: %v", err)
	}
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	if _, _, err := recv(egg.ID, Scan{ScanID: "e3", Arrived: 12, Accepted: 12, Lot: "E-1201", ExpiresOn: &exp}); err != nil {
		t.Fatal(err)
	}
	// A correction takes units out of the lot and expiry its line put them in.
	other := fulfillment.Date{Time: exp.AddDate(0, 0, 1)}
	for _, c := range []Scan{{ScanID: "e4", Arrived: -1, Accepted: -1, Lot: "E-9999", ExpiresOn: &exp},
		{ScanID: "e5", Arrived: -1, Accepted: -1, Lot: "E-1201", ExpiresOn: &other}} {
		if _, _, err := recv(egg.ID, c); supplytest.CodeOf(err) != "correction_not_in_lot" {
			t.Fatalf("correction %s of a lot the line did not fill: %v", c.ScanID, err)
		}
	}
	// The records are append-only, in the database too.
	if _, err := f.DB.Exec(`UPDATE receiving_records SET accepted = 0`); err == nil {
		t.Fatal("a receiving record was edited in place")
	}
	// Accepted units are stock: 37 rice, 12 eggs of lot E-1201.
	st, err := stock.StockOf(f.Ctx, f.DB, f.WH.ID, supplytest.Date)
	if err != nil {
		t.Fatal(err)
	}
	onHand := map[int64]int64{}
	for _, p := range st.Products {
		onHand[p.ProductID] = p.Usable
	}
	if onHand[f.Items["RICE"].ProductID] != 37 || onHand[f.Items["EGG"].ProductID] != 12 {
		t.Fatalf("stock %+v", st)
	}
	// Closed: receiving is over (409); closing again the same way is the same answer.
	if _, err := f.Svc.Close(f.Ctx, a.ID, OutcomeReceived, "dock"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Svc.Close(f.Ctx, a.ID, OutcomeReceived, "dock"); err != nil {
		t.Fatalf("closing twice: %v", err)
	}
	if _, err := f.Svc.Close(f.Ctx, a.ID, OutcomeNotComing, "dock"); supplytest.CodeOf(err) != "purchase_order_closed" {
		t.Fatalf("closing another way: %v", err)
	}
	if _, _, err := recv(rice.ID, Scan{ScanID: "s6", Arrived: 1, Accepted: 1}); supplytest.CodeOf(err) != "purchase_order_closed" {
		t.Fatalf("receiving on a closed order: %v", err)
	}
	if _, replayed, err := recv(rice.ID, Scan{ScanID: "s2", Arrived: 22, Accepted: 22}); err != nil || !replayed {
		t.Fatalf("a repeated scan after the close: %v %v", replayed, err)
	}
	w, _ := wave.Get(f.Ctx, f.DB, f.Wave)
	if w.PurchaseOrdersClosed != 1 || !strings.Contains(w.WaitingFor.Message, "1 of 2") {
		t.Fatalf("wave waits for %+v", w.WaitingFor)
	}
}

// TestConcurrentScans: scans lock their line, not their order. Scanners
// sending the same scan at once count it once, even where counting it twice
// would go beyond the tolerance; scans of the order's lines run side by
// side; a close racing scans answers the totals it closed on, and no scan
// counts after it.
func TestConcurrentScans(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	a := f.Orders().Orders[0]
	rice, egg := supplytest.LineOf(t, a, "RICE"), supplytest.LineOf(t, a, "EGG") // 30 + 10 may be accepted; 36 chilled
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	type answer struct {
		replayed bool
		err      error
	}
	race := func(n int, scan func(i int) (int64, Scan)) []answer {
		out := make([]answer, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				line, r := scan(i)
				_, out[i].replayed, out[i].err = f.Svc.Receive(f.Ctx, line, r, "dock")
			})
		}
		wg.Wait()
		return out
	}
	var recorded int
	for _, a := range race(8, func(int) (int64, Scan) { return rice.ID, Scan{ScanID: "all", Arrived: 40, Accepted: 40} }) {
		if a.err != nil {
			t.Fatalf("the same scan from eight scanners: %v", a.err)
		}
		if !a.replayed {
			recorded++
		}
	}
	if recorded != 1 {
		t.Fatalf("the same scan recorded %d times", recorded)
	}
	for _, a := range race(12, func(i int) (int64, Scan) {
		return egg.ID, Scan{ScanID: fmt.Sprintf("egg-%d", i), Arrived: 3, Accepted: 3, Lot: "E-1", ExpiresOn: &exp}
	}) {
		if a.err != nil || a.replayed {
			t.Fatalf("twelve scans of a line: %v %v", a.replayed, a.err)
		}
	}
	if got := supplytest.LineOf(t, f.Orders().Orders[0], "EGG"); got.Accepted != 36 {
		t.Fatalf("eggs accepted %d, want 36", got.Accepted)
	}
	// Corrections and the close race: whatever the close answers is final.
	var closed PurchaseOrder
	var closeErr error
	var wg sync.WaitGroup
	wg.Go(func() { closed, closeErr = f.Svc.Close(f.Ctx, a.ID, OutcomeReceived, "dock") })
	answers := race(16, func(i int) (int64, Scan) {
		return egg.ID, Scan{ScanID: fmt.Sprintf("fix-%d", i), Arrived: -1, Accepted: -1, Lot: "E-1", ExpiresOn: &exp}
	})
	wg.Wait()
	if closeErr != nil {
		t.Fatal(closeErr)
	}
	var took int64
	for _, a := range answers {
		switch {
		case a.err == nil:
			took++
		case supplytest.CodeOf(a.err) != "purchase_order_closed":
			t.Fatalf("a correction racing the close: %v", a.err)
		}
	}
	now := supplytest.LineOf(t, f.Orders().Orders[0], "EGG")
	if now.Accepted != 36-took || closed.Accepted != 40+now.Accepted {
		t.Fatalf("closed on %d accepted, %d corrections taken; the eggs stand at %d", closed.Accepted, took, now.Accepted)
	}
	var stock int64
	if err := f.DB.Get(&stock, `SELECT sum(quantity) FROM stock_movements WHERE kind = 'received'`); err != nil || stock != 40+36-took {
		t.Fatalf("stock received %d, want %d (%v)", stock, 40+36-took, err)
	}
}

func TestSupplierValidationAndImport(t *testing.T) {
	f := supplytest.New(t)
	for field, in := range map[string]SupplierInput{
		"code":           {Code: "A B", Name: "x", Channel: ChannelEmail, Email: "a@b.cn"},
		"channel":        {Code: "C", Name: "x", Channel: "fax"},
		"webhook_url":    {Code: "C", Name: "x", Channel: ChannelWebhook, WebhookURL: "ftp://x", WebhookSecret: strings.Repeat("k", 16)},
		"webhook_secret": {Code: "C", Name: "x", Channel: ChannelWebhook, WebhookURL: "https://x.cn/po", WebhookSecret: "short"},
		"email":          {Code: "C", Name: "x", Channel: ChannelEmail, Email: "not an address"},
	} {
		var e *apperr.Error
		if _, err := f.Svc.SaveSupplier(f.Ctx, in); !errors.As(err, &e) || e.Field != field {
			t.Errorf("bad %s: %v", field, err)
		}
	}
	// Only a bare address: net/mail would read past the brackets or quotes.
	for _, email := range []string{"<po@c.cn>", `"p o"@c.cn`} {
		var e *apperr.Error
		if _, err := f.Svc.SaveSupplier(f.Ctx, SupplierInput{Code: "C", Name: "x", Channel: ChannelEmail, Email: email}); !errors.As(err, &e) || e.Field != "email" {
			t.Errorf("email %q: %v", email, err)
		}
	}
	csv := "code,name,contact,channel,webhook_url,webhook_secret,email\n" +
		"C,供应商C,李 13800000000,email,,,orders@c.cn\n" +
		"A,供应商A改,,webhook,https://a.cn/po,,\n" // A keeps its secret
	got, err := f.Svc.ImportSuppliers(f.Ctx, strings.NewReader(csv))
	if err != nil || len(got) != 2 || got[1].ID != f.Sups["A"].ID || got[1].WebhookSecret != f.Hook.Secret {
		t.Fatalf("import: %+v %v", got, err)
	}
	bad := "code,name,contact,channel,webhook_url,webhook_secret,email\nD,供应商D,,email,,,\n"
	var e *apperr.Error
	if _, err := f.Svc.ImportSuppliers(f.Ctx, strings.NewReader(bad)); !errors.As(err, &e) || e.Details["line"] != 2 {
		t.Fatalf("bad row: %v", err)
	}
	if n := f.Count("suppliers"); n != 3 {
		t.Fatalf("%d suppliers", n)
	}
	if _, err := f.Svc.SetTerms(f.Ctx, f.Items["OIL"].ProductID, []TermInput{{SupplierID: 999, Priority: 1, CasePack: 1,
		DeliverySlot: clock.NewTimeOfDay(2, 0)}}); supplytest.CodeOf(err) != "unknown_supplier" {
		t.Fatalf("unknown supplier: %v", err)
	}
	if _, err := f.Svc.SetTerms(f.Ctx, f.Items["OIL"].ProductID, []TermInput{
		{SupplierID: f.Sups["A"].ID, Priority: 1, SharePct: 50, CasePack: 1, DeliverySlot: clock.NewTimeOfDay(2, 0)}}); supplytest.CodeOf(err) != "invalid_field" {
		t.Fatalf("shares not adding up: %v", err)
	}
}

// TestReviseMakesTheNextVersion: a revision is a new version numbered after
// the order's first (-v2, then -v3, never -v2-v3) with the changed line
// and its totals, queued to the supplier once; the version before is kept
// as it was and can no longer be revised; a product not on the order is
// refused.
func TestReviseMakesTheNextVersion(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	po := f.Orders().Orders[0]
	line := po.Lines[0]
	sends, jobs := f.Count("purchase_order_sends"), f.Count("jobs")
	// A product named twice is refused, as everywhere else, not "the last wins".
	if _, err := f.Svc.Revise(f.Ctx, po.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: 1},
		{ProductID: line.ProductID, Cases: 50}}}, "ops"); supplytest.CodeOf(err) != "invalid_field" || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a product named twice: %v", err)
	}
	v2, err := f.Svc.Revise(f.Ctx, po.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: line.Cases + 1}}, Note: "more"}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	l := v2.Lines[0]
	if v2.Version != 2 || v2.Number != po.Number+"-v2" || !v2.Latest || l.Cases != line.Cases+1 ||
		l.Quantity != l.Cases*l.CasePack || l.AmountFen != l.Quantity*l.PriceFen || v2.AmountFen != po.AmountFen+l.CasePack*l.PriceFen {
		t.Fatalf("revised %+v from %+v", v2, po)
	}
	if f.Count("purchase_order_sends") != sends+1 || f.Count("jobs") != jobs+1 {
		t.Fatalf("sends %d → %d, jobs %d → %d: want one more of each", sends, f.Count("purchase_order_sends"), jobs, f.Count("jobs"))
	}
	if old, err := GetPurchaseOrder(f.Ctx, f.DB, po.ID); err != nil || old.Latest || old.AmountFen != po.AmountFen {
		t.Fatalf("the version before: %+v %v", old, err)
	}
	if _, err := f.Svc.Revise(f.Ctx, po.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: 1}}}, "ops"); !errors.Is(err, ErrSuperseded) {
		t.Fatalf("revising the version before: %v", err)
	}
	if _, err := f.Svc.Revise(f.Ctx, v2.ID, Revision{Lines: []RevisionLine{{ProductID: 1 << 40, Cases: 1}}}, "ops"); err == nil || !strings.Contains(err.Error(), "unknown_line") {
		t.Fatalf("a product not on the order: %v", err)
	}
	// Cases within their bound may still come to more units than a line holds.
	var big *apperr.Error
	if _, err := f.Svc.Revise(f.Ctx, v2.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: fulfillment.MaxStockCap}}}, "ops"); !errors.As(err, &big) || big.Field != "lines[0].cases" {
		t.Fatalf("more units than a line holds: %v", err)
	}
	v3, err := f.Svc.Revise(f.Ctx, v2.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: line.Cases}}}, "ops")
	if err != nil || v3.Version != 3 || v3.Number != po.Number+"-v3" || v3.AmountFen != po.AmountFen {
		t.Fatalf("the third version: %+v %v", v3, err)
	}
}

// TestARevisedOrderIsNotSentTwice: an order revised before its send went
// out is not sent; the supplier gets the new version alone.
func TestARevisedOrderIsNotSentTwice(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	v1 := f.Orders().Orders[0]
	line := v1.Lines[0]
	v2, err := f.Svc.Revise(f.Ctx, v1.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: line.Cases + 1}}}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{v1.ID, v2.ID} {
		if err := f.Svc.HandleSend(f.Ctx, SendTask(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	posts, keys := f.Hook.Got()
	if len(posts) != 1 || keys[0] != v2.Number+":1" {
		t.Fatalf("%d posts (%v), want v2's alone", len(posts), keys)
	}
	var lastError string
	if err := f.DB.Get(&lastError, `SELECT last_error FROM purchase_order_sends WHERE purchase_order_id = $1 AND sent_at IS NULL`, v1.ID); err != nil || !strings.Contains(lastError, "newer version") {
		t.Fatalf("v1's send: %q %v", lastError, err)
	}
}

// TestARevisionWaitsForASendInFlight: ops revise an order while its send
// is on the wire and being retried (the supplier answered 503). The
// revision waits for the send, so the supplier takes v1, then v2: its last
// order of the wave is the newest, never the superseded one.
func TestARevisionWaitsForASendInFlight(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	v1 := f.Orders().Orders[0]
	line := v1.Lines[0]
	var (
		mu       sync.Mutex
		accepted []string // the keys the supplier took, in order
		first    = true
		revised  = make(chan string, 1)
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get(notify.HeaderIdempotencyKey)
		mu.Lock()
		busy := first
		first = false
		mu.Unlock()
		if busy {
			// v1's first attempt is on the wire: ops revise it now, and the
			// new version's send goes out as soon as the revision commits.
			go func() {
				v2, err := f.Svc.Revise(f.Ctx, v1.ID, Revision{Lines: []RevisionLine{{ProductID: line.ProductID, Cases: line.Cases + 1}}}, "ops")
				if err == nil {
					err = f.Svc.HandleSend(f.Ctx, SendTask(v2.ID, 1))
				}
				revised <- v2.Number + fmt.Sprint(err)
			}()
			time.Sleep(300 * time.Millisecond) // time for the revision to commit, were it not made to wait
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		mu.Lock()
		accepted = append(accepted, key)
		mu.Unlock()
	}))
	defer srv.Close()
	if _, err := f.Svc.SaveSupplier(f.Ctx, SupplierInput{Code: "A", Name: "供应商A", Channel: ChannelWebhook, WebhookURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	if v1.SupplierID != f.Sups["A"].ID {
		t.Fatalf("the first order is supplier %d's", v1.SupplierID)
	}
	if err := f.Svc.HandleSend(f.Ctx, SendTask(v1.ID, 1)); err != nil {
		t.Fatal(err)
	}
	v2 := strings.TrimSuffix(<-revised, "<nil>")
	mu.Lock()
	defer mu.Unlock()
	if want := []string{v1.Number + ":1", v2 + ":1"}; fmt.Sprint(accepted) != fmt.Sprint(want) {
		t.Fatalf("the supplier took %v, want %v", accepted, want)
	}
}

// TestAnOrderRefusedForGoodShowsIt: the supplier's endpoint is gone (410),
// so the send is not retried; the order shows send_failed with the answer
// (it looked queued forever), until ops fix the supplier and resend.
func TestAnOrderRefusedForGoodShowsIt(t *testing.T) {
	f := supplytest.New(t)
	good := f.Sups["A"].WebhookURL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "endpoint retired", http.StatusGone)
	}))
	defer srv.Close()
	sup := SupplierInput{Code: "A", Name: "供应商A", Channel: ChannelWebhook, WebhookURL: srv.URL}
	if _, err := f.Svc.SaveSupplier(f.Ctx, sup); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f.Purchase()
	po := f.Orders().Orders[0]
	if po.SupplierID != f.Sups["A"].ID || po.State != OrderQueued || po.SendError != "" {
		t.Fatalf("before its send: supplier %d, %s %q", po.SupplierID, po.State, po.SendError)
	}
	if err := f.Svc.HandleSend(f.Ctx, SendTask(po.ID, 1)); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a 410: %v, want refused for good", err)
	}
	got, err := GetPurchaseOrder(f.Ctx, f.DB, po.ID)
	if err != nil || got.State != OrderSendFailed || !strings.Contains(got.SendError, "410") {
		t.Fatalf("after a refusal for good: %s %q %v", got.State, got.SendError, err)
	}
	sup.WebhookURL = good
	if _, err := f.Svc.SaveSupplier(f.Ctx, sup); err != nil {
		t.Fatal(err)
	}
	if got, err = f.Svc.Resend(f.Ctx, po.ID, "ops"); err != nil || got.State != OrderQueued {
		t.Fatalf("resent: %s %v", got.State, err)
	}
	if err := f.Svc.HandleSend(f.Ctx, SendTask(po.ID, 2)); err != nil {
		t.Fatal(err)
	}
	if got, err = GetPurchaseOrder(f.Ctx, f.DB, po.ID); err != nil || got.State != OrderSent || got.SendError != "" {
		t.Fatalf("after the resend: %s %q %v", got.State, got.SendError, err)
	}
}

// TestASupplierRefusalInChineseIsRecorded: the supplier's endpoint refuses
// the order for good (400) in Chinese. The send is recorded as refused and
// not retried; the webhook's 256 bytes of the body cut a character in half,
// PostgreSQL refused that last_error, and asynq posted the order again on
// every retry.
func TestASupplierRefusalInChineseIsRecorded(t *testing.T) {
	f := supplytest.New(t)
	var posts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		posts.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(strings.Repeat("采购单格式错误，请联系管理员。", 10)))
	}))
	defer srv.Close()
	if _, err := f.Svc.SaveSupplier(f.Ctx, SupplierInput{Code: "A", Name: "供应商A", Channel: ChannelWebhook, WebhookURL: srv.URL}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f.Purchase()
	var po PurchaseOrder
	for _, o := range f.Orders().Orders {
		if o.SupplierID == f.Sups["A"].ID {
			po = o
		}
	}
	if err := f.Svc.HandleSend(f.Ctx, SendTask(po.ID, 1)); !errors.Is(err, asynq.SkipRetry) || posts.Load() != 1 {
		t.Fatalf("a refusal for good: %v after %d posts, want it recorded and not retried", err, posts.Load())
	}
	var lastErr string
	if err := f.DB.Get(&lastErr, `SELECT last_error FROM purchase_order_sends WHERE purchase_order_id = $1 AND seq = 1`, po.ID); err != nil ||
		!strings.Contains(lastErr, "采购单格式错误") {
		t.Fatalf("last_error %q, %v", lastErr, err)
	}
}

// TestSupplierWebhooksArePublic: with purchase orders posted to public
// addresses only (the server's default), a supplier's webhook URL naming
// the cloud metadata service, loopback or a private address is refused,
// saved, updated or imported; a public one is taken.
func TestSupplierWebhooksArePublic(t *testing.T) {
	f := supplytest.New(t)
	svc := NewService(f.DB, f.Clock, nil, nil, Options{Webhook: notify.WebhookOptions{PublicOnly: true}})
	in := func(u string) SupplierInput {
		return SupplierInput{Code: "SUP-X", Name: "供应商", Channel: ChannelWebhook, WebhookURL: u, WebhookSecret: "0123456789abcdef0123"}
	}
	for _, u := range []string{"http://169.254.169.254/latest/meta-data/", "http://127.0.0.1:6379/", "http://localhost:8080/api",
		"http://[::1]:5432/", "http://10.0.0.5/admin", "http://0.0.0.0:9090/", " http://169.254.169.254/", "\thttp://10.0.0.5/admin "} {
		if _, err := svc.SaveSupplier(f.Ctx, in(u)); supplytest.CodeOf(err) != "invalid_field" {
			t.Errorf("webhook_url %s: %v", u, err)
		}
		if _, err := svc.UpdateSupplier(f.Ctx, f.Sups["A"].ID, in(u)); supplytest.CodeOf(err) != "invalid_field" {
			t.Errorf("webhook_url %s, updated: %v", u, err)
		}
		csv := strings.Join(SupplierCSVColumns, ",") + "\nSUP-X,供应商,,webhook," + u + ",0123456789abcdef0123,\n"
		if _, err := svc.ImportSuppliers(f.Ctx, strings.NewReader(csv)); err == nil {
			t.Errorf("webhook_url %s, imported", u)
		}
	}
	if _, err := svc.SaveSupplier(f.Ctx, in("https://erp.supplier.example.com/po")); err != nil {
		t.Fatal(err)
	}
}

// TestPurchaseOrdersDialNoPrivateAddress: a supplier's name that resolves
// to a private address after it was saved (here: the URL changed behind the
// check) gets no purchase order; the send is refused for good.
func TestPurchaseOrdersDialNoPrivateAddress(t *testing.T) {
	f := supplytest.New(t)
	svc := NewService(f.DB, f.Clock, nil, nil, Options{Webhook: notify.WebhookOptions{PublicOnly: true}})
	f.Close()
	f.Purchase()
	po := f.Orders().Orders[0]
	if po.SupplierID != f.Sups["A"].ID {
		t.Fatalf("the first order is supplier %d's", po.SupplierID)
	}
	err := svc.HandleSend(f.Ctx, SendTask(po.ID, 1))
	if n := f.Hook.Count(); n != 0 || !errors.Is(err, asynq.SkipRetry) || !strings.Contains(fmt.Sprint(err), "not public") {
		t.Fatalf("public-only send to %s: the receiver got %d post(s), err %v; want none, refused for good", f.Sups["A"].WebhookURL, n, err)
	}
}
