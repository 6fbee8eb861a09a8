package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/wave"
	"net/http"
	"testing"
	"time"
)

// TestAllocationRefundsShortLines: the warehouse receives 5 of the 9 eggs
// sold; with first come first served the latest orders are cut, the refund
// stage after the pick writes one refund row per cut and one notice per
// affected resident, and running either stage again (a duplicate task, a
// retry) adds nothing.
func TestAllocationRefundsShortLines(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 3)
	egg, rice := c.item("EGG"), c.item("RICE")
	orders := []struct {
		leader int
		phone  string
		qty    int64
	}{{0, "13900000001", 2}, {1, "13900000002", 2}, {2, "13900000003", 1}, {0, "13900000004", 3}, {1, "13900000002", 1}}
	for i, o := range orders {
		c.clock.Advance(time.Minute) // distinct order times
		c.placeOrder(o.leader, fmt.Sprintf("o%d", i), orderBody(o.phone, "居民", egg.ID, o.qty, rice.ID, 1))
	}
	var waves struct{ Waves []wave.Wave }
	c.do("GET", "/api/v1/ops/waves?date=2026-12-01", c.admin, nil).json(t, &waves)
	path := fmt.Sprintf("/api/v1/ops/waves/%d", waves.Waves[0].ID)
	receipts := map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 5}, {"sale_item_id": rice.ID, "received": 5}}}

	// Receipts may come before the close; allocation waits for both.
	if r := c.do("PUT", path+"/receipts", c.staffToken("warehouse"), receipts); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"items": []map[string]any{{"sale_item_id": 99999, "received": 1}}}); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("foreign sale item: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", path+"/close", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	waveID := waves.Waves[0].ID
	if _, err := c.app.waves.RunStage(context.Background(), wave.StagePurchase, waveID); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the task and a duplicate of it
		if _, err := c.app.waves.RunStage(context.Background(), wave.StageAllocate, waveID); err != nil {
			t.Fatal(err)
		}
	}
	var w wave.Wave
	c.do("GET", path, c.admin, nil).json(t, &w)
	// Eggs in order: 2, 2, 1 (=5 received), then 3 and 1 are cut whole; the
	// refund stage, after the pick, refunds them.
	var cut, notices, refundRows int
	must := func(q string, v *int) {
		if err := c.app.db.Get(v, q); err != nil {
			t.Fatal(err)
		}
	}
	must(`SELECT coalesce(sum(cut), 0) FROM line_cuts`, &cut)
	if w.State != wave.Allocated || cut != 4 || w.Refunds.Lines != 0 {
		t.Fatalf("after allocation: %+v, %d units cut", w, cut)
	}
	// A rerun of the stage changes nothing; receipts are frozen now.
	if r := c.do("POST", path+"/stages/allocate/rerun", c.admin, nil); r.Status != http.StatusAccepted {
		t.Fatalf("rerun: %d %s", r.Status, r.Body)
	}
	if _, err := c.app.waves.RunStage(context.Background(), wave.StageAllocate, waveID); err != nil {
		t.Fatal(err)
	}
	must(`SELECT coalesce(sum(cut), 0) FROM line_cuts`, &cut)
	if cut != 4 {
		t.Fatalf("rerun cut again: %d units", cut)
	}
	if r := c.do("PUT", path+"/receipts", c.admin, receipts); r.Status != http.StatusConflict {
		t.Fatalf("receipts after allocation: %d %s", r.Status, r.Body)
	}

	// The pick plan holds what allocation left: 5 eggs and 5 rice.
	for range 2 {
		if _, err := c.app.waves.RunStage(context.Background(), wave.StagePick, waveID); err != nil {
			t.Fatal(err)
		}
	}
	var plan struct {
		SortUnits  int64 `db:"sort_units"`
		PickUnits  int64 `db:"pick_units"`
		PickLines  int64 `db:"pick_lines"`
		Bags       int64 `db:"bags"`
		BagUnits   int64 `db:"bag_units"`
		BagWeightG int64 `db:"bag_weight"`
	}
	if err := c.app.db.Get(&plan, `SELECT (SELECT sum(quantity) FROM sort_line_skus) AS sort_units,
		(SELECT sum(quantity) FROM pick_lines) AS pick_units, (SELECT count(*) FROM pick_lines) AS pick_lines,
		(SELECT count(*) FROM bags) AS bags, (SELECT sum(units) FROM bags) AS bag_units, (SELECT sum(weight_g) FROM bags) AS bag_weight`); err != nil {
		t.Fatal(err)
	}
	// Three points, each with eggs (chilled) and rice (ambient): six bags.
	if plan.SortUnits != 10 || plan.PickUnits != 10 || plan.PickLines != 2 || plan.Bags != 6 || plan.BagUnits != 10 || plan.BagWeightG != 5*900+5*5000 {
		t.Fatalf("pick plan %+v", plan)
	}
	for range 2 { // the task and a duplicate of it
		if _, err := c.app.waves.RunStage(context.Background(), wave.StageRefund, waveID); err != nil {
			t.Fatal(err)
		}
	}
	c.do("GET", path, c.admin, nil).json(t, &w)
	if w.State != wave.Picked || len(w.Stages) != 5 || w.Refunds.Lines != 2 || w.Refunds.Units != 4 || w.Refunds.AmountFen != 4*1890 {
		t.Fatalf("after pick and refund: %+v", w)
	}
	must(`SELECT count(*) FROM outbox WHERE kind = 'refund'`, &notices)
	must(`SELECT count(*) FROM refunds`, &refundRows)
	if notices != 2 || refundRows != 2 {
		t.Fatalf("%d notices, %d refund rows", notices, refundRows)
	}
	var latePhone string
	must2 := c.app.db.Get(&latePhone, `SELECT r.phone FROM refunds f JOIN residents r ON r.id = f.resident_id ORDER BY f.quantity DESC LIMIT 1`)
	if must2 != nil || latePhone != "13900000004" {
		t.Fatalf("the 3-egg refund went to %q (%v), want the fourth order's resident", latePhone, must2)
	}
	for _, st := range w.Stages {
		if st.Attempts != 1 || st.LastError != "" || st.RowsDone != st.RowsTotal {
			t.Fatalf("stage %+v", st)
		}
	}
}
