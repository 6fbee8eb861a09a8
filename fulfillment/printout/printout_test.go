package printout

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"groupbuy/internal/testenv"
)

var (
	fontsOnce sync.Once
	testFonts *Fonts
	fontsErr  error
)

// fonts loads the fonts once for the package's tests.
func fonts(t testing.TB) *Fonts {
	t.Helper()
	fontsOnce.Do(func() {
		testFonts, fontsErr = LoadFonts(os.Getenv("GROUPBUY_FONT_CJK"), os.Getenv("GROUPBUY_FONT_LATIN"))
	})
	if fontsErr != nil {
		t.Fatal(fontsErr)
	}
	return testFonts
}

var printed = time.Date(2026, 11, 23, 1, 30, 0, 0, time.FixedZone("CST", 8*3600))

func header() Header {
	return Header{Warehouse: "杭州西湖仓", Date: "2026-11-23", WaveID: 42, PrintedAt: printed}
}

func TestPrintoutPickList(t *testing.T) {
	f := fonts(t)
	s := PickSheet{Header: header(), Zone: "chilled"}
	for i := range 60 {
		s.Lines = append(s.Lines, PickLine{Bin: fmt.Sprintf("C-%02d-%02d", i/10, i%10), SKU: fmt.Sprintf("SKU%04d", i),
			Name: fmt.Sprintf("鲜牛奶 %d 号", i), Unit: "盒", Quantity: int64(100 + i)})
	}
	// A name far too long for its cell must wrap or shrink, never spill.
	s.Lines[3].Name = strings.Repeat("新疆阿克苏冰糖心苹果特级大果", 6)
	pdf, err := s.PDF(f)
	if err != nil {
		t.Fatal(err)
	}
	txt := testenv.PDFText(t, pdf)
	n, units := s.Totals()
	for _, want := range []string{"总拣单", "杭州西湖仓", "冷藏", "第 1 / 3 页", "第 3 / 3 页", "鲜牛奶 59 号", "C-05-09",
		fmt.Sprintf("合计 %d 种商品 共 %d 件", n, units), "2026-11-23 01:30"} {
		if !strings.Contains(testenv.Squash(txt), testenv.Squash(want)) {
			t.Errorf("pick list lacks %q", want)
		}
	}
	for _, l := range s.Lines {
		if !strings.Contains(txt, fmt.Sprint(l.Quantity)) {
			t.Errorf("quantity %d missing", l.Quantity)
		}
	}
	again, _ := s.PDF(f)
	if !bytes.Equal(pdf, again) {
		t.Error("rendering twice gives different bytes")
	}
	if csv := string(s.CSV()); !strings.Contains(csv, "C-00-00,SKU0000,鲜牛奶 0 号,盒,100") {
		t.Errorf("csv: %.200s", csv)
	}
}

func TestPrintoutFitNeverOverflows(t *testing.T) {
	d := fonts(t).newDoc("P", a4, printed, "t")
	for _, s := range []string{"短", strings.Repeat("很长的自提点名称", 20), "Sunshine Garden Building 3 Unit 2 ¥12.50 " + strings.Repeat("x", 80)} {
		for _, l := range d.wrap(s, 40, 8) {
			if w := d.fonts.width(l, 8); w > 40 {
				t.Errorf("line %q is %.1f mm wide", l, w)
			}
		}
	}
	if d.fonts.width("¥", 10) == 0 || d.fonts.width("团", 10) == 0 {
		t.Error("a glyph has no width: a face lacks it")
	}
}

func TestPrintoutSortSheet(t *testing.T) {
	s := SortSheet{Header: header(), Route: "R03"}
	for i := 1; i <= 15; i++ { // two passes: 12 stops, then 3
		s.Stops = append(s.Stops, SortStop{Seq: i, Point: fmt.Sprintf("幸福里%d号自提点", i), Leader: fmt.Sprintf("王团长%d", i)})
	}
	var want int64
	for k := range 8 {
		it := SortItem{Zone: "ambient", SKU: fmt.Sprintf("A%03d", k), Name: fmt.Sprintf("东北大米%d", k), Unit: "袋"}
		for i := 1; i <= 15; i += 1 + k%3 {
			it.Drops = append(it.Drops, SortDrop{Seq: i, Quantity: int64(10*k + i)})
			want += int64(10*k + i)
		}
		s.Items = append(s.Items, it)
	}
	pdf, err := s.PDF(fonts(t))
	if err != nil {
		t.Fatal(err)
	}
	txt := testenv.Squash(testenv.PDFText(t, pdf))
	for _, w := range []string{"分拣单 R03", "幸福里12号自提点", "王团长7", "东北大米7", "第2/2轮(站13-15)", "A007东北大米7[常温]袋", fmt.Sprintf("共 %d 件", want)} {
		if !strings.Contains(txt, testenv.Squash(w)) {
			t.Errorf("sort sheet lacks %q", w)
		}
	}
}

func TestPrintoutLabelQRVerifies(t *testing.T) {
	for _, tool := range []string{"pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s missing: install poppler-utils and zbar-tools", tool)
		}
	}
	key := []byte("test-key")
	ls := []Label{{BagRef: BagRef{WaveID: 42, BagID: 9001, Route: "R07", Stop: 12, Zone: "frozen"}, Date: "2026-11-23", Warehouse: "杭州西湖仓",
		Point: "西溪诚园北门" + strings.Repeat("长名字", 15), Leader: "李四", Phone: "13800000000", Units: 37, SKUs: 9, WeightG: 12345, BagNo: 2, Bags: 3}}
	pdf, err := Labels(fonts(t), printed, ls, key)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := Labels(fonts(t), printed, ls, key); !bytes.Equal(pdf, again) {
		t.Error("labels rendered twice differ")
	}
	txt := testenv.PDFText(t, pdf)
	for _, w := range []string{"R07", "12", "冷冻", "李四", "37 件", "12.3 kg"} {
		if !strings.Contains(txt, w) {
			t.Errorf("label lacks %q", w)
		}
	}
	payload := testenv.ScanQR(t, pdf, 1)
	ref, err := Verify(payload, key)
	if err != nil || ref != ls[0].BagRef {
		t.Fatalf("scanned %q: %+v %v", payload, ref, err)
	}
	if _, err := Verify(payload, []byte("other")); !errors.Is(err, ErrBadPayload) {
		t.Errorf("wrong key verifies: %v", err)
	}
	if _, err := Verify(strings.Replace(payload, ":12:", ":13:", 1), key); !errors.Is(err, ErrBadPayload) {
		t.Errorf("altered stop verifies: %v", err)
	}
}

func TestPrintoutRouteSheet(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, printed.Location()) }
	s := RouteSheet{Header: header(), Route: "R01", Vehicle: "4.2米冷链", Departure: at(5, 0), Return: at(9, 40), DistanceM: 38_500,
		Depot: Place{Name: "杭州西湖仓", Address: "西湖区文一西路 1 号", Lat: 30.28, Lng: 120.10}}
	for i := 1; i <= 14; i++ {
		s.Stops = append(s.Stops, RouteStop{Seq: i, Place: Place{Name: fmt.Sprintf("第%d自提点", i), Address: "某某路" + fmt.Sprint(i) + "号",
			Lat: 30.28 + float64(i)*0.004, Lng: 120.10 + float64(i%5)*0.006}, Leader: "赵六", Phone: "139", Arrival: at(5, 10*i), Departure: at(5, 10*i+5),
			Bags: 2, WeightG: 3000 + int64(i)})
	}
	pdf, err := s.PDF(fonts(t))
	if err != nil {
		t.Fatal(err)
	}
	txt := testenv.Squash(testenv.PDFText(t, pdf))
	for _, w := range []string{"线路单 R01", "第14自提点", "4.2米冷链", "38.5 km", "28 袋", "司机签字", "第 2 / 2 页", "仓库", "05:10-05:15"} {
		if !strings.Contains(txt, testenv.Squash(w)) {
			t.Errorf("route sheet lacks %q", w)
		}
	}
	if !strings.Contains(string(RouteCSV([]RouteSheet{s})), "R01,4.2米冷链,14,第14自提点") {
		t.Error("route csv")
	}
}

func TestPrintoutMissingFontNamesPackage(t *testing.T) {
	_, err := LoadFonts("/nonexistent/cjk.ttf", "")
	if !errors.Is(err, ErrFontMissing) || !strings.Contains(err.Error(), "fonts-arphic-gbsn00lp") {
		t.Errorf("err = %v", err)
	}
}

// TestTextPastTheBasicPlanePrints: names may hold runes past U+FFFF (an
// emoji, CJK Extension B), which fpdf's font maps cannot hold: each prints
// as □ beside the rest of the name, on every kind of printout.
func TestTextPastTheBasicPlanePrints(t *testing.T) {
	f := fonts(t)
	pick := PickSheet{Header: header(), Zone: "ambient", Lines: []PickLine{{Bin: "A-1", SKU: "EGG", Name: "土鸡蛋🥚", Unit: "盒", Quantity: 3}}}
	sort := SortSheet{Header: header(), Route: "R01", Stops: []SortStop{{Seq: 1, Point: "幸福里🏠", Leader: "𠀀先生"}},
		Items: []SortItem{{Zone: "ambient", SKU: "EGG", Name: "土鸡蛋🥚", Unit: "盒", Drops: []SortDrop{{Seq: 1, Quantity: 3}}}}}
	route := RouteSheet{Header: header(), Route: "R01", Vehicle: "VAN", Departure: printed, Return: printed.Add(time.Hour),
		Depot: Place{Name: "杭州西湖仓", Lat: 30.28, Lng: 120.10},
		Stops: []RouteStop{{Seq: 1, Place: Place{Name: "幸福里🏠", Address: "𠀀路 1 号", Lat: 30.29, Lng: 120.11}, Leader: "𠀀先生",
			Arrival: printed, Departure: printed, Bags: 1, WeightG: 100}}}
	label := []Label{{BagRef: BagRef{WaveID: 42, BagID: 1, Route: "R01", Stop: 1, Zone: "ambient"}, Date: "2026-11-23",
		Warehouse: "杭州西湖仓", Point: "幸福里🏠", Leader: "𠀀先生", Units: 3, SKUs: 1, BagNo: 1, Bags: 1}}
	for name, draw := range map[string]func() ([]byte, error){
		"pick list":   func() ([]byte, error) { return pick.PDF(f) },
		"sort sheet":  func() ([]byte, error) { return sort.PDF(f) },
		"route sheet": func() ([]byte, error) { return route.PDF(f) },
		"labels":      func() ([]byte, error) { return Labels(f, printed, label, []byte("k")) },
	} {
		pdf, err := draw()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if txt := testenv.Squash(testenv.PDFText(t, pdf)); !strings.Contains(txt, "□") ||
			!strings.Contains(txt, "土鸡蛋□") && !strings.Contains(txt, "幸福里□") {
			t.Errorf("%s: the names print without their □: %s", name, txt)
		}
	}
}

// TestRouteSheetKeepsItsSignaturesOnThePage: whatever the number of stops,
// the totals and the signature lines print on the last page (10 stops fill
// page one's table, 28 the next page's), and every stop is listed once.
func TestRouteSheetKeepsItsSignaturesOnThePage(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 11, 23, h, m, 0, 0, printed.Location()) }
	for _, n := range []int{0, 8, 9, 10, 11, 26, 27, 28, 29} {
		s := RouteSheet{Header: header(), Route: "R01", Vehicle: "VAN", Departure: at(5, 0), Return: at(9, 40),
			Depot: Place{Name: "杭州西湖仓", Lat: 30.28, Lng: 120.10}}
		for i := 1; i <= n; i++ {
			s.Stops = append(s.Stops, RouteStop{Seq: i, Place: Place{Name: fmt.Sprintf("第%d号点", i), Lat: 30.28 + float64(i)*0.004,
				Lng: 120.10}, Arrival: at(5, i), Departure: at(5, i+1), Bags: 1, WeightG: 1000})
		}
		pdf, err := s.PDF(fonts(t))
		if err != nil {
			t.Fatal(err)
		}
		txt := testenv.Squash(testenv.PDFText(t, pdf))
		for _, w := range []string{"司机签字", "发车时间", fmt.Sprintf("合计 %d 站", n)} {
			if !strings.Contains(txt, testenv.Squash(w)) {
				t.Errorf("%d stops: the route sheet lacks %q", n, w)
			}
		}
		for i := 1; i <= n; i++ {
			if c := strings.Count(txt, testenv.Squash(fmt.Sprintf("第%d号点", i))); c != 1 {
				t.Errorf("%d stops: stop %d listed %d times", n, i, c)
			}
		}
	}
}
