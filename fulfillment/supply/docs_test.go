package supply

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	"groupbuy/internal/testenv"
)

// squash drops white space: pdftotext spaces text by its gaps.
func squash(s string) string { return strings.Join(strings.Fields(s), "") }

// TestPurchaseOrderDocuments: a purchase order reads back from its PDF with
// its number, supplier, lines and total; the CSV has the same lines; the
// supplier's webhook gets both, the PDF the same bytes ops download.
func TestPurchaseOrderDocuments(t *testing.T) {
	f := newFixture(t)
	f.close()
	f.purchase()
	a := f.orders().Orders[0] // 供应商A: EGG 36 × 1.20, RICE 30 × 30.00
	_, pdf, err := f.svc.OrderPDF(f.ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	text := squash(testenv.PDFText(t, pdf))
	for _, want := range []string{"采购单", a.Number, "第1版", "供应商供应商A", "王经理", "送达2026-12-0102:00", "EGG商品EGG份123361.2043.20", "RICE商品RICE份1033030.00900.00",
		"合计2种商品共66件金额943.20元"} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF lacks %q:\n%s", want, text)
		}
	}
	_, again, _ := f.svc.OrderPDF(f.ctx, a.ID)
	if string(again) != string(pdf) {
		t.Error("the same purchase order rendered other bytes")
	}
	_, csv, err := OrderDocument(f.ctx, f.db, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(csv), "\ufeff")), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "采购单号,版本,供应商") || !strings.Contains(lines[3], "合计,,,,,66,,943.20") {
		t.Fatalf("CSV %q", lines)
	}
	b, _ := json.Marshal(sendPayload{PurchaseOrderID: a.ID, Seq: 1})
	if err := f.svc.handleSend(f.ctx, asynq.NewTask(TaskSendPurchaseOrder, b)); err != nil {
		t.Fatal(err)
	}
	payload := f.hook.got[0]["payload"].(map[string]any)
	sent, err := base64.StdEncoding.DecodeString(payload["pdf"].(string))
	if err != nil || string(sent) != string(pdf) || payload["csv"].(string) != string(csv) {
		t.Fatalf("the webhook's PDF (%d bytes, %v) or CSV differ from the downloads", len(sent), err)
	}
}

// TestReceivingSheet: the dock's sheet shows per line what was expected and
// what the scans recorded, reasons and lots summed; lines not yet scanned
// are left blank for a pen.
func TestReceivingSheet(t *testing.T) {
	f := newFixture(t)
	f.close()
	f.purchase()
	a := f.orders().Orders[0]
	rice, egg := lineOf(t, a, "RICE"), lineOf(t, a, "EGG")
	exp := fulfillment.Date{Time: testDate.AddDate(0, 0, 10)}
	f.scans(
		lineScan{rice.ID, Scan{ScanID: "r1", Arrived: 20, Accepted: 18, Rejected: 2, Reason: RejectDamage}},
		lineScan{rice.ID, Scan{ScanID: "r2", Arrived: 9, Accepted: 8, Rejected: 1, Reason: RejectDamage}},
		lineScan{egg.ID, Scan{ScanID: "e1", Arrived: 14, Accepted: 12, Rejected: 2, Reason: RejectShortShelfLife, Lot: "E-1201", ExpiresOn: &exp}},
	)
	sheets, err := f.svc.ReceivingSheets(f.ctx, f.wave, f.sups["A"].ID)
	if err != nil || len(sheets) != 1 {
		t.Fatalf("%d sheets: %v", len(sheets), err)
	}
	pdf, err := f.svc.ReceivingPDF(sheets)
	if err != nil {
		t.Fatal(err)
	}
	text := squash(testenv.PDFText(t, pdf))
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
	all, _ := f.svc.ReceivingSheets(f.ctx, f.wave, 0)
	b := all[1] // supplier B, nothing scanned: blank cells
	if len(all) != 2 || b.Lines[0].Arrived != 0 {
		t.Fatalf("sheets %+v", all)
	}
	pdf, _ = f.svc.ReceivingPDF(all)
	if text := squash(testenv.PDFText(t, pdf)); !strings.Contains(text, "第1/1页") || strings.Count(text, "收货单") < 2 {
		t.Fatalf("both suppliers' sheets:\n%s", text)
	}
}

// lineScan is a scan on a purchase-order line.
type lineScan struct {
	line int64
	s    Scan
}

// scans records the scans at the dock, in order.
func (f *fixture) scans(scans ...lineScan) {
	f.t.Helper()
	for _, sc := range scans {
		if _, _, err := f.svc.Receive(f.ctx, sc.line, sc.s, "dock"); err != nil {
			f.t.Fatal(err)
		}
	}
}
