package night

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"strconv"
	"testing"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
)

// runTo runs a seeded wave's stages from the close through last, the dock
// receiving everything.
func runTo(t *testing.T, r *Runner, id int64, last wave.Stage) {
	t.Helper()
	ctx := context.Background()
	for _, st := range []wave.Stage{wave.StageClose, wave.StagePurchase} {
		if _, err := r.RunStage(ctx, st, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.RecordReceipts(ctx, id, "", true, nil, "test"); err != nil {
		t.Fatal(err)
	}
	for _, st := range []wave.Stage{wave.StageAllocate, wave.StagePick, wave.StageRefund, wave.StageRoute, wave.StageReady} {
		if ok, err := r.RunStage(ctx, st, id); err != nil || !ok {
			t.Fatalf("%s: %v %v", st, ok, err)
		}
		if st == last {
			return
		}
	}
}

// printedRows reads a printout's CSV as rows by column name.
func printedRows(t *testing.T, r *Runner, id int64, file string) []map[string]string {
	t.Helper()
	p, err := r.Printout(context.Background(), id, file, PrintScope{})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(p.Content)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = rec[i]
		}
		out = append(out, m)
	}
	return out
}

func sumOf(rows []map[string]string, col string) int64 {
	var n int64
	for _, row := range rows {
		v, _ := strconv.ParseInt(row[col], 10, 64)
		n += v
	}
	return n
}

// riceNight is a city of n points and a van, point p having ordered p+1
// bags of ambient rice.
func riceNight(t *testing.T, n int) *fulfillmenttest.City {
	c := fulfillmenttest.New(t, n)
	c.Van()
	item := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 100, 100)
	for p := range n {
		c.Order(p, fulfillmenttest.Line{SaleItem: item, Quantity: int64(p + 1)})
	}
	return c
}

func printingRunner(t *testing.T, c *fulfillmenttest.City) *Runner {
	return newTestRunner(t, c, Options{Route: routeplan.Options{Budget: time.Second, Threads: 1}, Printer: NewPrinter("", "", []byte("k"))})
}

// TestSortSheetsSortWhatIsPicked: a point no route serves has its units
// picked and its bag labelled (route --); the whole wave's sort sheets end
// with a sheet of such points, so every picked unit is sorted.
func TestSortSheetsSortWhatIsPicked(t *testing.T) {
	c := riceNight(t, 3)
	c.Exec(`UPDATE pickup_points SET receiving_from = '12:00', receiving_until = '13:00' WHERE id = $1`, c.Points[0].ID)
	r := printingRunner(t, c)
	id := c.Wave()
	runTo(t, r, id, wave.StageReady)
	if n := c.Count(`SELECT count(*) FROM unserved_stops`); n != 1 {
		t.Fatalf("%d unserved stops, want point 0's", n)
	}
	sorted := printedRows(t, r, id, "sort-sheet.csv")
	if labelled := sumOf(printedRows(t, r, id, "labels.csv"), "units"); labelled != 6 || sumOf(sorted, "quantity") != 6 {
		t.Fatalf("labels hold %d units, the sort sheets sort %d; picked 6: %v", labelled, sumOf(sorted, "quantity"), sorted)
	}
	last := sorted[len(sorted)-1]
	if last["route"] != "" || last["stop"] != "1" || last["pickup_point"] != "自提点0" || last["quantity"] != "1" {
		t.Fatalf("the points no route serves: %v", last)
	}
	if _, err := r.Printout(context.Background(), id, "sort-sheet.pdf", PrintScope{}); err != nil {
		t.Fatal(err)
	}
}

// TestPrintoutsOfAPointMovedToAnotherWarehouse: a point moved to another
// warehouse after tonight's routes were planned is still a stop with a bag
// tonight; its label and route sheet still say where the bag goes.
func TestPrintoutsOfAPointMovedToAnotherWarehouse(t *testing.T) {
	c := riceNight(t, 2)
	r := printingRunner(t, c)
	id := c.Wave()
	runTo(t, r, id, wave.StageRoute)
	other := c.ID(`INSERT INTO warehouses (code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
		VALUES ('WH2', '新仓', '新仓路1号', 31.20, 121.50, 'Asia/Shanghai', '23:00', '07:00', '11:00') RETURNING id`)
	c.Exec(`UPDATE pickup_points SET warehouse_id = $1 WHERE id = $2`, other, c.Points[1].ID)
	if ok, err := r.RunStage(context.Background(), wave.StageReady, id); err != nil || !ok {
		t.Fatalf("ready: %v %v", ok, err)
	}
	for file, cols := range map[string][]string{"labels.csv": {"pickup_point", "leader"}, "route-sheet.csv": {"pickup_point", "address"},
		"sort-sheet.csv": {"pickup_point", "leader"}} {
		for _, row := range printedRows(t, r, id, file) {
			for _, col := range cols {
				if row[col] == "" {
					t.Errorf("%s: a row without its %s: %v", file, col, row)
				}
			}
		}
	}
}

// TestARouteNamedLikeAZoneIsRefused: a printout's stored scope joins route
// and zone, so route=ambient (or R01-ambient) would read the ambient
// zone's labels; only a route's code is taken.
func TestARouteNamedLikeAZoneIsRefused(t *testing.T) {
	c := riceNight(t, 2)
	r := printingRunner(t, c)
	id := c.Wave()
	runTo(t, r, id, wave.StageReady)
	if _, err := r.Printout(context.Background(), id, "labels.csv", PrintScope{Zone: fulfillment.Ambient}); err != nil {
		t.Fatal(err)
	}
	for _, route := range []string{"ambient", "R01-ambient", "R1", "R00"} {
		out, err := r.Printout(context.Background(), id, "labels.csv", PrintScope{Route: route})
		var e *apperr.Error
		if !errors.As(err, &e) || e.Field != "route" {
			t.Errorf("route %q: err %v, content:\n%s", route, err, out.Content)
		}
	}
	if _, err := r.Printout(context.Background(), id, "labels.csv", PrintScope{Route: "R01"}); err != nil {
		t.Fatalf("route R01: %v", err)
	}
}
