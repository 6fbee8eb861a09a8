package printout

import (
	"fmt"
	"time"
)

// SortSheet is the sorting sheet (分拣单) of one route: for each SKU, how many
// units go into each stop's bag, in stop order, so a sorter fills the bags of
// one route at a time.
type SortSheet struct {
	Header
	Route string
	Stops []SortStop // in stop order
	Items []SortItem // in bin order
}

// SortStop is a stop of the route: its number, pickup point and leader.
type SortStop struct {
	Seq           int
	Point, Leader string
}

// SortItem is one SKU and its quantity per stop.
type SortItem struct {
	Zone, SKU, Name, Unit string
	Drops                 []SortDrop // in stop order
}

// SortDrop is how many units of a SKU go to the stop numbered Seq.
type SortDrop struct {
	Seq      int
	Quantity int64
}

var sortCols = []column{
	{"站", 14, center, 16}, {"自提点", 82, left, 11}, {"团长", 40, left, 11},
	{"数量", 36, right, 18}, {"完成", 14, center, 9},
}

// sortRow is a row of the sheet: an item's heading, or one drop of it.
type sortRow struct {
	item  int
	drop  int // -1 for the item's heading
	cont  bool
	total int64
}

// rows lays the sheet out as rows: each item's heading, then its drops.
func (s SortSheet) rows() []sortRow {
	var out []sortRow
	for i, it := range s.Items {
		var total int64
		for _, d := range it.Drops {
			total += d.Quantity
		}
		out = append(out, sortRow{item: i, drop: -1, total: total})
		for j := range it.Drops {
			out = append(out, sortRow{item: i, drop: j})
		}
	}
	return out
}

// PDF renders the sorting sheet on A4; an item split over a page break gets
// its heading again, marked 续.
func (s SortSheet) PDF(f *Fonts) ([]byte, error) {
	d := f.newDoc("P", a4, s.PrintedAt, "分拣单 "+s.Route)
	s.draw(d)
	return d.bytes()
}

// SortSheets renders the sorting sheets of several routes into one document.
func SortSheets(f *Fonts, at time.Time, sheets []SortSheet) ([]byte, error) {
	d := f.newDoc("P", a4, at, "分拣单")
	for _, s := range sheets {
		s.draw(d)
	}
	if len(sheets) == 0 {
		d.pdf.AddPageFormat("P", a4)
	}
	return d.bytes()
}

func (s SortSheet) draw(d *doc) {
	const rowH, per = 8.5, 29
	stops := map[int]SortStop{}
	for _, st := range s.Stops {
		stops[st.Seq] = st
	}
	var pages [][]sortRow
	var cur []sortRow
	for _, r := range s.rows() {
		if len(cur) == per || (r.drop < 0 && len(cur) == per-1) {
			pages = append(pages, cur)
			cur = nil
		}
		if len(cur) == 0 && r.drop >= 0 {
			cur = append(cur, sortRow{item: r.item, drop: -1, cont: true})
		}
		cur = append(cur, r)
	}
	if len(cur) > 0 || len(pages) == 0 {
		pages = append(pages, cur)
	}
	var units int64
	for _, it := range s.Items {
		for _, d := range it.Drops {
			units += d.Quantity
		}
	}
	for p, rows := range pages {
		d.pdf.AddPageFormat("P", a4)
		y := d.sheetHeader("分拣单 "+s.Route, s.Header, fmt.Sprintf("线路 %s  %d 站", s.Route, len(s.Stops)), p+1, len(pages))
		y = d.tableHead(sortCols, y)
		for _, r := range rows {
			it := s.Items[r.item]
			if r.drop < 0 {
				d.pdf.SetFillColor(240, 240, 240)
				d.pdf.Rect(margin, y, bodyW, rowH, "F")
				head := fmt.Sprintf("%s  %s  [%s]  %s", it.SKU, it.Name, ZoneName(it.Zone), it.Unit)
				if r.cont {
					head += " (续)"
				}
				d.fit(margin, y, bodyW-50, rowH, head, 11, 7, left)
				if !r.cont {
					d.fit(margin+bodyW-50, y, 50, rowH, fmt.Sprintf("共 %d", r.total), 12, 8, right)
				}
				y += rowH
				continue
			}
			dr := it.Drops[r.drop]
			st := stops[dr.Seq]
			d.tableRow(sortCols, []string{itoa(int64(dr.Seq)), st.Point, st.Leader, itoa(dr.Quantity)}, y, rowH)
			d.tick(margin+bodyW-14, y, 14, rowH)
			y += rowH
		}
		if p == len(pages)-1 {
			d.fit(margin, y+2, bodyW, 9, fmt.Sprintf("合计 %d 种商品  共 %d 件", len(s.Items), units), 14, 9, right)
		}
	}
}
