package printout

import (
	"strings"
	"testing"
	"time"

	"groupbuy/internal/testenv"
)

// TestRouteSheetShowsReceivingWindow: a stop planned within a receiving
// window shows it under its times on the sheet and in the CSV's last two
// columns; a stop without one shows nothing there.
func TestRouteSheetShowsReceivingWindow(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, printed.Location()) }
	s := RouteSheet{Header: header(), Route: "R02", Vehicle: "VAN", Departure: at(6, 50), Return: at(9, 0), DistanceM: 12_000,
		Depot: Place{Name: "仓", Address: "一路", Lat: 30.28, Lng: 120.10}, Stops: []RouteStop{
			{Seq: 1, Place: Place{Name: "幸福里", Lat: 30.29, Lng: 120.11}, Arrival: at(7, 10), Departure: at(7, 35),
				WindowStart: at(7, 30), WindowEnd: at(8, 15), Bags: 1, WeightG: 1000},
			{Seq: 2, Place: Place{Name: "阳光花园", Lat: 30.30, Lng: 120.12}, Arrival: at(7, 50), Departure: at(7, 55), Bags: 1, WeightG: 1000},
		}}
	pdf, err := s.PDF(fonts(t))
	if err != nil {
		t.Fatal(err)
	}
	txt := testenv.Squash(testenv.PDFText(t, pdf))
	if !strings.Contains(txt, testenv.Squash("收货 07:30-08:15")) || strings.Count(txt, testenv.Squash("收货 ")) != 1 {
		t.Errorf("the sheet should show one receiving window, 07:30-08:15:\n%s", txt)
	}
	lines := strings.Split(strings.TrimSpace(string(RouteCSV([]RouteSheet{s}))), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], ",window_start,window_end") || !strings.HasSuffix(lines[1], ",07:30,08:15") ||
		!strings.HasSuffix(lines[2], ",,") {
		t.Errorf("route csv:\n%s", strings.Join(lines, "\n"))
	}
}
