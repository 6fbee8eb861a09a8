package supplieraccount

import (
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/supply/supplytest"
	"groupbuy/internal/testenv"
)

// TestReturnsToSupplier: rejected units and stock go back on a numbered
// document per supplier; stock lines leave the ledger in the same
// transaction; a request sent twice returns once; no more than was rejected
// or is in the lot goes back.
func TestReturnsToSupplier(t *testing.T) {
	f := newFixture(t)
	f.Close()
	f.Purchase()
	a := f.Orders().Orders[0]
	rice, egg := supplytest.LineOf(t, a, "RICE"), supplytest.LineOf(t, a, "EGG") // RICE 30.00, EGG 1.20 a unit at A
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	if _, _, err := f.Svc.Receive(f.Ctx, rice.ID, supply.Scan{ScanID: "r1", Arrived: 30, Accepted: 27, Rejected: 3, Reason: supply.RejectDamage}, "dock"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Svc.Receive(f.Ctx, egg.ID, supply.Scan{ScanID: "e1", Arrived: 12, Accepted: 12, Lot: "E-1201", ExpiresOn: &exp}, "dock"); err != nil {
		t.Fatal(err)
	}
	in := ReturnInput{RequestID: "ret-1", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID, Note: "破损退回", Lines: []ReturnLineInput{
		{PurchaseOrderLineID: rice.ID, Quantity: 2},
		{ProductID: f.Items["EGG"].ProductID, Lot: "E-1201", ExpiresOn: &exp, Reason: ReturnReason(supply.RejectDamage), Quantity: 5},
	}}
	r, replayed, err := f.acct.CreateReturn(f.Ctx, in, "dock")
	if err != nil || replayed {
		t.Fatalf("return: %+v %v %v", r, replayed, err)
	}
	if r.Number != "RT-WH-20261130-001" || r.Units != 7 || r.AmountFen != 2*3000+5*120 || len(r.Lines) != 2 ||
		r.Lines[0].Source != ReturnFromRejected || r.Lines[0].Reason != "damage" || r.Lines[0].PurchaseOrder != a.Number {
		t.Fatalf("return %+v", r)
	}
	again, replayed, err := f.acct.CreateReturn(f.Ctx, in, "dock")
	if err != nil || !replayed || again.ID != r.ID {
		t.Fatalf("the same request again: %+v %v %v", again, replayed, err)
	}
	var moved int64
	if err := f.DB.Get(&moved, `SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE kind = 'returned_to_supplier'`); err != nil || moved != -5 {
		t.Fatalf("ledger moved %d (%v), want -5 once", moved, err)
	}
	st, _ := stock.StockOf(f.Ctx, f.DB, f.WH.ID, supplytest.Date)
	for _, p := range st.Products {
		if p.ProductID == f.Items["EGG"].ProductID && p.OnHand != 7 {
			t.Fatalf("eggs on hand %d, want 7", p.OnHand)
		}
	}
	// The dock cannot take back what has gone: 2 of the 3 rejected rice
	// went back, 5 of the 12 eggs left the lot.
	for _, c := range []struct {
		line int64
		scan supply.Scan
		code string
	}{
		{rice.ID, supply.Scan{ScanID: "c1", Arrived: -2, Rejected: -2, Reason: supply.RejectDamage}, "correction_spent"},
		{egg.ID, supply.Scan{ScanID: "c2", Arrived: -8, Accepted: -8, Lot: "E-1201", ExpiresOn: &exp}, "correction_spent"},
		{rice.ID, supply.Scan{ScanID: "c3", Arrived: -1, Rejected: -1, Reason: supply.RejectDamage}, ""},
		{egg.ID, supply.Scan{ScanID: "c4", Arrived: -7, Accepted: -7, Lot: "E-1201", ExpiresOn: &exp}, ""},
	} {
		if _, _, err := f.Svc.Receive(f.Ctx, c.line, c.scan, "dock"); supplytest.CodeOf(err) != c.code || (c.code == "" && err != nil) {
			t.Fatalf("correction %s: %v, want %q", c.scan.ScanID, err, c.code)
		}
	}
	f.Scans(supplytest.LineScan{Line: egg.ID, Scan: supply.Scan{ScanID: "e2", Arrived: 7, Accepted: 7, Lot: "E-1201", ExpiresOn: &exp}},
		supplytest.LineScan{Line: rice.ID, Scan: supply.Scan{ScanID: "r2", Arrived: 1, Rejected: 1, Reason: supply.RejectDamage}})
	for name, c := range map[string]struct {
		in   ReturnInput
		code string
	}{
		"beyond rejected": {ReturnInput{RequestID: "x1", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{PurchaseOrderLineID: rice.ID, Quantity: 2}}}, "return_exceeds_rejected"},
		"beyond the lot": {ReturnInput{RequestID: "x2", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["EGG"].ProductID, Lot: "E-1201", ExpiresOn: &exp, Reason: ReturnExpired, Quantity: 8}}}, "return_exceeds_stock"},
		"twice in one request": {ReturnInput{RequestID: "x3", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{PurchaseOrderLineID: rice.ID, Quantity: 1}, {PurchaseOrderLineID: rice.ID, Quantity: 1}}}, "return_exceeds_rejected"},
		"another supplier's line": {ReturnInput{RequestID: "x4", SupplierID: f.Sups["B"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{PurchaseOrderLineID: rice.ID, Quantity: 1}}}, "other_supplier"},
		"not supplied by B": {ReturnInput{RequestID: "x5", SupplierID: f.Sups["B"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["EGG"].ProductID, Lot: "E-1201", ExpiresOn: &exp, Reason: ReturnExpired, Quantity: 1}}}, "not_supplied"},
		"stock without a reason": {ReturnInput{RequestID: "x6", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["EGG"].ProductID, Lot: "E-1201", ExpiresOn: &exp, Quantity: 1}}}, "invalid_field"},
	} {
		if _, _, err := f.acct.CreateReturn(f.Ctx, c.in, "dock"); supplytest.CodeOf(err) != c.code {
			t.Errorf("%s: %v, want %s", name, err, c.code)
		}
	}
	// The wave's leftover rejections go back in one call: one RICE unit at A.
	for run, want := range []int{1, 0} {
		got, err := f.acct.ReturnRejected(f.Ctx, f.Wave, "dock")
		if err != nil || len(got) != want {
			t.Fatalf("run %d: %d returns (%v), want %d", run, len(got), err, want)
		}
		if want == 1 && (got[0].Number != "RT-WH-20261130-002" || got[0].Units != 1 || got[0].AmountFen != 3000) {
			t.Fatalf("wave return %+v", got[0])
		}
	}
	if n := f.Count("supplier_returns"); n != 2 {
		t.Fatalf("%d returns, want 2", n)
	}
	if _, err := f.DB.Exec(`UPDATE supplier_return_lines SET quantity = 1`); err == nil {
		t.Fatal("a return line was edited in place")
	}
	_, pdf, err := f.acct.ReturnDocument(f.Ctx, r.ID, "pdf")
	if err != nil {
		t.Fatal(err)
	}
	text := testenv.Squash(testenv.PDFText(t, pdf))
	for _, want := range []string{"退供单", r.Number, "日期2026-11-30", "供应商供应商A", "备注破损退回", "RICE商品RICE份破损", "230.0060.00",
		"E-1201至2026-12-11", "合计2行共7件金额66.00元"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
	_, csv, _ := f.acct.ReturnDocument(f.Ctx, r.ID, "csv")
	if s := string(csv); !strings.HasPrefix(s, "\ufeff退供单号,供应商") || !strings.Contains(s, a.Number+",RICE,商品RICE,份,破损,,2,30.00,60.00") ||
		!strings.Contains(s, "合计,,,,,7,,66.00") {
		t.Fatalf("CSV:\n%s", s)
	}
}

// TestStockGoesBackOnlyToWhoSuppliedIt: ambient rice shares one lot
// whoever delivered it. What goes back to a supplier, and is charged to it,
// is at most what it delivered and has not had back: B's rice does not go
// to A while A delivered none, nor to B twice.
func TestStockGoesBackOnlyToWhoSuppliedIt(t *testing.T) {
	f := newFixture(t)
	rice := f.linesBySupplier(t, "RICE")
	ret := func(key, sup string, n int64) error {
		_, _, err := f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: key, SupplierID: f.Sups[sup].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["RICE"].ProductID, Reason: ReturnReason(supply.RejectDamage), Quantity: n}}}, "dock")
		return err
	}
	f.Scans(supplytest.LineScan{Line: rice["B"].ID, Scan: supply.Scan{ScanID: "b1", Arrived: 20, Accepted: 20}})
	if err := ret("a1", "A", 1); supplytest.CodeOf(err) != ErrReturnBeyondSupplied.Code {
		t.Fatalf("returning B's rice to A: %v", err)
	}
	f.Scans(supplytest.LineScan{Line: rice["A"].ID, Scan: supply.Scan{ScanID: "a1", Arrived: 10, Accepted: 10}})
	if err := ret("b1", "B", 20); err != nil {
		t.Fatal(err)
	}
	if err := ret("b2", "B", 1); supplytest.CodeOf(err) != ErrReturnBeyondSupplied.Code {
		t.Fatalf("returning to B more than it delivered and has not had back: %v", err)
	}
	if err := ret("a2", "A", 10); err != nil {
		t.Fatalf("A's own rice: %v", err)
	}
}

// TestACorrectionTakesOnlyFromItsOwnLot: A delivers rice into lot LA, B into
// LB. A correction on A's line naming LB is refused: it would take B's units
// and leave A's in stock, owned on paper by nobody and returnable to A.
func TestACorrectionTakesOnlyFromItsOwnLot(t *testing.T) {
	f := newFixture(t)
	rice := f.linesBySupplier(t, "RICE")
	f.Scans(supplytest.LineScan{Line: rice["A"].ID, Scan: supply.Scan{ScanID: "a1", Arrived: 10, Accepted: 10, Lot: "LA"}},
		supplytest.LineScan{Line: rice["B"].ID, Scan: supply.Scan{ScanID: "b1", Arrived: 10, Accepted: 10, Lot: "LB"}})
	_, _, err := f.Svc.Receive(f.Ctx, rice["A"].ID, supply.Scan{ScanID: "a-fix", Arrived: -10, Accepted: -10, Lot: "LB"}, "dock")
	if supplytest.CodeOf(err) != supply.ErrNotInLot.Code {
		t.Fatalf("a correction on A's line naming B's lot: %v", err)
	}
	if _, _, err := f.Svc.Receive(f.Ctx, rice["A"].ID, supply.Scan{ScanID: "a-fix2", Arrived: -4, Accepted: -4, Lot: "LA"}, "dock"); err != nil {
		t.Fatalf("a correction of A's own lot: %v", err)
	}
	var la, lb int64
	if err := f.DB.Get(&la, `SELECT sum(quantity) FROM stock_movements WHERE lot = 'LA'`); err != nil {
		t.Fatal(err)
	}
	if err := f.DB.Get(&lb, `SELECT sum(quantity) FROM stock_movements WHERE lot = 'LB'`); err != nil {
		t.Fatal(err)
	}
	if la != 6 || lb != 10 {
		t.Fatalf("lots after the corrections: LA %d (want 6), LB %d (want 10)", la, lb)
	}
}

// TestExpiredGoodsGoBackAfterTheWriteOff: the hourly job writes an expired
// lot off, and the goods may still go back to their supplier as expired:
// the return takes them back from the write-off. Units that reach the lot
// after it was written off are written off by the next run.
func TestExpiredGoodsGoBackAfterTheWriteOff(t *testing.T) {
	f := newFixture(t)
	f.Close()
	f.Purchase()
	egg := supplytest.LineOf(t, f.Orders().Orders[0], "EGG")
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 1)}
	f.Scans(supplytest.LineScan{Line: egg.ID, Scan: supply.Scan{ScanID: "e1", Arrived: 12, Accepted: 12, Lot: "OLD", ExpiresOn: &exp}})
	ledger := func(kind string) (n int64) {
		t.Helper()
		if err := f.DB.Get(&n, `SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE lot = 'OLD' AND ($1 = '' OR kind = $1)`, kind); err != nil {
			t.Fatal(err)
		}
		return n
	}
	f.Clock.Set(exp.AddDate(0, 0, 3))
	if n, err := stock.WriteOffExpired(f.Ctx, f.DB, f.Clock); err != nil || n != 1 || ledger("") != 0 {
		t.Fatalf("write-off: %d lots (%v), balance %d", n, err, ledger(""))
	}
	ret := func(key string, reason ReturnReason, n int64) error {
		_, _, err := f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: key, SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["EGG"].ProductID, Lot: "OLD", ExpiresOn: &exp, Reason: reason, Quantity: n}}}, "dock")
		return err
	}
	if err := ret("damaged", ReturnReason(supply.RejectDamage), 1); supplytest.CodeOf(err) != ErrReturnBeyondStock.Code {
		t.Fatalf("a return for another reason from a written-off lot: %v", err)
	}
	if err := ret("exp1", ReturnExpired, 8); err != nil {
		t.Fatal(err)
	}
	if err := ret("exp2", ReturnExpired, 5); supplytest.CodeOf(err) != ErrReturnBeyondStock.Code {
		t.Fatalf("more than was written off and not yet returned: %v", err)
	}
	// The last 4 as two lines of one lot: two movements, both kept.
	line := ReturnLineInput{ProductID: f.Items["EGG"].ProductID, Lot: "OLD", ExpiresOn: &exp, Reason: ReturnExpired, Quantity: 2}
	if _, _, err := f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: "exp3", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
		Lines: []ReturnLineInput{line, line}}, "dock"); err != nil {
		t.Fatal(err)
	}
	if ledger("") != 0 || ledger("written_off") != 0 || ledger("returned_to_supplier") != -12 {
		t.Fatalf("ledger: balance %d, written off %d, returned %d", ledger(""), ledger("written_off"), ledger("returned_to_supplier"))
	}
	// Units that come into the lot after its write-off go the same way.
	f.Stock("EGG", "OLD", &exp, 4, "seed:late")
	if n, err := stock.WriteOffExpired(f.Ctx, f.DB, f.Clock); err != nil || n != 1 || ledger("") != 0 || ledger("written_off") != -4 {
		t.Fatalf("second write-off: %d lots (%v), balance %d, written off %d", n, err, ledger(""), ledger("written_off"))
	}
}

// TestARequestIDIsOneReturn: a request_id sent again with the same body is
// answered with its return; with another body, or for another warehouse,
// it is refused rather than answered with the first return (nothing would
// have gone back). A return of another warehouse taking the same id at the
// same moment is waited for and refused, not a unique violation.
func TestARequestIDIsOneReturn(t *testing.T) {
	f := newFixture(t)
	f.Close()
	f.Purchase()
	rice := supplytest.LineOf(t, f.Orders().Orders[0], "RICE")
	f.Scans(supplytest.LineScan{Line: rice.ID, Scan: supply.Scan{ScanID: "r1", Arrived: 30, Accepted: 27, Rejected: 3, Reason: supply.RejectDamage}})
	wh2 := f.City.ID(`INSERT INTO warehouses (code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
		VALUES ('WH2', '乙仓', '乙仓路1号', 31.3, 121.5, 'Asia/Shanghai', '23:00', '07:00', '10:00') RETURNING id`)
	ret := func(key string, wh, n int64) (SupplierReturn, bool, error) {
		return f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: key, SupplierID: f.Sups["A"].ID, WarehouseID: wh,
			Lines: []ReturnLineInput{{PurchaseOrderLineID: rice.ID, Quantity: n}}}, "dock")
	}
	first, _, err := ret("k1", f.WH.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if again, replayed, err := ret("k1", f.WH.ID, 2); err != nil || !replayed || again.ID != first.ID {
		t.Fatalf("the same request again: %+v %v %v", again, replayed, err)
	}
	if _, _, err := ret("k1", f.WH.ID, 1); supplytest.CodeOf(err) != ErrRequestReused.Code {
		t.Fatalf("another return under a used request_id: %v", err)
	}
	if _, _, err := ret("k1", wh2, 2); supplytest.CodeOf(err) != ErrRequestReused.Code {
		t.Fatalf("another warehouse's return under a used request_id: %v", err)
	}

	// Another process's return for WH2 holds k2, uncommitted.
	tx := f.DB.MustBegin()
	defer tx.Rollback()
	tx.MustExec(`INSERT INTO supplier_returns (number, request_key, warehouse_id, supplier_id, units, amount_fen, created_by, created_at)
		VALUES ('RT-WH2-1', 'k2', $1, $2, 0, 0, 'other', now())`, wh2, f.Sups["A"].ID)
	done := make(chan error, 1)
	go func() { _, _, err := ret("k2", f.WH.ID, 1); done <- err }()
	for f.City.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; supplytest.CodeOf(err) != ErrRequestReused.Code {
		t.Fatalf("a return racing another warehouse's for its request_id: %v", err)
	}
	if n := f.City.Count(`SELECT count(*) FROM supplier_return_lines`); n != 1 {
		t.Fatalf("%d return lines, want the first return's one", n)
	}
}

// TestReturnsArePagedNewestFirst: the listing stopped at 1,000 returns with
// no sign that more existed; it pages by after_id like every listing.
func TestReturnsArePagedNewestFirst(t *testing.T) {
	f := newFixture(t)
	f.City.Exec(`INSERT INTO supplier_returns (number, request_key, warehouse_id, supplier_id, units, amount_fen, created_by, created_at)
		SELECT 'RT-' || g, 'k' || g, $1, $2, 1, 100, 'test', now() FROM generate_series(1, 5) g`, f.WH.ID, f.Sups["A"].ID)
	var got []string
	var after int64
	for pages := 0; ; pages++ {
		page, err := ListReturns(f.Ctx, f.DB, f.Sups["A"].ID, after, 2)
		if err != nil || pages > 3 {
			t.Fatalf("page %d: %+v %v", pages, page, err)
		}
		for _, r := range page.Returns {
			got = append(got, r.Number)
		}
		if !page.HasMore {
			break
		}
		after = page.NextID
	}
	if strings.Join(got, ",") != "RT-5,RT-4,RT-3,RT-2,RT-1" {
		t.Fatalf("returns listed %v", got)
	}
	if page, err := ListReturns(f.Ctx, f.DB, f.Sups["B"].ID, 0, 0); err != nil || len(page.Returns) != 0 || page.HasMore {
		t.Fatalf("another supplier's: %+v %v", page, err)
	}
}
