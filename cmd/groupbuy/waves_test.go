package main

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
)

// TestCutoffClosesOnce runs three worker processes, each with its own asynq
// server and scheduler sweeping every second, while leaders keep ordering
// through the API and the wave's cutoff passes on the real clock: the wave
// closes exactly once, every order acknowledged before the cutoff is in it,
// and every order sent after it is refused.
func TestCutoffClosesOnce(t *testing.T) {
	c := newTestCityOn(t, 10, clock.System{})
	egg, rice := c.item("EGG"), c.item("RICE")
	var waves struct{ Waves []wave.Wave }
	c.do("GET", "/api/v1/ops/waves?date=2026-12-01", c.admin, nil).json(t, &waves)
	if len(waves.Waves) != 1 || waves.Waves[0].State != wave.Open || !waves.Waves[0].CutoffAt.Equal(testCutoffUTC) {
		t.Fatalf("the published sale should have opened one wave: %+v", waves.Waves)
	}
	waveID := waves.Waves[0].ID
	for _, it := range []int64{egg.ID, rice.ID} {
		if r := c.do("PATCH", fmt.Sprintf("/api/v1/ops/sale-items/%d", it), c.admin, map[string]any{"stock_cap": 1_000_000}); r.Status != http.StatusOK {
			t.Fatalf("cap: %d %s", r.Status, r.Body)
		}
	}
	// Bring the cutoff to a few seconds from now, to the microsecond PostgreSQL keeps.
	cutoff := time.Now().Add(3 * time.Second).Truncate(time.Microsecond)
	if _, err := c.app.db.Exec(`UPDATE waves SET cutoff_at = $2 WHERE id = $1`, waveID, cutoff); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		startWorker(t, c.app.cfg.DatabaseURL, c.app.cfg.RedisURL, "GROUPBUY_SWEEP_EVERY=1s")
	}

	var accepted, refusedAfter, other atomic.Int64
	var firing sync.WaitGroup
	done := make(chan struct{})
	for l := range 10 {
		firing.Add(1)
		go func() {
			defer firing.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				sent := time.Now()
				r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("1590%02d%05d", l, i), "居民", egg.ID, 1, rice.ID, 1),
					"Idempotency-Key", fmt.Sprintf("cut-%d", i))
				answered := time.Now()
				switch {
				case r.Status == http.StatusCreated:
					accepted.Add(1)
					if sent.After(cutoff) {
						other.Add(1)
						t.Errorf("an order sent %s after the cutoff was accepted", sent.Sub(cutoff))
					}
				case r.Status == http.StatusUnprocessableEntity && r.errorCode(t) == "cutoff_passed":
					if answered.Before(cutoff) {
						other.Add(1)
						t.Errorf("an order answered %s before the cutoff was refused", cutoff.Sub(answered))
					} else if sent.After(cutoff) {
						refusedAfter.Add(1)
					}
				default:
					other.Add(1)
					t.Errorf("unexpected answer %d %s", r.Status, r.Body)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}

	deadline := time.Now().Add(30 * time.Second)
	for {
		w, err := wave.Get(context.Background(), c.app.db, waveID)
		if err != nil {
			t.Fatal(err)
		}
		if w.State == wave.Closed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no worker closed the wave")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(2500 * time.Millisecond) // more sweeps from every scheduler, and more late orders
	close(done)
	firing.Wait()

	w, err := wave.Get(context.Background(), c.app.db, waveID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("accepted %d, refused after cutoff %d; wave %+v", accepted.Load(), refusedAfter.Load(), w)
	if other.Load() != 0 || refusedAfter.Load() == 0 || accepted.Load() == 0 {
		t.Fatalf("accepted %d, refused after %d, other %d", accepted.Load(), refusedAfter.Load(), other.Load())
	}
	if w.Orders != accepted.Load() || int64(c.count("orders")) != accepted.Load() || w.Units != 2*accepted.Load() {
		t.Fatalf("wave totals %d orders / %d units, rows %d, acknowledged %d", w.Orders, w.Units, c.count("orders"), accepted.Load())
	}
	var closes []wave.StageRecord
	for _, st := range w.Stages {
		if st.Stage == wave.StageClose {
			closes = append(closes, st)
		}
	}
	if len(closes) != 1 || closes[0].Attempts != 1 || closes[0].LastError != "" || w.ClosedAt.Before(cutoff) {
		t.Fatalf("the close stage ran %+v (closed at %s, cutoff %s), want exactly once after the cutoff", closes, w.ClosedAt, cutoff)
	}
}

func TestManualCloseAndRerun(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	path := c.wavePath()
	c.placeOrder(0, "a", orderBody("13912345678", "张三", egg.ID, 3))
	if r := c.do("POST", path+"/close", c.staffToken("warehouse"), nil); r.Status != http.StatusForbidden {
		t.Fatalf("warehouse role closing: %d %s", r.Status, r.Body)
	}
	var w wave.Wave
	r := c.do("POST", path+"/close", c.admin, nil)
	r.json(t, &w)
	if r.Status != http.StatusOK || w.State != wave.Closed || w.Orders != 1 || w.Units != 3 || w.AmountFen != 3*1890 {
		t.Fatalf("manual close before cutoff: %d %s", r.Status, r.Body)
	}
	// Closed early by ops: ordering and cancelling stop though the cutoff is hours away.
	if r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345678", "张三", egg.ID, 1), "Idempotency-Key", "b"); r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "cutoff_passed" {
		t.Fatalf("order into a closed wave: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", "/api/v1/leader/orders/1/cancel", c.leaders[0], nil); r.Status != http.StatusUnprocessableEntity {
		t.Fatalf("cancel in a closed wave: %d %s", r.Status, r.Body)
	}
	// The sale is frozen and the catalog says so.
	var cat catalog.Catalog
	c.do("GET", "/api/v1/leader/catalog?date=2026-12-01", c.leaders[0], nil).json(t, &cat)
	if cat.Open {
		t.Fatal("the catalog says open after ops closed the wave")
	}
	if r := c.do("PATCH", fmt.Sprintf("/api/v1/ops/sale-items/%d", egg.ID), c.admin, map[string]any{"stock_cap": 5000}); r.Status != http.StatusConflict || r.errorCode(t) != "wave_closed" {
		t.Fatalf("cap change after close: %d %s", r.Status, r.Body)
	}
	pub := map[string]any{"warehouse_id": c.warehous.ID, "delivery_date": "2026-12-01", "items": []map[string]any{{"sku": "EGG", "price_fen": 1, "stock_cap": 1}}}
	if r := c.do("POST", "/api/v1/ops/sale-items", c.admin, pub); r.Status != http.StatusConflict || r.errorCode(t) != "wave_closed" {
		t.Fatalf("publish after close: %d %s", r.Status, r.Body)
	}
	// Closing again changes nothing.
	r = c.do("POST", path+"/close", c.admin, nil)
	var again wave.Wave
	r.json(t, &again)
	if r.Status != http.StatusOK || !again.ClosedAt.Equal(*w.ClosedAt) || again.Stages[0].Attempts != 1 {
		t.Fatalf("second close: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", path+"/stages/close/rerun", c.admin, nil); r.Status != http.StatusAccepted {
		t.Fatalf("rerun: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", path+"/stages/teleport/rerun", c.admin, nil); r.Status != http.StatusBadRequest {
		t.Fatalf("rerun of an unknown stage: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/waves/999", c.admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("missing wave: %d %s", r.Status, r.Body)
	}
}
