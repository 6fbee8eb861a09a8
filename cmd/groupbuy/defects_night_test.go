package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/wave"
	"net/http"
	"sync"
	"testing"
	"time"
)

// runningClock runs at the wall clock's pace from a time the test sets, so
// a night's stage times measure real work on the test's calendar.
type runningClock struct {
	mu    sync.Mutex
	base  time.Time
	since time.Time
}

func newRunningClock(t time.Time) *runningClock {
	return &runningClock{base: t.UTC(), since: time.Now()}
}

func (c *runningClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.base.Add(time.Since(c.since)).UTC()
}

// Set moves the clock to t, from where it runs on.
func (c *runningClock) Set(t time.Time) {
	c.mu.Lock()
	c.base, c.since = t.UTC(), time.Now()
	c.mu.Unlock()
}

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
	clock := newRunningClock(beforeCutoff)
	c := newTestCityOn(t, 6, clock)
	egg, rice := c.item("EGG"), c.item("RICE")
	c.addVehicleType(map[string]any{"code": "VAN", "name": "冷藏车", "chilled": true, "frozen": true, "count": 3, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00"})
	for l := range c.leaders {
		for i := range 2 {
			body := orderBody(fmt.Sprintf("1594%02d%05d", l, i), "居民", egg.ID, int64(1+i), rice.ID, 1)
			if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", fmt.Sprintf("st%d", i)); r.Status != http.StatusCreated {
				t.Fatalf("order: %d %s", r.Status, r.Body)
			}
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

	if len(wv.Stages) != 6 {
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
