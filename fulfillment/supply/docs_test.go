package supply_test

import (
	"encoding/base64"
	"strings"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	. "groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/supply/supplytest"
	"groupbuy/internal/testenv"
)

// TestPurchaseOrderDocuments: a purchase order reads back from its PDF with
// its number, supplier, lines and total; the CSV has the same lines; the
// supplier's webhook gets both, the PDF the same bytes ops download.
func TestPurchaseOrderDocuments(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	a := f.Orders().Orders[0] // 供应商A: EGG 36 × 1.20, RICE 30 × 30.00
	_, pdf, err := f.Svc.OrderPDF(f.Ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	text := testenv.Squash(testenv.PDFText(t, pdf))
	for _, want := range []string{"采购单", a.Number, "第1版", "供应商供应商A", "王经理", "送达2026-12-0102:00", "EGG商品EGG份123361.2043.20", "RICE商品RICE份1033030.00900.00",
		"合计2种商品共66件金额943.20元"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
	_, again, _ := f.Svc.OrderPDF(f.Ctx, a.ID)
	if string(again) != string(pdf) {
		t.Error("the same purchase order rendered other bytes")
	}
	_, csv, err := OrderDocument(f.Ctx, f.DB, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv), "\ufeff")), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "采购单号,版本,供应商") || !strings.Contains(lines[3], "合计,,,,,66,,943.20") {
		t.Fatalf("CSV %q", lines)
	}
	if err := f.Svc.HandleSend(f.Ctx, SendTask(a.ID, 1)); err != nil {
		t.Fatal(err)
	}
	got, _ := f.Hook.Got()
	payload := got[0]["payload"].(map[string]any)
	sent, err := base64.StdEncoding.DecodeString(payload["pdf"].(string))
	if err != nil || string(sent) != string(pdf) || payload["csv"].(string) != string(csv) {
		t.Fatalf("the webhook's PDF (%d bytes, %v) or CSV differ from the downloads", len(sent), err)
	}
}

// TestReceivingSheet: the dock's sheet shows per line what was expected and
// what the scans recorded, reasons and lots summed; lines not yet scanned
// are left blank for a pen.
func TestReceivingSheet(t *testing.T) {
	f := supplytest.New(t)
	f.Close()
	f.Purchase()
	a := f.Orders().Orders[0]
	rice, egg := supplytest.LineOf(t, a, "RICE"), supplytest.LineOf(t, a, "EGG")
	exp := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 10)}
	f.Scans(
		supplytest.LineScan{Line: rice.ID, Scan: Scan{ScanID: "r1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage}},
		supplytest.LineScan{Line: rice.ID, Scan: Scan{ScanID: "r2", Arrived: 9, Accepted: 8, Rejected: 1, Reason: RejectDamage}},
		supplytest.LineScan{Line: egg.ID, Scan: Scan{ScanID: "e1", Arrived: 14, Accepted: 12, Rejected: 2, Reason: RejectShortShelfLife, Lot: "E-1201", ExpiresOn: &exp}},
	)
	sheets, err := f.Svc.ReceivingSheets(f.Ctx, f.Wave, f.Sups["A"].ID)
	if err != nil || len(sheets) != 1 {
		t.Fatalf("%d sheets: %v", len(sheets), err)
	}
	pdf, err := f.Svc.ReceivingPDF(sheets)
	if err != nil {
		t.Fatal(err)
	}
	text := testenv.Squash(testenv.PDFText(t, pdf))
	for _, want := range []string{"收货单", a.Number, "状态arriving", "破损3", "效期短2", "E-1201至2026-12-11×12",
		"合计2行应到66实到43合格38拒收5"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
	csv := string(printout.ReceivingCSV(sheets))
	if !strings.Contains(csv, "RICE,商品RICE") || !strings.Contains(csv, ",30,29,26,3,破损 3,") || !strings.Contains(csv, ",36,14,12,2,效期短 2,E-1201 至 2026-12-11 ×12") {
		t.Fatalf("CSV:\n%s", csv)
	}
	all, _ := f.Svc.ReceivingSheets(f.Ctx, f.Wave, 0)
	b := all[1] // supplier B, nothing scanned: blank cells
	if len(all) != 2 || b.Lines[0].Arrived != 0 {
		t.Fatalf("sheets %+v", all)
	}
	pdf, _ = f.Svc.ReceivingPDF(all)
	if text := testenv.Squash(testenv.PDFText(t, pdf)); !strings.Contains(text, "第1/1页") || strings.Count(text, "收货单") < 2 {
		t.Fatalf("both suppliers' sheets:\n%s", text)
	}
}
