package routing

import (
	"testing"
)

// Each stop's own window (a pickup point's receiving hours within the
// warehouse's delivery window) is kept: every stop is served, and from
// within its window.
func TestStopWindowsNarrowerThanTheDay(t *testing.T) {
	p := smallCity(120, 21)
	for i := range p.Stops {
		if i%3 == 0 {
			h := int64(7 + i%9/3) // 07:00–08:00, 08:00–09:00 or 09:00–10:00
			p.Stops[i].Window = TimeWindow{Start: h * 3600, End: (h + 1) * 3600}
		}
	}
	sol := mustSolve(t, p, Options{MaxIterations: 30, Seed: 3, Threads: 1})
	if len(sol.Unserved) != 0 {
		t.Fatalf("unserved %v", sol.Unserved)
	}
	for _, r := range sol.Routes {
		for _, v := range r.Visits {
			if w := p.Stops[v.Stop].Window; v.Start < float64(w.Start) || v.Start > float64(w.End) {
				t.Errorf("stop %s served at %s, outside %s–%s", v.ID, clock(v.Start), clock(float64(w.Start)), clock(float64(w.End)))
			}
		}
	}
}
