package printout

import (
	"fmt"
	"strconv"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Header is what every sheet prints at its top.
type Header struct {
	Warehouse string
	Date      string // delivery date, YYYY-MM-DD
	WaveID    int64
	// PrintedAt is local time at the warehouse; callers pass a time of the
	// wave (when its stage finished) so a re-render gives the same bytes.
	PrintedAt time.Time
}

// a4 is an A4 page in mm, with the margin every sheet uses.
var a4 = fpdf.SizeType{Wd: 210, Ht: 297}

const (
	margin = 12.0
	bodyW  = 210 - 2*margin
)

// ZoneName is the Chinese name of a temperature zone, as staff call it.
func ZoneName(zone string) string {
	switch zone {
	case "ambient":
		return "常温"
	case "chilled":
		return "冷藏"
	case "frozen":
		return "冷冻"
	case "":
		return "全部"
	}
	return zone
}

// column of a table: a title, a width in mm, how its cells align, and its
// text size (quantities print larger).
type column struct {
	title string
	w     float64
	a     align
	size  float64
}

// table draws a header row of cols at y and returns the y below it.
func (d *doc) tableHead(cols []column, y float64) float64 {
	x := margin
	d.pdf.SetFillColor(225, 225, 225)
	d.pdf.Rect(margin, y, bodyW, 7, "F")
	for _, c := range cols {
		d.fit(x, y, c.w, 7, c.title, 9, 7, c.a)
		x += c.w
	}
	return y + 7
}

// tableRow draws one row of cells at y with height h.
func (d *doc) tableRow(cols []column, cells []string, y, h float64) {
	x := margin
	for i, c := range cols {
		if i < len(cells) {
			d.fit(x, y, c.w, h, cells[i], c.size, 6, c.a)
		}
		x += c.w
	}
	d.pdf.SetDrawColor(160, 160, 160)
	d.pdf.Line(margin, y+h, margin+bodyW, y+h)
	d.pdf.SetDrawColor(0, 0, 0)
}

// tick draws an empty check box centred in a cell, to mark a line done.
func (d *doc) tick(x, y, w, h float64) {
	s := min(5.0, h-2)
	d.box(x+(w-s)/2, y+(h-s)/2, s, s)
}

// sheetHeader draws the title block of an A4 sheet and returns the y below it.
func (d *doc) sheetHeader(title string, h Header, scope string, page, pages int) float64 {
	d.fit(margin, 8, 90, 11, title, 20, 12, left)
	d.fit(margin+90, 8, bodyW-90, 6, fmt.Sprintf("第 %d / %d 页", page, pages), 11, 8, right)
	d.fit(margin+90, 14, bodyW-90, 5, "打印时间 "+h.PrintedAt.Format("2006-01-02 15:04"), 8, 6, right)
	line := fmt.Sprintf("仓库 %s   配送日 %s   波次 %d   %s", h.Warehouse, h.Date, h.WaveID, scope)
	if h.WaveID == 0 { // a document of no wave (a return to supplier) is dated when made
		line = fmt.Sprintf("仓库 %s   日期 %s   %s", h.Warehouse, h.Date, scope)
	}
	d.fit(margin, 20, bodyW, 7, line, 11, 7, left)
	d.pdf.Line(margin, 28, margin+bodyW, 28)
	return 30
}

// pagesOf is how many pages n rows need at per rows a page (at least one).
// sheet is a printout that draws its own A4 pages into a document.
type sheet interface{ draw(d *doc) }

// sheetsPDF renders sheets one after the other into one A4 document titled
// title; with no sheets the document has one blank page.
func sheetsPDF[S sheet](f *Fonts, at time.Time, title string, sheets []S) ([]byte, error) {
	d := f.newDoc("P", a4, at, title)
	for _, s := range sheets {
		s.draw(d)
	}
	if len(sheets) == 0 {
		d.pdf.AddPageFormat("P", a4)
	}
	return d.bytes()
}

func pagesOf(n, per int) int { return max(1, (n+per-1)/per) }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// kg formats grams as kilograms with one decimal.
func kg(g int64) string { return fmt.Sprintf("%.1f", float64(g)/1000) }
