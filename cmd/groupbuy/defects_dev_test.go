package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
)

// TestDemoCityRunsAWholeNight seeds the demo city of `groupbuy dev`, orders
// at every one of its 200 pickup points, and runs the night through the
// worker: cutoff, receipts, allocation, pick, routes for every point, ready;
// then the trucks leave and a leader receives the first delivery.
func TestDemoCityRunsAWholeNight(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := clock.NewManual(beforeCutoff) // 22:00 in Shanghai: tomorrow is the test date
	cfg := config.Config{DatabaseURL: testenv.NewDatabase(t), RedisURL: testenv.Redis(t), DBMaxConns: 40,
		TokenTTL: time.Second, RouteBudget: 8 * time.Second}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := startApp(t, cfg, log, clock)
	srv := apiServer(t, a)
	if err := demo.SeedCity(ctx, a.demoServices()); err != nil {
		t.Fatal(err)
	}
	c := &testCity{t: t, app: a, srv: srv, clock: clock, date: demo.Tomorrow(clock)}
	if c.date != testDate {
		t.Fatalf("the demo sale is for %s, want %s", c.date, testDate)
	}
	var err error
	if c.admin, _, err = auth.IssueToken(ctx, a.db, clock.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "test admin"}); err != nil {
		t.Fatal(err)
	}
	if c.warehous, err = pickup.WarehouseByCode(ctx, a.db, demo.Warehouse.Code); err != nil {
		t.Fatal(err)
	}
	items, err := catalog.ListSaleItems(ctx, a.db, c.warehous.ID, c.date)
	if err != nil || len(items) < 300 {
		t.Fatalf("the demo sale: %d items, %v", len(items), err)
	}

	// Five residents at each point order three things each.
	var leaders []int64
	if err := a.db.Select(&leaders, `SELECT leader_id FROM pickup_points WHERE warehouse_id = $1 ORDER BY id`, c.warehous.ID); err != nil {
		t.Fatal(err)
	}
	if len(leaders) != 200 {
		t.Fatalf("%d demo points, want 200", len(leaders))
	}
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				token, err := a.pickup.IssueLeaderToken(ctx, leaders[p])
				if err != nil {
					t.Error(err)
					continue
				}
				rng := rand.New(rand.NewPCG(uint64(p), 7))
				for i := range 5 {
					var lines []int64
					for _, k := range rng.Perm(len(items))[:3] {
						lines = append(lines, items[k].ID, int64(1+rng.IntN(2)))
					}
					body := orderBody(fmt.Sprintf("1360%03d%04d", p, i), fmt.Sprintf("居民%d", i), lines...)
					if r := c.do("POST", "/api/v1/leader/orders", token, body, "Idempotency-Key", fmt.Sprintf("demo-%d", i)); r.Status != http.StatusCreated {
						t.Errorf("order at point %d: %d %s", p, r.Status, r.Body)
					}
				}
			}
		}()
	}
	for p := range leaders {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	path := c.wavePath()
	startNightWorker(t, a)
	clock.Set(testCutoffUTC.Add(time.Minute))
	waitWave := func(what string, done func(wave.Wave) bool) wave.Wave {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for {
			var w wave.Wave
			c.do("GET", path, c.admin, nil).json(t, &w)
			if done(w) {
				return w
			}
			for _, st := range w.Stages {
				if st.LastError != "" {
					t.Fatalf("%s: the %s stage failed: %s", what, st.Stage, st.LastError)
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the night stalled at %s", what, w.State)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitWave("cutoff", func(w wave.Wave) bool { return w.State == wave.Closed })
	// The warehouse received everything but a tenth of one SKU.
	short := items[0]
	for _, it := range items {
		if sold := c.sold(it.ID); sold >= 10 {
			short = it
			break
		}
	}
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"final": true,
		"items": []map[string]any{{"sale_item_id": short.ID, "received": c.sold(short.ID) * 9 / 10}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	wv := waitWave("after receipts", func(w wave.Wave) bool { return w.State == wave.Ready })
	if wv.Orders != 1000 || wv.Refunds.ByReason[fulfillment.ReasonShortage].Units == 0 {
		t.Fatalf("the demo night: %d orders, refunds %+v", wv.Orders, wv.Refunds)
	}
	var plan routeplan.WaveRoutes
	c.do("GET", path+"/routes", c.admin, nil).json(t, &plan)
	stops := 0
	for _, r := range plan.Routes {
		stops += len(r.Stops)
	}
	if stops != 200 || len(plan.Unserved) != 0 {
		t.Fatalf("routes for %d of 200 points in %d routes; unserved %+v", stops, len(plan.Routes), plan.Unserved)
	}

	// The last mile: the trucks leave, the first stop is reached, its leader receives all.
	if r := c.do("POST", path+"/dispatch", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	first := plan.Routes[0]
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/stops/1/arrive", first.ID), c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("arrive: %d %s", r.Status, r.Body)
	}
	var leader int64
	if err := a.db.Get(&leader, `SELECT leader_id FROM pickup_points WHERE id = $1`, first.Stops[0].PickupPointID); err != nil {
		t.Fatal(err)
	}
	token, err := a.pickup.IssueLeaderToken(ctx, leader)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Deliveries []lastmile.Delivery }
	c.do("GET", "/api/v1/leader/deliveries?date="+c.date.String(), token, nil).json(t, &out)
	if len(out.Deliveries) != 1 {
		t.Fatalf("the first stop's leader sees %d deliveries", len(out.Deliveries))
	}
	r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", out.Deliveries[0].ID), token, map[string]any{"lines": []any{}})
	if r.Status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	t.Logf("the demo night: %d orders, %d routes, %d points", wv.Orders, len(plan.Routes), stops)
}
