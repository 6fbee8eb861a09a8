package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment"
)

// TestManualCloseNamesTheCloseTime: after ops close a wave early, refused
// orders and cancellations name the time it was closed, not the cutoff it
// never reached.
func TestManualCloseNamesTheCloseTime(t *testing.T) {
	c := newTestCity(t, 1)
	egg := c.item("EGG")
	path := c.wavePath()
	r := c.do("POST", "/api/v1/leader/orders", c.leaders[0], orderBody("13912345671", "李四", egg.ID, 1), "Idempotency-Key", "m1")
	var order struct{ ID int64 }
	r.json(t, &order)
	c.clock.Advance(20 * time.Minute) // 22:20 in Shanghai; the cutoff is 23:00
	var w fulfillment.Wave
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
}
