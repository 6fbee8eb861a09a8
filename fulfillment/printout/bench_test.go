package printout

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// City-sized inputs shaped like `groupbuy simulate --points 5000 --skus 2000`:
// 2,000 SKUs on the pick list, 5,000 points on 150 routes, one to three bags
// a point. Names are as long as real ones, in Chinese.

func benchPickSheet() PickSheet {
	s := PickSheet{Header: header(), Zone: "ambient"}
	for i := range 2000 {
		s.Lines = append(s.Lines, PickLine{Bin: fmt.Sprintf("A-%02d-%02d-%d", i/100, i%100, i%4), SKU: fmt.Sprintf("SKU%05d", i),
			Name: fmt.Sprintf("精选东北五常稻花香大米 %dkg 装", 1+i%10), Unit: "袋", Quantity: int64(50 + i*7%900)})
	}
	return s
}

func benchRoutes() []RouteSheet {
	at := func(m int) time.Time {
		return time.Date(2026, 12, 1, 6, 0, 0, 0, printed.Location()).Add(time.Duration(m) * time.Minute)
	}
	var out []RouteSheet
	for r := range 150 {
		s := RouteSheet{Header: header(), Route: fmt.Sprintf("R%02d", r+1), Vehicle: "TRUCK3T", Departure: at(0), Return: at(300), DistanceM: 85_000,
			Depot: Place{Name: "上海闵行中心仓", Address: "闵行区申南路 88 号", Lat: 31.23, Lng: 121.47}}
		for i := range 34 {
			a := float64(r)/150*2*math.Pi + float64(i)*0.01
			s.Stops = append(s.Stops, RouteStop{Seq: i + 1, Place: Place{Name: fmt.Sprintf("阳光花园%d期%d号楼自提点", r, i), Address: "浦东新区张杨路 " + fmt.Sprint(i) + " 弄",
				Lat: 31.23 + math.Sin(a)*float64(i)*0.004, Lng: 121.47 + math.Cos(a)*float64(i)*0.004}, Leader: "王" + strings.Repeat("芳", 1+i%2),
				Phone: "13800001234", Arrival: at(10 + 7*i), Departure: at(15 + 7*i), Bags: int64(1 + i%3), WeightG: 45_000})
		}
		out = append(out, s)
	}
	return out
}

func benchLabels() []Label {
	var out []Label
	for i := range 5000 {
		out = append(out, Label{BagRef: BagRef{WaveID: 7, BagID: int64(100000 + i), Route: fmt.Sprintf("R%02d", i/34+1), Stop: i%34 + 1, Zone: []string{"ambient", "chilled", "frozen"}[i%3]},
			Date: "2026-12-01", Warehouse: "上海闵行中心仓", Point: fmt.Sprintf("阳光花园%d号楼北门自提点", i), Leader: "李秀英", Phone: "13800001234",
			Units: int64(20 + i%50), SKUs: int64(5 + i%20), WeightG: 30_000, BagNo: 1 + i%3, Bags: 3})
	}
	return out
}

// BenchmarkPrintoutPickList2000 renders a 2,000-SKU pick list (77 pages).
func BenchmarkPrintoutPickList2000(b *testing.B) {
	f, s := fonts(b), benchPickSheet()
	for b.Loop() {
		if _, err := s.PDF(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrintoutLabels5000 renders all 5,000 bag labels into one document.
func BenchmarkPrintoutLabels5000(b *testing.B) {
	f, ls := fonts(b), benchLabels()
	for b.Loop() {
		if _, err := Labels(f, printed, ls, []byte("k")); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrintoutRouteSheets150 renders 150 route sheets of 34 stops, with
// maps, into one document.
func BenchmarkPrintoutRouteSheets150(b *testing.B) {
	f, rs := fonts(b), benchRoutes()
	for b.Loop() {
		if _, err := RouteSheets(f, printed, rs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrintoutRouteSheetEach renders the 150 route sheets as one
// document each, as a per-route reprint does.
func BenchmarkPrintoutRouteSheetEach(b *testing.B) {
	f, rs := fonts(b), benchRoutes()
	for b.Loop() {
		for _, s := range rs {
			if _, err := s.PDF(f); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkPrintoutLoadFonts is the one-time cost of reading and measuring
// the fonts.
func BenchmarkPrintoutLoadFonts(b *testing.B) {
	for b.Loop() {
		if _, err := LoadFonts("", ""); err != nil {
			b.Fatal(err)
		}
	}
}
