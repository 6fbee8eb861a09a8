package lastmile_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile/lastmiletest"
	"groupbuy/pickup"
)

// TestCollectReadsOnlyItsNightsPartitions: a collection knows its nights,
// yet its statements (the lines' update, the commission's accrual, the
// read back, the code lookup) planned and scanned every night's partitions,
// some 150 at 90 days' retention, on the morning's hot path. Each statement
// of a real Collect may touch the code's life of nights and a few around it
// (a day either way for the zone, a day ahead), no more.
func TestCollectReadsOnlyItsNightsPartitions(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	db, plans := c.Explained()
	desk := lastmiletest.NewDesk(t, db, clk)
	parcels, err := desk.Collect(ctx, c.Points[0].Leader, code, nil)
	if err != nil || len(parcels) != 1 {
		t.Fatalf("collect: %+v %v", parcels, err)
	}
	if plans.Count() == 0 {
		t.Fatal("no plan came back")
	}
	for _, q := range plans.Wide(pickup.CodeLifeDays + 4) {
		t.Errorf("scans every night's partitions: %s", q)
	}
}

// TestTheReturnsSweepMarksOnlyItsNightsPartitions: the evening sweep
// marks the parcels it returns by line and night; by line alone, its update
// planned and locked every night's partitions. (Finding the waiting
// parcels reads every night's, once an evening: parcels a stopped worker
// left waiting longer than a code lives still go back.)
func TestTheReturnsSweepMarksOnlyItsNightsPartitions(t *testing.T) {
	c, clk := received(t)
	db, plans := c.Explained()
	desk := lastmiletest.NewDesk(t, db, clk)
	clk.Set(fulfillmenttest.Now.Add(5 * 24 * time.Hour))
	if res, err := desk.Sweep(context.Background()); err != nil || res.Returned != 2 {
		t.Fatalf("sweep: %+v %v", res, err)
	}
	for _, q := range plans.Wide(pickup.CodeLifeDays + 4) {
		if strings.HasPrefix(q, "UPDATE") {
			t.Errorf("scans every night's partitions: %s", q)
		}
	}
}
