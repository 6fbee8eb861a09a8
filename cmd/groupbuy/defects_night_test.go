package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"net/http"
	"testing"
	"time"
)

// startNightWorker runs the worker of a's processes until the test ends,
// sweeping for due waves every second.
func startNightWorker(t *testing.T, a *app) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	w, err := newWorker(a, workerOptions{sweepEvery: time.Second, syncInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan struct{})
	go func() { _ = w.run(ctx); close(stopped) }()
	t.Cleanup(func() { stop(); <-stopped })
}

// TestStageTimesFollowTheAttempts runs a night on a clock that runs: every
// stage's started_at is when its attempt began and finished_at when it
// committed, the route stage stops well before its budget once the solver
// no longer improves, and any progress it reports while the solver runs is
// seconds of that budget.
func TestStageTimesFollowTheAttempts(t *testing.T) {
	// At the wall clock's pace from the test's evening, so a night's stage
	// times measure real work on the test's calendar.
	clock := clock.NewAccelerated(beforeCutoff, 1)
	c := newTestCityOn(t, 6, clock)
	egg, rice := c.item("EGG"), c.item("RICE")
	c.addVans("冷藏车", 3)
	for l := range c.leaders {
		for i := range 2 {
			body := orderBody(fmt.Sprintf("1594%02d%05d", l, i), "居民", egg.ID, int64(1+i), rice.ID, 1)
			c.placeOrder(l, fmt.Sprintf("st%d", i), body)
		}
	}
	path := c.wavePath()
	// Eggs arrive short, so allocation cuts lines and reports its steps.
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": c.sold(egg.ID) - 3}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	var waveID int64
	if _, err := fmt.Sscanf(path, "/api/v1/ops/waves/%d", &waveID); err != nil {
		t.Fatal(err)
	}

	startNightWorker(t, c.app)
	clock.Set(testCutoffUTC.Add(time.Minute))
	var wv wave.Wave
	var solving []wave.StageRecord // the route stage seen started and not finished
	deadline := time.Now().Add(60 * time.Second)
	for wv.State != wave.Ready {
		if time.Now().After(deadline) {
			t.Fatalf("the night stalled: %+v", wv)
		}
		time.Sleep(20 * time.Millisecond)
		var err error
		if wv, err = wave.Get(context.Background(), c.app.db, waveID); err != nil {
			t.Fatal(err)
		}
		for _, st := range wv.Stages {
			if st.Stage == wave.StageRoute && st.StartedAt != nil && st.FinishedAt == nil {
				solving = append(solving, st)
			}
		}
	}

	if len(wv.Stages) != len(wave.Stages) {
		t.Fatalf("stages %+v", wv.Stages)
	}
	for _, st := range wv.Stages {
		if st.StartedAt == nil || st.FinishedAt == nil || st.FinishedAt.Before(*st.StartedAt) || st.Attempts != 1 {
			t.Errorf("stage %s: started %v, finished %v, %d attempts", st.Stage, st.StartedAt, st.FinishedAt, st.Attempts)
		}
		if st.Stage == wave.StageRoute {
			// The test city's route budget is 2 s; on its 6 stops the solver
			// stops long before, when it no longer improves.
			if took := st.FinishedAt.Sub(*st.StartedAt); took > 2*time.Second {
				t.Errorf("the route stage took %v from start to commit, want it done within its 2 s budget", took)
			}
		}
	}
	for _, st := range solving {
		if st.RowsTotal != 2 || st.RowsDone > st.RowsTotal {
			t.Fatalf("route progress while solving: %+v, want seconds of a 2 s budget", st)
		}
	}
}
