package supplieraccount

import (
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/supply/supplytest"
)

// TestSupplierStatement: accepted units at the order's price, less stock
// returned at the return's price, to the fen; rejected units returned do
// not count (they were never accepted); the period decides what is in.
func TestSupplierStatement(t *testing.T) {
	f := newFixture(t)
	f.Close()
	f.Purchase()
	a := f.Orders().Orders[0]
	rice, egg := supplytest.LineOf(t, a, "RICE"), supplytest.LineOf(t, a, "EGG") // A: RICE 3000 fen, EGG 120 fen a unit
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	f.Scans(
		supplytest.LineScan{Line: rice.ID, Scan: supply.Scan{ScanID: "r1", Arrived: 20, Accepted: 19, Rejected: 1, Reason: supply.RejectQuality}},
		supplytest.LineScan{Line: rice.ID, Scan: supply.Scan{ScanID: "r2", Arrived: 10, Accepted: 9, Rejected: 1, Reason: supply.RejectDamage}},
		supplytest.LineScan{Line: rice.ID, Scan: supply.Scan{ScanID: "r3", Arrived: -1, Accepted: -1}}, // a correction
		supplytest.LineScan{Line: egg.ID, Scan: supply.Scan{ScanID: "e1", Arrived: 13, Accepted: 13, Lot: "E-1201", ExpiresOn: &exp}},
	)
	if _, _, err := f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: "ret", SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
		Lines: []ReturnLineInput{{PurchaseOrderLineID: rice.ID, Quantity: 2},
			{ProductID: f.Items["EGG"].ProductID, Lot: "E-1201", ExpiresOn: &exp, Reason: ReturnReason(supply.RejectQuality), Quantity: 4}}}, "dock"); err != nil {
		t.Fatal(err)
	}
	// The order is for 2026-12-01; the return was made 2026-11-30 local.
	dec, err := PeriodOf(month(t, "2026-12"), time.Time{}, time.Time{})
	if err != nil || dec.From.String() != "2026-12-01" || dec.To.String() != "2026-12-31" {
		t.Fatalf("month: %+v %v", dec, err)
	}
	st, err := StatementOf(f.Ctx, f.DB, f.Sups["A"].ID, dec)
	if err != nil {
		t.Fatal(err)
	}
	// RICE 27 × 3000 = 81000; EGG 13 × 120 = 1560; the return falls in November.
	if st.AcceptedUnits != 40 || st.AcceptedFen != 82560 || st.ReturnedFen != 0 || st.NetFen != 82560 || len(st.Lines) != 2 {
		t.Fatalf("December: %+v", st)
	}
	both, _ := PeriodOf(fulfillment.Month{}, time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC))
	st, err = StatementOf(f.Ctx, f.DB, f.Sups["A"].ID, both)
	if err != nil {
		t.Fatal(err)
	}
	// Less the 4 eggs returned from stock (480); the 2 rejected rice returned count nothing.
	if st.AcceptedFen != 82560 || st.ReturnedUnits != 4 || st.ReturnedFen != 480 || st.NetFen != 82080 {
		t.Fatalf("30 Nov – 1 Dec: %+v", st)
	}
	var eggs StatementLine
	for _, l := range st.Lines {
		if l.SKU == "EGG" {
			eggs = l
		}
	}
	if eggs.AcceptedUnits != 13 || eggs.AcceptedFen != 1560 || eggs.ReturnedFen != 480 || eggs.NetFen != 1080 {
		t.Fatalf("eggs %+v", eggs)
	}
	csv := string(st.CSV())
	if !strings.Contains(csv, "A,供应商A,2026-11-30~2026-12-01,EGG,商品EGG,份,13,15.60,4,4.80,10.80") ||
		!strings.Contains(csv, "合计,,,40,825.60,4,4.80,820.80") {
		t.Fatalf("CSV:\n%s", csv)
	}
	nov, _ := PeriodOf(month(t, "2026-11"), time.Time{}, time.Time{})
	if st, _ := StatementOf(f.Ctx, f.DB, f.Sups["A"].ID, nov); st.AcceptedFen != 0 || st.NetFen != -480 {
		t.Fatalf("November: %+v", st)
	}
	if st, _ := StatementOf(f.Ctx, f.DB, f.Sups["B"].ID, dec); st.NetFen != 0 || len(st.Lines) != 0 {
		t.Fatalf("B received nothing: %+v", st)
	}
	for _, bad := range []struct{ from, to time.Time }{{},
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}} {
		if _, err := PeriodOf(fulfillment.Month{}, bad.from, bad.to); supplytest.CodeOf(err) != "invalid_field" {
			t.Errorf("period %+v: %v", bad, err)
		}
	}
	// A month is read by the query's binder, within the years every date is.
	for _, bad := range []string{"2026-13", "0000-01", "2100-01"} {
		var m fulfillment.Month
		if err := m.UnmarshalText([]byte(bad)); supplytest.CodeOf(err) != "invalid_field" {
			t.Errorf("month %s: %v", bad, err)
		}
	}
	if _, err := StatementOf(f.Ctx, f.DB, 999, dec); supplytest.CodeOf(err) != "supplier_not_found" {
		t.Fatalf("unknown supplier: %v", err)
	}
}

// TestStatementOfARenamedProduct: a product renamed within the period is one
// line of the statement, under its name today, counted once.
func TestStatementOfARenamedProduct(t *testing.T) {
	f := newFixture(t)
	f.Close()
	f.Purchase()
	egg := supplytest.LineOf(t, f.Orders().Orders[0], "EGG") // A: 120 fen a unit
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	f.Scans(supplytest.LineScan{Line: egg.ID, Scan: supply.Scan{ScanID: "e1", Arrived: 13, Accepted: 13, Lot: "E", ExpiresOn: &exp}})
	ret := func(key string) {
		t.Helper()
		if _, _, err := f.acct.CreateReturn(f.Ctx, ReturnInput{RequestID: key, SupplierID: f.Sups["A"].ID, WarehouseID: f.WH.ID,
			Lines: []ReturnLineInput{{ProductID: f.Items["EGG"].ProductID, Lot: "E", ExpiresOn: &exp, Reason: ReturnReason(supply.RejectDamage), Quantity: 2}}}, "dock"); err != nil {
			t.Fatal(err)
		}
	}
	ret("before")
	p, err := catalog.GetProduct(f.Ctx, f.DB, f.Items["EGG"].ProductID)
	if err != nil {
		t.Fatal(err)
	}
	p.Name, p.Unit = "土鸡蛋", "盒"
	if _, err := catalog.NewService(f.DB, f.Clock).SaveProducts(f.Ctx, []catalog.Product{p}); err != nil {
		t.Fatal(err)
	}
	ret("after")
	per, _ := PeriodOf(fulfillment.Month{}, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC))
	st, err := StatementOf(f.Ctx, f.DB, f.Sups["A"].ID, per)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Lines) != 1 || st.AcceptedUnits != 13 || st.AcceptedFen != 1560 || st.ReturnedUnits != 4 || st.ReturnedFen != 480 || st.NetFen != 1080 {
		t.Fatalf("statement: %+v", st)
	}
	if l := st.Lines[0]; l.Name != "土鸡蛋" || l.Unit != "盒" || l.SKU != "EGG" {
		t.Fatalf("line %+v, want the product's name today", l)
	}
}

func month(t *testing.T, s string) fulfillment.Month {
	t.Helper()
	var m fulfillment.Month
	if err := m.UnmarshalText([]byte(s)); err != nil {
		t.Fatal(err)
	}
	return m
}
