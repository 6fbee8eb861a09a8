package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"net/http"
	"testing"
	"time"
)

// TestNightRunsThroughStages drives one wave from cutoff to ready through the
// worker's tasks: close, allocate (receipts final), pick, route, ready.
func TestNightRunsThroughStages(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 8)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	van := map[string]any{"code": "VAN", "name": "1.5吨冷藏厢式车", "chilled": true, "frozen": true, "count": 3, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150}
	c.addVehicleType(van)
	for l := range 8 {
		for i := range 3 {
			body := orderBody(fmt.Sprintf("1591%02d%05d", l, i), "居民", egg.ID, int64(1+i), rice.ID, 1, dumpling.ID, 2)
			c.placeOrder(l, fmt.Sprintf("n%d", i), body)
		}
	}
	path := c.wavePath()
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "even", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 40}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}

	wv := runNightToReady(t, c, path)
	// 48 eggs sold, 40 received, spread evenly over 8 points: each point keeps 5 of its 6.
	if wv.Refunds.Units != 8 || len(wv.Stages) != len(wave.Stages) {
		t.Fatalf("wave %+v", wv)
	}
	var plan routeplan.WaveRoutes
	c.do("GET", path+"/routes", c.admin, nil).json(t, &plan)
	if len(plan.Unserved) != 0 || len(plan.Routes) == 0 {
		t.Fatalf("routes %+v", plan)
	}
	loc, _ := time.LoadLocation("Asia/Shanghai")
	windowStart := time.Date(2026, 12, 1, 7, 0, 0, 0, loc)
	windowEnd := time.Date(2026, 12, 1, 10, 0, 0, 0, loc)
	seen := map[int64]bool{}
	var weight int64
	for _, r := range plan.Routes {
		if r.WeightG > 1_500_000 {
			t.Fatalf("route %s overloaded: %d g", r.Code, r.WeightG)
		}
		for _, s := range r.Stops {
			if seen[s.PickupPointID] {
				t.Fatalf("point %d visited twice", s.PickupPointID)
			}
			seen[s.PickupPointID] = true
			weight += s.WeightG
			if s.StartAt.Before(windowStart) || s.StartAt.After(windowEnd) {
				t.Fatalf("stop %d served at %s, outside the delivery window", s.PickupPointID, s.StartAt.In(loc))
			}
		}
	}
	var bagWeight int64
	if err := c.app.db.Get(&bagWeight, `SELECT sum(weight_g) FROM bags`); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 8 || weight != bagWeight {
		t.Fatalf("%d points routed, %d g routed of %d g bagged", len(seen), weight, bagWeight)
	}

	// The pick list walks bins within each zone; the sort plan puts every unit on a route's stop.
	var pick struct{ Lines []night.PickLine }
	c.do("GET", path+"/pick-list", c.staffToken("warehouse"), nil).json(t, &pick)
	var sorted struct{ Lines []night.SortLine }
	c.do("GET", path+"/sort-plan", c.admin, nil).json(t, &sorted)
	var picked, sortedUnits int64
	for i, l := range pick.Lines {
		picked += l.Quantity
		if i > 0 && (l.Zone < pick.Lines[i-1].Zone || (l.Zone == pick.Lines[i-1].Zone && l.Bin < pick.Lines[i-1].Bin)) {
			t.Fatalf("pick list out of walking order at %d: %+v", i, l)
		}
	}
	for _, l := range sorted.Lines {
		sortedUnits += l.Quantity
		if l.RouteCode == "" || l.Seq == 0 {
			t.Fatalf("sort line without a route stop: %+v", l)
		}
	}
	// 8 points × 3 orders × (eggs 1+2+3 → 5 kept of 6, 1 rice, 2 dumplings) = 8 × (5 + 3 + 6).
	if picked != 8*(5+3+6) || sortedUnits != picked || len(pick.Lines) != 3 {
		t.Fatalf("picked %d, sorted %d, %d pick lines", picked, sortedUnits, len(pick.Lines))
	}
	if r := c.do("GET", path+"/pick-list?zone=warm", c.admin, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("bad zone: %d %s", r.Status, r.Body)
	}
}

// runNightToReady starts a worker and waits until the wave at path is ready.
func runNightToReady(t *testing.T, c *testCity, path string) wave.Wave {
	t.Helper()
	startNight(t, c)
	var wv wave.Wave
	deadline := time.Now().Add(60 * time.Second)
	for wv.State != wave.Ready {
		if time.Now().After(deadline) {
			t.Fatalf("the night stalled: %+v", wv)
		}
		time.Sleep(100 * time.Millisecond)
		c.do("GET", path, c.admin, nil).json(t, &wv)
	}
	return wv
}

// startNight starts a worker for the test and moves the clock past the
// cutoff: the night runs on its own from there.
func startNight(t *testing.T, c *testCity) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	w, err := newWorker(c.app, workerOptions{sweepEvery: time.Second, syncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { _ = w.run(ctx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })
	c.clock.Set(testCutoffUTC.Add(time.Minute))
}
