package printout

import (
	"fmt"
	"time"

	"groupbuy/fulfillment/printout/qrcode"
)

// RouteSheet is a driver's route sheet: the stops in order with their
// addresses, ETA windows, bags and weights, a map and signature lines.
type RouteSheet struct {
	Header
	Route     string
	Vehicle   string
	Departure time.Time // local time at the warehouse
	Return    time.Time
	DistanceM int64
	Depot     Place
	Stops     []RouteStop // in order
	// DriverURL, when set, is printed as a QR code: the driver's page of
	// this route, on a phone.
	DriverURL string
}

// Place is a named point on the map.
type Place struct {
	Name, Address string
	Lat, Lng      float64
}

// RouteStop is one stop of a route.
type RouteStop struct {
	Seq int
	Place
	Leader, Phone      string
	Arrival, Departure time.Time // local time
	// WindowStart and WindowEnd are when the point receives (local); zero: not known.
	WindowStart, WindowEnd time.Time
	Bags                   int64
	WeightG                int64
}

// receiving is the stop's receiving window as HH:MM-HH:MM, or "" when not known.
func (st RouteStop) receiving() string {
	if st.WindowStart.IsZero() {
		return ""
	}
	return hhmm(st.WindowStart) + "-" + hhmm(st.WindowEnd)
}

var routeCols = []column{
	{"站", 12, center, 16}, {"自提点 / 地址", 70, left, 10}, {"团长 / 电话", 34, left, 10},
	{"到达-离开", 24, center, 10}, {"袋", 10, right, 13}, {"重量kg", 14, right, 10}, {"签收", 22, center, 9},
}

// Totals returns the bags and weight of the whole route.
func (s RouteSheet) Totals() (bags, weightG int64) {
	for _, st := range s.Stops {
		bags += st.Bags
		weightG += st.WeightG
	}
	return bags, weightG
}

// PDF renders the route sheet on A4: a map and the first stops on page one,
// the rest after, signatures at the end.
func (s RouteSheet) PDF(f *Fonts) ([]byte, error) {
	return sheetsPDF(f, s.PrintedAt, "线路单 "+s.Route, []RouteSheet{s})
}

// RouteSheets renders several route sheets into one document, for printing a
// whole night at once.
func RouteSheets(f *Fonts, at time.Time, sheets []RouteSheet) ([]byte, error) {
	return sheetsPDF(f, at, "线路单", sheets)
}

func (s RouteSheet) draw(d *doc) {
	const rowH = 13.0
	rows := routeSheetRows(len(s.Stops))
	pages := len(rows)
	bags, weight := s.Totals()
	scope := fmt.Sprintf("线路 %s  车辆 %s", s.Route, s.Vehicle)
	i := 0
	for p, n := range rows {
		d.pdf.AddPageFormat("P", a4)
		y := d.sheetHeader("线路单 "+s.Route, s.Header, scope, p+1, pages)
		if p == 0 {
			summary := fmt.Sprintf("发车 %s  回仓 %s  %d 站  %.1f km  %d 袋  %s kg", s.Departure.Format("15:04"), s.Return.Format("15:04"),
				len(s.Stops), float64(s.DistanceM)/1000, bags, kg(weight))
			d.fit(margin, y, bodyW, 8, summary, 12, 8, left)
			d.fit(margin, y+8, bodyW, 6, "仓库 "+s.Depot.Name+"  "+s.Depot.Address, 9, 6, left)
			d.routeMap(margin, y+15, bodyW, 95, s)
			d.driverQR(s.DriverURL, margin+bodyW-32, y+16)
			y += 113
		}
		y = d.tableHead(routeCols, y)
		for end := min(len(s.Stops), i+n); i < end; i++ {
			st := s.Stops[i]
			window := st.Arrival.Format("15:04") + "-" + st.Departure.Format("15:04")
			d.tableRow(routeCols[:1], []string{itoa(int64(st.Seq))}, y, rowH)
			x := margin + routeCols[0].w
			d.fit(x, y, routeCols[1].w, rowH/2, st.Name, 11, 7, left)
			d.fit(x, y+rowH/2, routeCols[1].w, rowH/2, st.Address, 8, 6, left)
			x += routeCols[1].w
			d.fit(x, y, routeCols[2].w, rowH/2, st.Leader, 10, 7, left)
			d.fit(x, y+rowH/2, routeCols[2].w, rowH/2, st.Phone, 9, 6, left)
			x += routeCols[2].w
			for j, v := range []string{window, itoa(st.Bags), kg(st.WeightG)} {
				c := routeCols[3+j]
				if j == 0 && !st.WindowStart.IsZero() {
					// Under the planned times, the hours the point receives.
					d.fit(x, y, c.w, rowH/2, v, c.size, 6, c.a)
					d.fit(x, y+rowH/2, c.w, rowH/2, "收货 "+st.receiving(), 8, 5, c.a)
				} else {
					d.fit(x, y, c.w, rowH, v, c.size, 6, c.a)
				}
				x += c.w
			}
			d.pdf.SetDrawColor(160, 160, 160)
			d.pdf.Line(x+2, y+rowH-3, x+routeCols[6].w-2, y+rowH-3)
			d.pdf.SetDrawColor(0, 0, 0)
			y += rowH
		}
		if p == pages-1 {
			d.fit(margin, y+3, bodyW, 8, fmt.Sprintf("合计 %d 站  %d 袋  %s kg", len(s.Stops), bags, kg(weight)), 12, 8, right)
			d.fit(margin, y+14, bodyW, 8, "司机签字 ______________    仓库签字 ______________    发车时间 ________", 11, 8, left)
		}
	}
}

// routeSheetRows is how many stops each page of a route sheet of n stops
// lists: 10 under page one's map, 18 on each page after. The page that ends
// the sheet has its totals and signatures below its rows, which take the
// room of one row more than its last row leaves: it lists one fewer, and a
// sheet that would end on a full page carries its last stop over.
func routeSheetRows(n int) []int {
	const first, per = 10, 18
	var rows []int
	for p := 0; ; p++ {
		c := per
		if p == 0 {
			c = first
		}
		if n <= c-1 {
			return append(rows, n)
		}
		take := min(n-1, c)
		rows, n = append(rows, take), n-take
	}
}

// driverQR draws the driver page's address as a QR code, 30 mm with a
// caption, on a white ground over the map's corner at (x, y); nothing when
// there is no address.
func (d *doc) driverQR(url string, x, y float64) {
	if url == "" {
		return
	}
	code, err := qrcode.Encode(url, qrcode.M)
	if err != nil {
		d.pdf.SetError(err)
		return
	}
	d.pdf.SetFillColor(255, 255, 255)
	d.pdf.Rect(x, y, 31, 36, "F")
	d.drawQR(code, x, y, 31)
	d.fit(x, y+30, 31, 5, "司机扫码", 8, 6, center)
}
