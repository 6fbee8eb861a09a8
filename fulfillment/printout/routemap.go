package printout

import (
	"fmt"
	"math"

	"codeberg.org/go-pdf/fpdf"
)

// routeMap draws the route inside the box: the warehouse as a square, the
// stops as numbered dots joined in order, the way back dashed, and a scale
// bar. Coordinates are projected equirectangularly around the route's centre,
// which is true enough at a city's scale; no tiles are fetched.
func (d *doc) routeMap(x, y, w, h float64, s RouteSheet) {
	p := d.pdf
	p.SetLineWidth(0.2)
	d.box(x, y, w, h)
	pts := []Place{s.Depot}
	for _, st := range s.Stops {
		pts = append(pts, st.Place)
	}
	minLat, maxLat, minLng, maxLng := pts[0].Lat, pts[0].Lat, pts[0].Lng, pts[0].Lng
	for _, q := range pts {
		minLat, maxLat = math.Min(minLat, q.Lat), math.Max(maxLat, q.Lat)
		minLng, maxLng = math.Min(minLng, q.Lng), math.Max(maxLng, q.Lng)
	}
	const mPerDeg = 111_320.0
	cos := math.Cos((minLat + maxLat) / 2 * math.Pi / 180)
	spanX := math.Max((maxLng-minLng)*cos*mPerDeg, 200) // metres
	spanY := math.Max((maxLat-minLat)*mPerDeg, 200)
	const pad = 8.0
	scale := math.Min((w-2*pad)/spanX, (h-2*pad)/spanY) // mm per metre
	cx, cy := (minLng+maxLng)/2, (minLat+maxLat)/2
	proj := func(q Place) (float64, float64) {
		return x + w/2 + (q.Lng-cx)*cos*mPerDeg*scale, y + h/2 - (q.Lat-cy)*mPerDeg*scale
	}
	line := make([]fpdf.PointType, len(pts))
	for i, q := range pts {
		line[i].X, line[i].Y = proj(q)
	}
	p.SetDrawColor(40, 90, 200)
	p.SetLineWidth(0.5)
	for i := 1; i < len(line); i++ {
		p.Line(line[i-1].X, line[i-1].Y, line[i].X, line[i].Y)
	}
	if len(line) > 1 {
		p.SetDashPattern([]float64{1.5, 1.5}, 0)
		p.Line(line[len(line)-1].X, line[len(line)-1].Y, line[0].X, line[0].Y)
		p.SetDashPattern(nil, 0)
	}
	p.SetDrawColor(0, 0, 0)
	p.SetLineWidth(0.2)
	p.SetFillColor(255, 255, 255)
	// Numbered dots where stops lie apart; where they crowd (a housing
	// estate), smaller dots numbered beside them, so no number hides another.
	gap := math.Inf(1)
	for i := 1; i < len(line); i++ {
		for j := i + 1; j < len(line); j++ {
			gap = math.Min(gap, math.Hypot(line[i].X-line[j].X, line[i].Y-line[j].Y))
		}
	}
	for i := len(line) - 1; i >= 1; i-- {
		num := fmt.Sprint(s.Stops[i-1].Seq)
		if gap >= 4.8 {
			p.Circle(line[i].X, line[i].Y, 2.4, "FD")
			d.fit(line[i].X-2.4, line[i].Y-2.4, 4.8, 4.8, num, 7, 4, center)
			continue
		}
		p.SetFillColor(40, 90, 200)
		p.Circle(line[i].X, line[i].Y, 0.9, "F")
		p.SetFillColor(255, 255, 255)
		d.text(line[i].X+1.2, line[i].Y+0.9, num, 5.5)
	}
	p.SetFillColor(200, 30, 30)
	p.Rect(line[0].X-2.5, line[0].Y-2.5, 5, 5, "F")
	d.fit(line[0].X+3, line[0].Y-3, 20, 6, "仓库", 8, 6, left)
	// A scale bar of a round length near a fifth of the box.
	target := (w / 5) / scale
	bar := math.Pow(10, math.Floor(math.Log10(target)))
	for _, m := range []float64{5, 2} {
		if bar*m <= target {
			bar *= m
			break
		}
	}
	bx, by := x+4, y+h-5
	p.SetLineWidth(0.6)
	p.Line(bx, by, bx+bar*scale, by)
	p.Line(bx, by-1.2, bx, by)
	p.Line(bx+bar*scale, by-1.2, bx+bar*scale, by)
	p.SetLineWidth(0.2)
	label := fmt.Sprintf("%.0f m", bar)
	if bar >= 1000 {
		label = fmt.Sprintf("%.0f km", bar/1000)
	}
	d.text(bx+bar*scale+1.5, by+1, label, 7)
	d.text(x+w-6, y+7, "N↑", 8)
}
