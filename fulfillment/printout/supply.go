package printout

import (
	"fmt"
	"time"

	"groupbuy/pickup/notify"
)

// The supply side's paper: the purchase order (采购单) a supplier gets, the
// receiving sheet (收货单) the dock counts on, and the return document (退供单)
// that goes back with refused goods. The supplier's two are in Chinese down
// to their CSV headers, since they leave the warehouse; the dock's CSV has
// English headers like the other sheets of the night.

// SupplierDoc is what the supplier's documents print at their top beside
// the sheet's header: who, which document, where to.
type SupplierDoc struct {
	Header
	Number   string // the document's number, e.g. PO-WH-20261201-001
	Version  int64  // 0: not versioned
	Supplier string
	Contact  string
	Address  string // the warehouse's address
}

// scope is the sheet header's last item.
func (s SupplierDoc) scope() string {
	v := ""
	if s.Version > 0 {
		v = fmt.Sprintf(" 第 %d 版", s.Version)
	}
	return "单号 " + s.Number + v
}

// PurchaseSheet is a purchase order as its supplier reads it.
type PurchaseSheet struct {
	SupplierDoc
	ExpectedAt time.Time // local time at the warehouse
	Lines      []PurchaseLine
	Units      int64
	AmountFen  int64
}

// PurchaseLine is one product of a purchase order.
type PurchaseLine struct {
	SKU, Name, Unit                                string
	CasePack, Cases, Quantity, PriceFen, AmountFen int64
}

var purchaseCols = []column{
	{"序号", 10, right, 9}, {"商品编码", 24, left, 9}, {"商品名称", 52, left, 10}, {"单位", 12, center, 9},
	{"箱规", 14, right, 10}, {"箱数", 14, right, 12}, {"数量", 18, right, 12}, {"单价(元)", 20, right, 9}, {"金额(元)", 22, right, 9},
}

// PDF renders the purchase order on A4.
func (s PurchaseSheet) PDF(f *Fonts) ([]byte, error) {
	return sheetsPDF(f, s.PrintedAt, "采购单 "+s.Number, []PurchaseSheet{s})
}

func (s PurchaseSheet) draw(d *doc) {
	rows := make([][]string, 0, len(s.Lines))
	for i, l := range s.Lines {
		rows = append(rows, []string{itoa(int64(i + 1)), l.SKU, l.Name, l.Unit, itoa(l.CasePack), itoa(l.Cases), itoa(l.Quantity),
			notify.Yuan(l.PriceFen), notify.Yuan(l.AmountFen)})
	}
	d.tableSheet("采购单", s.SupplierDoc, []string{
		"供应商 " + s.Supplier + "   联系人 " + s.Contact,
		"送达 " + s.ExpectedAt.Format("2006-01-02 15:04") + "   " + s.Warehouse + "   " + s.Address,
	}, purchaseCols, rows,
		fmt.Sprintf("合计 %d 种商品  共 %d 件  金额 %s 元", len(s.Lines), s.Units, notify.Yuan(s.AmountFen)),
		"供应商确认 ____________    采购员 ____________")
}

// CSV is the purchase order for the supplier's spreadsheet: one row per
// line, a total row; with a BOM, so Excel opens it as UTF-8.
func (s PurchaseSheet) CSV() []byte {
	at := s.ExpectedAt
	head := []string{s.Number, itoa(s.Version), s.Supplier, s.Warehouse, at.Format(time.DateOnly), at.Format("15:04")}
	rows := make([][]string, 0, len(s.Lines)+1)
	for _, l := range s.Lines {
		rows = append(rows, append(head[:len(head):len(head)], l.SKU, l.Name, l.Unit, itoa(l.CasePack), itoa(l.Cases), itoa(l.Quantity),
			notify.Yuan(l.PriceFen), notify.Yuan(l.AmountFen)))
	}
	rows = append(rows, append(head[:len(head):len(head)], "合计", "", "", "", "", itoa(s.Units), "", notify.Yuan(s.AmountFen)))
	return SupplierCSV([]string{"采购单号", "版本", "供应商", "收货仓库", "到货日期", "到货时间", "SKU", "商品名称", "单位", "箱规", "箱数", "数量", "单价(元)", "金额(元)"}, rows)
}

// SupplierCSV is a CSV file for a supplier: a BOM (Excel then reads it as
// UTF-8), then the header and rows under csvio's rule.
func SupplierCSV(header []string, rows [][]string) []byte {
	return append([]byte("\ufeff"), writeCSV(header, rows)...)
}

// ReceivingSheet is one supplier's purchase order at the dock: per line what
// was ordered and what the scans so far recorded, with room to write.
type ReceivingSheet struct {
	SupplierDoc
	ExpectedAt time.Time // local time
	State      string    // the order's state, e.g. sent, arriving, received
	Lines      []ReceivingLine
}

// ReceivingLine is a purchase-order line with its receiving totals.
type ReceivingLine struct {
	LineID                                int64
	SKU, Name, Unit, Zone                 string
	Expected, Arrived, Accepted, Rejected int64
	Reasons                               string // e.g. "damage 2; quality 1"
	Lots                                  string // e.g. "E-1201 2026-12-11 ×12"
}

var receivingCols = []column{
	{"行号", 14, right, 8}, {"商品编码", 22, left, 9}, {"商品名称", 38, left, 10}, {"温区", 10, center, 9},
	{"应到", 14, right, 12}, {"实到", 14, right, 12}, {"合格", 14, right, 12}, {"拒收", 14, right, 12},
	{"拒收原因", 22, left, 7}, {"批次/效期", 24, left, 7},
}

// RejectReasonName is the dock's word for a reason units were refused.
func RejectReasonName(r string) string {
	switch r {
	case "quality":
		return "质量"
	case "damage":
		return "破损"
	case "wrong_item":
		return "错货"
	case "short_shelf_life":
		return "效期短"
	case "expired":
		return "过期"
	}
	return r
}

// ReceivingSheets renders the receiving sheets of several suppliers into one
// document, each numbering its own pages.
func ReceivingSheets(f *Fonts, at time.Time, sheets []ReceivingSheet) ([]byte, error) {
	return sheetsPDF(f, at, "收货单", sheets)
}

func (s ReceivingSheet) draw(d *doc) {
	rows := make([][]string, 0, len(s.Lines))
	var exp, arr, acc, rej int64
	for _, l := range s.Lines {
		// A line nobody has scanned yet is left blank, for a pen.
		cells := []string{itoa(l.LineID), l.SKU, l.Name, ZoneName(l.Zone), itoa(l.Expected), "", "", "", l.Reasons, l.Lots}
		if l.Arrived != 0 || l.Accepted != 0 || l.Rejected != 0 {
			cells[5], cells[6], cells[7] = itoa(l.Arrived), itoa(l.Accepted), itoa(l.Rejected)
		}
		rows = append(rows, cells)
		exp, arr, acc, rej = exp+l.Expected, arr+l.Arrived, acc+l.Accepted, rej+l.Rejected
	}
	d.tableSheet("收货单", s.SupplierDoc, []string{
		"供应商 " + s.Supplier + "   联系人 " + s.Contact + "   状态 " + s.State,
		"预计到货 " + s.ExpectedAt.Format("2006-01-02 15:04"),
	}, receivingCols, rows,
		fmt.Sprintf("合计 %d 行  应到 %d  实到 %d  合格 %d  拒收 %d", len(s.Lines), exp, arr, acc, rej),
		"收货人 ____________    质检 ____________    送货人 ____________")
}

// ReceivingCSV is the receiving sheets of several suppliers as one file.
func ReceivingCSV(sheets []ReceivingSheet) []byte {
	var rows [][]string
	for _, s := range sheets {
		for _, l := range s.Lines {
			rows = append(rows, []string{itoa(s.WaveID), s.Number, itoa(s.Version), s.Supplier, s.State, s.ExpectedAt.Format("2006-01-02 15:04"),
				itoa(l.LineID), l.SKU, l.Name, l.Unit, l.Zone, itoa(l.Expected), itoa(l.Arrived), itoa(l.Accepted), itoa(l.Rejected), l.Reasons, l.Lots})
		}
	}
	return writeCSV([]string{"wave_id", "purchase_order", "version", "supplier", "state", "expected_at", "line_id", "sku", "name", "unit", "zone",
		"expected", "arrived", "accepted", "rejected", "reasons", "lots"}, rows)
}

// ReturnSheet is a return to supplier (退供单): the goods going back, what
// they are worth at the purchase price.
type ReturnSheet struct {
	SupplierDoc
	Note      string
	Lines     []ReturnLine
	Units     int64
	AmountFen int64
}

// ReturnLine is one product and lot going back.
type ReturnLine struct {
	SKU, Name, Unit, Reason, Lot, PurchaseOrder string
	Quantity, PriceFen, AmountFen               int64
}

var returnCols = []column{
	{"序号", 10, right, 9}, {"商品编码", 22, left, 9}, {"商品名称", 40, left, 10}, {"单位", 10, center, 9}, {"原因", 16, center, 9},
	{"批次", 18, left, 8}, {"数量", 16, right, 12}, {"单价(元)", 20, right, 9}, {"金额(元)", 34, right, 9},
}

// PDF renders the return document on A4.
func (s ReturnSheet) PDF(f *Fonts) ([]byte, error) {
	return sheetsPDF(f, s.PrintedAt, "退供单 "+s.Number, []ReturnSheet{s})
}

func (s ReturnSheet) draw(d *doc) {
	rows := make([][]string, 0, len(s.Lines))
	for i, l := range s.Lines {
		rows = append(rows, []string{itoa(int64(i + 1)), l.SKU, l.Name, l.Unit, RejectReasonName(l.Reason), l.Lot, itoa(l.Quantity),
			notify.Yuan(l.PriceFen), notify.Yuan(l.AmountFen)})
	}
	info := []string{"供应商 " + s.Supplier + "   联系人 " + s.Contact, "退货仓库 " + s.Warehouse + "   " + s.Address}
	if s.Note != "" {
		info = append(info, "备注 "+s.Note)
	}
	d.tableSheet("退供单", s.SupplierDoc, info, returnCols, rows,
		fmt.Sprintf("合计 %d 行  共 %d 件  金额 %s 元", len(s.Lines), s.Units, notify.Yuan(s.AmountFen)),
		"仓库 ____________    供应商签收 ____________")
}

// CSV is the return document for the supplier's spreadsheet.
func (s ReturnSheet) CSV() []byte {
	rows := make([][]string, 0, len(s.Lines)+1)
	for _, l := range s.Lines {
		rows = append(rows, []string{s.Number, s.Supplier, s.Warehouse, l.PurchaseOrder, l.SKU, l.Name, l.Unit, RejectReasonName(l.Reason), l.Lot,
			itoa(l.Quantity), notify.Yuan(l.PriceFen), notify.Yuan(l.AmountFen)})
	}
	rows = append(rows, []string{s.Number, s.Supplier, s.Warehouse, "", "合计", "", "", "", "", itoa(s.Units), "", notify.Yuan(s.AmountFen)})
	return SupplierCSV([]string{"退供单号", "供应商", "仓库", "采购单号", "SKU", "商品名称", "单位", "原因", "批次", "数量", "单价(元)", "金额(元)"}, rows)
}

// tableSheet draws a document of the supply side: the sheet header, info
// lines on the first page, the table over as many pages as it needs, and
// on the last page the total and the signature line.
func (d *doc) tableSheet(title string, s SupplierDoc, info []string, cols []column, rows [][]string, total, sign string) {
	const rowH, per, first = 8.0, 28, 25
	pages := 1
	if n := len(rows) - first; n > 0 {
		pages += pagesOf(n, per)
	}
	i := 0
	for p := range pages {
		d.pdf.AddPageFormat("P", a4)
		y := d.sheetHeader(title, s.Header, s.scope(), p+1, pages)
		n := per
		if p == 0 {
			for _, l := range info {
				d.fit(margin, y, bodyW, 7, l, 11, 7, left)
				y += 7
			}
			y += 2
			n = first
		}
		y = d.tableHead(cols, y)
		for end := min(len(rows), i+n); i < end; i++ {
			d.tableRow(cols, rows[i], y, rowH)
			y += rowH
		}
		if p == pages-1 {
			d.fit(margin, y+2, bodyW, 9, total, 12, 8, right)
			d.fit(margin, y+13, bodyW, 8, sign, 11, 8, left)
		}
	}
}
