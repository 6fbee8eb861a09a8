package printout

import (
	"fmt"
	"time"
)

// PickSheet is the total pick list (总拣单) of one warehouse, delivery date and
// temperature zone.
type PickSheet struct {
	Header
	Zone  string
	Lines []PickLine // in bin walking order
}

// PickLine is one SKU to pick from one bin.
type PickLine struct {
	Bin, SKU, Name, Unit string
	Quantity             int64
}

var pickCols = []column{
	{"序号", 11, right, 9}, {"货位", 22, left, 11}, {"商品编码", 28, left, 9}, {"商品名称", 71, left, 11},
	{"单位", 14, center, 10}, {"数量", 28, right, 18}, {"完成", 12, center, 9},
}

// Totals returns the number of lines and units of a pick list.
func (s PickSheet) Totals() (lines int, units int64) {
	for _, l := range s.Lines {
		units += l.Quantity
	}
	return len(s.Lines), units
}

// PDF renders the pick list on A4, 26 lines a page, totals on the last.
func (s PickSheet) PDF(f *Fonts) ([]byte, error) {
	return sheetsPDF(f, s.PrintedAt, "总拣单", []PickSheet{s})
}

// PickSheets renders the pick lists of several zones into one document, each
// numbering its own pages.
func PickSheets(f *Fonts, at time.Time, sheets []PickSheet) ([]byte, error) {
	return sheetsPDF(f, at, "总拣单", sheets)
}

func (s PickSheet) draw(d *doc) {
	const rowH, per = 9.0, 26
	pages := pagesOf(len(s.Lines), per)
	n, units := s.Totals()
	for p := range pages {
		d.pdf.AddPageFormat("P", a4)
		y := d.sheetHeader("总拣单", s.Header, "温区 "+ZoneName(s.Zone), p+1, pages)
		y = d.tableHead(pickCols, y)
		for i := p * per; i < min(len(s.Lines), (p+1)*per); i++ {
			l := s.Lines[i]
			d.tableRow(pickCols, []string{itoa(int64(i + 1)), l.Bin, l.SKU, l.Name, l.Unit, itoa(l.Quantity)}, y, rowH)
			d.tick(margin+bodyW-12, y, 12, rowH)
			y += rowH
		}
		if p == pages-1 {
			d.fit(margin, y+2, bodyW, 9, fmt.Sprintf("合计 %d 种商品  共 %d 件", n, units), 14, 9, right)
			d.fit(margin, y+13, bodyW, 8, "拣货人 ____________    复核人 ____________", 11, 8, left)
		}
	}
}
