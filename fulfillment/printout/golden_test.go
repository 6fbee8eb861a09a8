package printout

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// The CSVs are compared with golden files: the warehouse's systems parse them,
// so a changed column is a decision, not an accident. (The PDFs are checked
// through pdftotext instead: their bytes depend on the installed fonts.)
func TestPrintoutCSVGolden(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, printed.Location()) }
	pick := PickSheet{Header: header(), Zone: "frozen", Lines: []PickLine{
		{Bin: "F-01-01", SKU: "DUMPLING", Name: "三全水饺, 猪肉白菜", Unit: "袋", Quantity: 36},
		{Bin: "F-01-02", SKU: "ICE", Name: `"冰"淇淋`, Unit: "盒", Quantity: 4}}}
	sort := SortSheet{Header: header(), Route: "R01", Stops: []SortStop{{1, "幸福里", "王芳"}, {2, "阳光花园", "李四"}},
		Items: []SortItem{{Zone: "frozen", SKU: "DUMPLING", Name: "三全水饺", Unit: "袋", Drops: []SortDrop{{1, 20}, {2, 16}}}}}
	labels := []Label{{BagRef: BagRef{WaveID: 42, BagID: 7, Route: "R01", Stop: 2, Zone: "frozen"}, Point: "阳光花园", Leader: "李四",
		Phone: "13800000000", Units: 16, SKUs: 1, WeightG: 8000, BagNo: 1, Bags: 1}}
	route := RouteSheet{Header: header(), Route: "R01", Vehicle: "VAN", Stops: []RouteStop{{Seq: 1, Place: Place{Name: "幸福里", Address: "文一路 1 号", Lat: 30.2, Lng: 120.1},
		Leader: "王芳", Phone: "139", Arrival: at(7, 0), Departure: at(7, 5), Bags: 1, WeightG: 10000}}}
	for name, got := range map[string][]byte{
		"pick-list.csv": pick.CSV(), "sort-sheet.csv": sort.CSV(), "labels.csv": LabelsCSV(labels, []byte("k")), "route-sheet.csv": RouteCSV([]RouteSheet{route}),
	} {
		path := filepath.Join("testdata", name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test -update to create it)", err)
		}
		if string(got) != string(want) {
			t.Errorf("%s:\n got %s\nwant %s", name, got, want)
		}
	}
}

// TestSheetsCSVHaveOneHeaderLine: the file of several sheets is their rows
// under one header line, and the file of none is the header alone.
func TestSheetsCSVHaveOneHeaderLine(t *testing.T) {
	a := PickSheet{Header: header(), Zone: "frozen", Lines: []PickLine{{Bin: "F-01", SKU: "DUMPLING", Name: "水饺", Unit: "袋", Quantity: 3}}}
	b := PickSheet{Header: header(), Zone: "chilled", Lines: []PickLine{{Bin: "C-01", SKU: "MILK", Name: "牛奶", Unit: "盒", Quantity: 2},
		{Bin: "C-02", SKU: "EGG", Name: "鸡蛋", Unit: "盒", Quantity: 1}}}
	got := string(PickSheetsCSV([]PickSheet{a, b}))
	want := string(a.CSV()) + strings.SplitN(string(b.CSV()), "\n", 2)[1]
	if got != want || strings.Count(got, "wave_id") != 1 || strings.Count(got, "\n") != 4 {
		t.Errorf("two pick lists:\n%s\nwant\n%s", got, want)
	}
	if got, want := string(PickSheetsCSV(nil)), string(PickSheet{}.CSV()); got != want || strings.Count(got, "\n") != 1 {
		t.Errorf("no pick lists: %q, want the header %q", got, want)
	}
	s := SortSheet{Header: header(), Route: "R01", Stops: []SortStop{{1, "幸福里", "王芳"}},
		Items: []SortItem{{Zone: "frozen", SKU: "DUMPLING", Name: "水饺", Unit: "袋", Drops: []SortDrop{{1, 2}}}}}
	if got := string(SortSheetsCSV([]SortSheet{s, s})); strings.Count(got, "wave_id") != 1 || strings.Count(got, "\n") != 3 {
		t.Errorf("two sort sheets:\n%s", got)
	}
}
