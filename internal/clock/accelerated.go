package clock

import (
	"context"
	"sync"
	"time"
)

// Accelerated runs speed times faster than the wall clock from the time it
// was last set: `groupbuy dev` passes a city's day on it in minutes, and a
// simulation may Set it ahead over a stretch where nothing happens.
type Accelerated struct {
	mu    sync.Mutex
	base  time.Time // what the clock read at since
	since time.Time // wall time, with its monotonic reading
	speed float64
}

// NewAccelerated returns a clock at t running speed times the wall clock's
// pace (speed 1 runs at its pace).
func NewAccelerated(t time.Time, speed float64) *Accelerated {
	return &Accelerated{base: t.UTC(), since: time.Now(), speed: max(speed, 1)}
}

// Now returns the clock's current time.
func (c *Accelerated) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

func (c *Accelerated) now() time.Time {
	return c.base.Add(time.Duration(float64(time.Since(c.since)) * c.speed)).UTC()
}

// Set moves the clock to t, from where it runs on.
func (c *Accelerated) Set(t time.Time) {
	c.mu.Lock()
	c.base, c.since = t.UTC(), time.Now()
	c.mu.Unlock()
}

// Speed is how many seconds of the clock pass in one second of the wall clock.
func (c *Accelerated) Speed() float64 { return c.speed }

// Await waits until the clock reads t, or ctx ends.
func (c *Accelerated) Await(ctx context.Context, t time.Time) error {
	for {
		left := t.Sub(c.Now())
		if left <= 0 {
			return nil
		}
		// Wake at least every second: a Set elsewhere may bring t nearer.
		wait := min(time.Duration(float64(left)/c.speed)+time.Millisecond, time.Second)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}
