package main

import (
	"context"
	"fmt"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"net/http"
	"strings"
	"testing"
	"time"
)

// refundTotals is a wave's refunds as the API gives them.
type refundTotals struct {
	Lines     int64 `json:"lines"`
	Units     int64 `json:"units"`
	AmountFen int64 `json:"amount_fen"`
}

// TestWaveRefundsByReason: the wave's refunds are totalled per reason, so
// the shortage refund is only what allocation cut.
func TestWaveRefundsByReason(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	m.dispatch(c.staffToken("warehouse"))
	egg, dumpling := c.item("EGG"), c.item("DUMPLING")
	d0 := m.deliveryOf(0)
	receipt := map[string]any{"lines": []map[string]any{
		{"sale_item_id": egg.ID, "missing": 1},
		{"sale_item_id": dumpling.ID, "damaged": 1, "received": 5},
	}}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], receipt); r.Status != http.StatusOK {
		t.Fatalf("receipt: %d %s", r.Status, r.Body)
	}
	var wv struct {
		Refunds struct {
			refundTotals
			ByReason map[string]refundTotals `json:"by_reason"`
		}
	}
	r := c.do("GET", m.path, c.admin, nil)
	r.json(t, &wv)
	got := wv.Refunds
	// Eggs arrived 2 short (allocation cut one line by 2); leader 0 found 1
	// egg missing and 1 dumpling damaged.
	want := map[string]refundTotals{
		"shortage": {1, 2, 2 * 1890}, "missing": {1, 1, 1890}, "damaged": {1, 1, 1590}, "returned": {}, "after_sale": {},
	}
	if got.Units != 4 || got.AmountFen != 3*1890+1590 || len(got.ByReason) != len(want) {
		t.Fatalf("refunds %s", r.Body)
	}
	for reason, w := range want {
		if g, ok := got.ByReason[reason]; !ok || g != w {
			t.Errorf("refunds of reason %s: %+v, want %+v", reason, g, w)
		}
	}
}

// waitingFor is what a wave says it waits for.
type waitingFor struct {
	What    string `json:"what"`
	Message string `json:"message"`
}

// TestClosedWaveSaysWhatItWaitsFor: a closed wave without final receipts
// says it waits for them, and stops saying so once they are final.
func TestClosedWaveSaysWhatItWaitsFor(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	path := c.wavePath()
	c.placeOrder(0, "w", orderBody("13912345670", "张三", egg.ID, 2))
	type waveView struct {
		State      wave.State  `json:"state"`
		WaitingFor *waitingFor `json:"waiting_for"`
	}
	var w waveView
	c.do("GET", path, c.admin, nil).json(t, &w)
	if w.State != wave.Open || w.WaitingFor != nil {
		t.Fatalf("an open wave: %+v", w)
	}
	r := c.do("POST", path+"/close", c.admin, nil)
	r.json(t, &w)
	if w.State != wave.Closed || w.WaitingFor == nil || w.WaitingFor.What != "purchase" {
		t.Fatalf("a closed wave before its purchase stage: %s", r.Body)
	}
	var waveID int64
	if _, err := fmt.Sscanf(path, "/api/v1/ops/waves/%d", &waveID); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.app.waves.RunStage(context.Background(), wave.StagePurchase, waveID); err != nil || !ok {
		t.Fatalf("purchase: %v %v", ok, err)
	}
	r = c.do("GET", path, c.admin, nil)
	r.json(t, &w)
	if w.State != wave.Closed || w.WaitingFor == nil || w.WaitingFor.What != "receipts" ||
		!strings.Contains(w.WaitingFor.Message, "receipts") || !strings.Contains(w.WaitingFor.Message, path+"/receipts") {
		t.Fatalf("a closed wave without final receipts: %s", r.Body)
	}
	var list struct{ Waves []waveView }
	c.do("GET", "/api/v1/ops/waves?date="+c.date.String(), c.admin, nil).json(t, &list)
	if len(list.Waves) != 1 || list.Waves[0].WaitingFor == nil || list.Waves[0].WaitingFor.What != "receipts" {
		t.Fatalf("the wave list: %+v", list.Waves)
	}
	r = c.do("PUT", path+"/receipts", c.staffToken("warehouse"), map[string]any{"final": true, "items": []any{}})
	w = waveView{}
	r.json(t, &w)
	if r.Status != http.StatusOK || w.WaitingFor != nil {
		t.Fatalf("final receipts: %d %s", r.Status, r.Body)
	}
}

// TestManualCloseNamesTheCloseTime: after ops close a wave early, refused
// orders and cancellations name the time it was closed, not the cutoff it
// never reached.
func TestManualCloseNamesTheCloseTime(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	path := c.wavePath()
	r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345671", "李四", egg.ID, 1), "Idempotency-Key", "m1")
	var order struct{ ID int64 }
	r.json(t, &order)
	c.clock.Advance(20 * time.Minute) // 22:20 in Shanghai; the cutoff is 23:00
	var w wave.Wave
	c.do("POST", path+"/close", c.admin, nil).json(t, &w)
	if w.ClosedAt == nil || !w.ClosedAt.Before(w.CutoffAt) {
		t.Fatalf("manual close: %+v", w)
	}
	c.clock.Advance(5 * time.Minute)
	for _, tc := range []struct {
		what string
		r    response
	}{
		{"a later order", c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345671", "李四", egg.ID, 1), "Idempotency-Key", "m2")},
		{"a cancellation", c.do("POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", order.ID), c.leaders[0], nil)},
	} {
		var env struct {
			Error struct {
				Code    string    `json:"code"`
				Message string    `json:"message"`
				Cutoff  time.Time `json:"cutoff"`
			} `json:"error"`
		}
		tc.r.json(t, &env)
		e := env.Error
		if tc.r.Status != http.StatusUnprocessableEntity || e.Code != "cutoff_passed" || !e.Cutoff.Equal(*w.ClosedAt) ||
			!strings.Contains(e.Message, "2026-11-30 22:20 CST") {
			t.Errorf("%s after the manual close at %s: %d %s", tc.what, w.ClosedAt, tc.r.Status, tc.r.Body)
		}
	}
	// The leader's catalog says when ordering really ended, too.
	var cat catalog.Catalog
	c.do("GET", "/api/v1/leader/catalog?date="+c.date.String(), c.leaders[0], nil).json(t, &cat)
	if cat.Open || !cat.Cutoff.Equal(*w.ClosedAt) {
		t.Errorf("catalog after the manual close at %s: open %v, cutoff %s", w.ClosedAt, cat.Open, cat.Cutoff)
	}
}
