package printout

import (
	"cmp"
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

// PDF renders the sorting sheet on A4.
func (s SortSheet) PDF(f *Fonts) ([]byte, error) {
	return sheetsPDF(f, s.PrintedAt, "分拣单 "+routeName(s.Route), []SortSheet{s})
}

// SortSheets renders the sorting sheets of several routes into one document.
func SortSheets(f *Fonts, at time.Time, sheets []SortSheet) ([]byte, error) {
	return sheetsPDF(f, at, "分拣单", sheets)
}

// routeName is a route's code as printed: "--" for the points no route
// serves, whose bags are still picked, sorted and labelled.
func routeName(code string) string { return cmp.Or(code, "--") }

// Matrix geometry: a row per SKU, a column per stop, up to stopCols stops a
// pass; a longer route is sorted in passes of stopCols bags.
const (
	stopCols   = 12
	itemColW   = 58.0
	stopColW   = 9.5
	sortRowH   = 7.0
	legendRows = 6
)

// draw lays the sheet out as a matrix, SKUs down (walking order) and stops
// across (stop order): a sorter walks the SKUs once per pass and drops each
// cell's units into that stop's bag. A legend on every page names the stops.
func (s SortSheet) draw(d *doc) {
	var groups [][]SortStop
	for i := 0; i < len(s.Stops); i += stopCols {
		groups = append(groups, s.Stops[i:min(len(s.Stops), i+stopCols)])
	}
	if len(groups) == 0 {
		groups = [][]SortStop{nil}
	}
	type page struct {
		group int
		items []int
	}
	top := 30 + legendRows*4.5 + 2 + 8.0
	per := int((285 - top) / sortRowH)
	var pages []page
	for g, stops := range groups {
		in := map[int]bool{}
		for _, st := range stops {
			in[st.Seq] = true
		}
		var items []int
		for i, it := range s.Items {
			for _, dr := range it.Drops {
				if in[dr.Seq] {
					items = append(items, i)
					break
				}
			}
		}
		for p := 0; p == 0 || p*per < len(items); p++ {
			pages = append(pages, page{group: g, items: items[p*per : min(len(items), (p+1)*per)]})
		}
	}
	var units int64
	for _, it := range s.Items {
		for _, dr := range it.Drops {
			units += dr.Quantity
		}
	}
	for n, pg := range pages {
		stops := groups[pg.group]
		d.pdf.AddPageFormat("P", a4)
		scope := fmt.Sprintf("线路 %s  %d 站", routeName(s.Route), len(s.Stops))
		if len(groups) > 1 {
			scope += fmt.Sprintf("  第 %d/%d 轮 (站 %d-%d)", pg.group+1, len(groups), stops[0].Seq, stops[len(stops)-1].Seq)
		}
		y := d.sheetHeader("分拣单 "+routeName(s.Route), s.Header, scope, n+1, len(pages))
		for i, st := range stops {
			x := margin + float64(i/legendRows)*bodyW/2
			d.fit(x, y+float64(i%legendRows)*4.5, bodyW/2, 4.5, fmt.Sprintf("%d  %s  %s", st.Seq, st.Point, st.Leader), 9, 6, left)
		}
		y += legendRows*4.5 + 2
		d.pdf.SetFillColor(225, 225, 225)
		d.pdf.Rect(margin, y, bodyW, 8, "F")
		d.fit(margin, y, itemColW, 8, "商品 / 站", 9, 7, left)
		col := map[int]float64{}
		for i, st := range stops {
			col[st.Seq] = margin + itemColW + float64(i)*stopColW
			d.fit(col[st.Seq], y, stopColW, 8, fmt.Sprint(st.Seq), 12, 6, center)
		}
		totalX := margin + itemColW + stopCols*stopColW
		d.fit(totalX, y, margin+bodyW-totalX, 8, "小计", 9, 6, right)
		y += 8
		for _, i := range pg.items {
			it := s.Items[i]
			d.fit(margin, y, itemColW, sortRowH, fmt.Sprintf("%s %s [%s] %s", it.SKU, it.Name, ZoneName(it.Zone), it.Unit), 9, 5.5, left)
			var sum int64
			for _, dr := range it.Drops {
				if x, ok := col[dr.Seq]; ok {
					d.fit(x, y, stopColW, sortRowH, itoa(dr.Quantity), 13, 6, center)
					sum += dr.Quantity
				}
			}
			d.fit(totalX, y, margin+bodyW-totalX, sortRowH, itoa(sum), 11, 6, right)
			y += sortRowH
		}
		// The grid keeps a sorter's eye on the right row and bag.
		d.pdf.SetDrawColor(170, 170, 170)
		d.pdf.SetLineWidth(0.15)
		head := y - sortRowH*float64(len(pg.items)) - 8
		for r := head + 8; r <= y+0.01; r += sortRowH {
			d.pdf.Line(margin, r, margin+bodyW, r)
		}
		for i := 0; i <= len(stops); i++ {
			x := margin + itemColW + float64(i)*stopColW
			d.pdf.Line(x, head, x, y)
		}
		d.pdf.SetDrawColor(0, 0, 0)
		d.pdf.SetLineWidth(0.2)
		if n == len(pages)-1 {
			d.fit(margin, y+2, bodyW, 9, fmt.Sprintf("合计 %d 种商品  共 %d 件", len(s.Items), units), 14, 9, right)
		}
	}
}
