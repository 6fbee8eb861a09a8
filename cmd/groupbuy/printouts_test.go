package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/printout"
	"groupbuy/internal/testenv"
)

// TestPrintoutsOfANight runs a small night to ready through the worker and
// reads its printouts back: the PDFs' text against the pick plan, every
// sorted unit in exactly one bag, a label's QR code scanned and verified, and
// reprints byte-identical.
func TestPrintoutsOfANight(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 6)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	c.addVans("1.5吨冷藏厢式车", 3)
	for l := range 6 {
		for i := range 2 {
			body := orderBody(fmt.Sprintf("1592%02d%05d", l, i), "居民", egg.ID, int64(1+i+l), rice.ID, 1, dumpling.ID, int64(2+l%3))
			c.placeOrder(l, fmt.Sprintf("p%d", i), body)
		}
	}
	path := c.wavePath()
	staff := c.staffToken("warehouse")
	if r := c.do("GET", path+"/printouts/labels.pdf", staff, nil); r.Status != http.StatusNotFound {
		t.Fatalf("labels of an open wave: %d %s", r.Status, r.Body)
	}
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "even", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 40}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	runNightToReady(t, c, path)

	for _, bad := range []string{"/printouts/menu.pdf", "/printouts/pick-list.pdf?zone=warm", "/printouts/labels.doc"} {
		if r := c.do("GET", path+bad, staff, nil); r.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s", bad, r.Status, r.Body)
		}
	}
	if r := c.do("GET", path+"/printouts/route-sheet.pdf?route=R99", staff, nil); r.Status != http.StatusNotFound {
		t.Errorf("unknown route: %d %s", r.Status, r.Body)
	}

	// The pick list: every line's name and quantity, and the total.
	var pick struct{ Lines []night.PickLine }
	c.do("GET", path+"/pick-list", staff, nil).json(t, &pick)
	r := c.do("GET", path+"/printouts/pick-list.pdf", staff, nil)
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(r.Header.Get("Content-Disposition"), "pick-list.pdf") {
		t.Fatalf("pick list: %d %v %.200s", r.Status, r.Header, r.Body)
	}
	txt := testenv.Squash(testenv.PDFText(t, r.Body))
	var units int64
	zoneUnits := map[fulfillment.Zone]int64{}
	for _, l := range pick.Lines {
		units += l.Quantity
		zoneUnits[l.Zone] += l.Quantity
		if !strings.Contains(txt, testenv.Squash(l.Name)) || !strings.Contains(txt, testenv.Squash(l.Bin+l.SKU+l.Name+l.Unit+strconv.FormatInt(l.Quantity, 10))) {
			t.Errorf("pick list lacks %+v", l)
		}
	}
	for zone, n := range zoneUnits { // each zone's list has its own total
		if !strings.Contains(txt, fmt.Sprintf("共%d件", n)) {
			t.Errorf("pick list lacks the %s total %d: %s", zone, n, txt)
		}
	}

	// Every sorted unit is in exactly one bag: the sort sheet's rows summed per
	// point and zone equal that point's one label for the zone.
	sortRows := readCSV(t, c.do("GET", path+"/printouts/sort-sheet.csv", staff, nil))
	labelRows := readCSV(t, c.do("GET", path+"/printouts/labels.csv", staff, nil))
	sorted := map[string]int64{}
	var sortedUnits int64
	for _, row := range sortRows {
		q, _ := strconv.ParseInt(row["quantity"], 10, 64)
		sorted[row["route"]+"/"+row["stop"]+"/"+row["zone"]] += q
		sortedUnits += q
	}
	if sortedUnits != units {
		t.Fatalf("sorted %d units, picked %d", sortedUnits, units)
	}
	for _, row := range labelRows {
		key := row["route"] + "/" + row["stop"] + "/" + row["zone"]
		q, _ := strconv.ParseInt(row["units"], 10, 64)
		if sorted[key] != q {
			t.Errorf("bag %s holds %d units, sorted into it %d", key, q, sorted[key])
		}
		delete(sorted, key)
	}
	if len(sorted) != 0 {
		t.Errorf("sorted into bags without a label: %v", sorted)
	}

	// From the orders themselves: each (point, zone) has exactly one label,
	// holding what its order lines kept after allocation cut them.
	var kept []struct {
		Point string `db:"point"`
		Zone  string `db:"zone"`
		Units int64  `db:"units"`
	}
	if err := c.app.db.Select(&kept, `SELECT pp.name AS point, p.zone, sum(ol.quantity - coalesce(lc.cut, 0)) AS units
		FROM orders o JOIN order_lines ol ON ol.order_id = o.id LEFT JOIN line_cuts lc ON lc.order_line_id = ol.id
		JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id
		JOIN pickup_points pp ON pp.id = o.pickup_point_id
		WHERE o.status = 'placed' GROUP BY 1, 2 HAVING sum(ol.quantity - coalesce(lc.cut, 0)) > 0`); err != nil {
		t.Fatal(err)
	}
	bags := map[string][]string{}
	for _, row := range labelRows {
		bags[row["pickup_point"]+"/"+row["zone"]] = append(bags[row["pickup_point"]+"/"+row["zone"]], row["units"])
	}
	for _, k := range kept {
		if b := bags[k.Point+"/"+k.Zone]; len(b) != 1 || b[0] != strconv.FormatInt(k.Units, 10) {
			t.Errorf("%s %s: orders keep %d units, labels say %v", k.Point, k.Zone, k.Units, b)
		}
	}
	if len(kept) != len(labelRows) {
		t.Errorf("%d (point, zone) pairs ordered, %d labels", len(kept), len(labelRows))
	}

	// A label's QR code scans and verifies with the configured key.
	labels := c.do("GET", path+"/printouts/labels.pdf", staff, nil)
	txt = testenv.Squash(testenv.PDFText(t, labels.Body))
	for _, row := range labelRows {
		if !strings.Contains(txt, testenv.Squash(row["leader"])) || !strings.Contains(txt, row["units"]+"件") {
			t.Errorf("labels lack %v", row)
		}
	}
	ref, err := printout.Verify(testenv.ScanQR(t, labels.Body, 1), []byte(config.DevLabelKey))
	if err != nil || strconv.FormatInt(ref.BagID, 10) != labelRows[0]["bag_id"] || ref.Route != labelRows[0]["route"] {
		t.Fatalf("scanned %+v (%v), first label %v", ref, err, labelRows[0])
	}

	// Route sheets name every stop; a route's own sheet is made on demand,
	// and made again gives the same bytes.
	sheets := testenv.Squash(testenv.PDFText(t, c.do("GET", path+"/printouts/route-sheet.pdf", staff, nil).Body))
	for _, p := range c.points {
		if !strings.Contains(sheets, testenv.Squash(p.Point.Name)) {
			t.Errorf("route sheets lack %s", p.Point.Name)
		}
	}
	one := c.do("GET", path+"/printouts/sort-sheet.pdf?route=R01", staff, nil)
	if one.Status != http.StatusOK || !strings.Contains(testenv.Squash(testenv.PDFText(t, one.Body)), "分拣单R01") {
		t.Fatalf("sort sheet R01: %d %.200s", one.Status, one.Body)
	}
	if _, err := c.app.db.Exec(`DELETE FROM printouts`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		path string
		was  []byte
	}{{"/printouts/sort-sheet.pdf?route=R01", one.Body}, {"/printouts/labels.pdf", labels.Body}} {
		if again := c.do("GET", path+p.path, staff, nil); !bytes.Equal(again.Body, p.was) {
			t.Errorf("%s rendered again differs", p.path)
		}
	}
	// Once retention has archived the night (its partitions gone), a
	// printout not kept is refused, not drawn into a partition that is no
	// more (500).
	var drop string
	if err := c.app.db.Get(&drop, `SELECT format('DROP TABLE %I', night_partition_name('printouts', $1::date))`, c.date.String()); err != nil {
		t.Fatal(err)
	}
	if _, err := c.app.db.Exec(drop); err != nil {
		t.Fatal(err)
	}
	if r := c.do("GET", path+"/printouts/pick-list.csv?zone=chilled", staff, nil); r.Status != http.StatusConflict || r.errorCode(t) != "night_archived" {
		t.Fatalf("a printout of an archived night: %d %s", r.Status, r.Body)
	}
}

func readCSV(t *testing.T, r response) []map[string]string {
	t.Helper()
	if r.Status != http.StatusOK || r.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
		t.Fatalf("csv: %d %v %.200s", r.Status, r.Header, r.Body)
	}
	rows, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("csv: %v %q", err, r.Body)
	}
	var out []map[string]string
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = row[i]
		}
		out = append(out, m)
	}
	return out
}
