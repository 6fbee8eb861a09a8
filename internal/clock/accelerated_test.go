package clock

import (
	"context"
	"testing"
	"time"
)

// TestAcceleratedRunsAheadAndAwaits: at 3600 times the wall clock's pace, a
// wall-clock millisecond is at least 3.6 s of the clock's; Set moves it and
// it runs on from there; Await returns once the clock reads the time, and
// at once for a time passed.
func TestAcceleratedRunsAheadAndAwaits(t *testing.T) {
	start := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	c := NewAccelerated(start, 3600)
	time.Sleep(time.Millisecond)
	if got := c.Now(); got.Sub(start) < 3600*time.Millisecond {
		t.Fatalf("after a millisecond the clock reads %v, %v after its start", got, got.Sub(start))
	}
	later := start.Add(24 * time.Hour)
	c.Set(later)
	if got := c.Now(); got.Before(later) || got.Location() != time.UTC {
		t.Fatalf("after Set(%v) the clock reads %v", later, got)
	}
	target := c.Now().Add(2 * time.Minute) // about 33 ms of the wall clock
	if err := c.Await(context.Background(), target); err != nil || c.Now().Before(target) {
		t.Fatalf("Await(%v) returned at %v: %v", target, c.Now(), err)
	}
	if err := c.Await(context.Background(), start); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Await(ctx, c.Now().Add(24*time.Hour)); err == nil {
		t.Fatal("Await outlived its context")
	}
}
