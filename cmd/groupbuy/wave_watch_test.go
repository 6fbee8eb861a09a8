package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"groupbuy/fulfillment/wave"
)

// TestAWaveYouCanWatch: an open wave's GET shows its orders so far, kept by
// the order transactions (concurrent ones and a cancel included), equal to
// what its close freezes; its timeline says who closed it by hand and the
// receipts and stages that followed.
func TestAWaveYouCanWatch(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 4)
	egg, rice := c.item("EGG"), c.item("RICE")
	path := c.wavePath()
	var wg sync.WaitGroup
	for l := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 5 {
				body := orderBody(fmt.Sprintf("1597%02d%05d", l, i), "居民", egg.ID, 2, rice.ID, 1)
				if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", fmt.Sprintf("w%d", i)); r.Status != http.StatusCreated {
					t.Errorf("order: %d %s", r.Status, r.Body)
				}
			}
		}()
	}
	wg.Wait()
	var orders struct{ Orders []struct{ ID int64 } }
	c.do("GET", "/api/v1/leader/orders?date="+c.date.String(), c.leaders[0], nil).json(t, &orders)
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", orders.Orders[0].ID), c.leaders[0], nil); r.Status != http.StatusOK {
		t.Fatalf("cancel: %d %s", r.Status, r.Body)
	}
	var w wave.Wave
	c.do("GET", path, c.admin, nil).json(t, &w)
	want := wave.Totals{Orders: 19, Lines: 38, Units: 57, AmountFen: 19 * (2*1890 + 3990)}
	if w.State != wave.Open || !w.TotalsLive || w.Totals != want {
		t.Fatalf("open wave: live %v %+v, want %+v", w.TotalsLive, w.Totals, want)
	}
	if len(w.Timeline) != 1 || w.Timeline[0].Kind != wave.EventOpened {
		t.Fatalf("timeline of the open wave: %+v", w.Timeline)
	}

	if r := c.do("POST", path+"/close", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}
	if r := c.do("PUT", path+"/receipts", c.staffToken("warehouse"), map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 30}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	w = wave.Wave{}
	c.do("GET", path, c.admin, nil).json(t, &w)
	if w.State != wave.Closed || w.TotalsLive || w.Totals != want {
		t.Fatalf("closed wave: live %v %+v, want the frozen %+v", w.TotalsLive, w.Totals, want)
	}
	kinds := map[wave.EventKind]wave.Event{}
	for _, e := range w.Timeline {
		kinds[e.Kind] = e
	}
	if e, ok := kinds[wave.EventClosedByHand]; !ok || e.Actor != "admin:test admin" || e.RequestID == "" {
		t.Fatalf("no close by hand in %+v", w.Timeline)
	}
	if e, ok := kinds[wave.EventReceipts]; !ok || e.Actor != "warehouse:warehouse staff" || e.Detail != "final, policy fcfs" {
		t.Fatalf("no receipts in %+v", w.Timeline)
	}
	c.addVans("冷藏车", 2)
	w = runNightToReady(t, c, path)
	started, finished := 0, 0
	for _, e := range w.Timeline {
		switch e.Kind {
		case wave.EventStageStarted:
			started++
		case wave.EventStageFinished:
			finished++
			// Ops ran the close; the worker ran the rest.
			if want := map[bool]string{true: "admin:test admin"}[e.Stage == wave.StageClose]; e.Actor != want {
				t.Errorf("stage %s finished by %q, want %q", e.Stage, e.Actor, want)
			}
		}
	}
	if want := len(wave.Stages); started != want || finished != want {
		t.Fatalf("%d stages started, %d finished, want %d each: %+v", started, finished, len(wave.Stages), w.Timeline)
	}
}
