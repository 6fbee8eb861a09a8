package routeplan

import (
	"math"
	"sync"
	"time"

	"groupbuy/fulfillment/wave"
	"groupbuy/routing"
)

// solvingEvery spaces the reports of Request.Solving: each is a write to
// the database, and people read it on a page that refreshes every 2 s.
const solvingEvery = time.Second

// meter adds the solver's progress on the current sector to what the
// sectors before it ended with, and reports the whole at most every
// solvingEvery (and at each sector's end).
type meter struct {
	mu     sync.Mutex
	report func(wave.RouteProgress)
	end    time.Time // when the solver's budget runs out
	last   time.Time
	// What the finished sectors served and cost.
	done        wave.RouteProgress
	doneCostFen float64
}

func newMeter(report func(wave.RouteProgress), sectors, stops int, end time.Time) *meter {
	m := &meter{report: report, end: end, done: wave.RouteProgress{SectorsTotal: sectors, StopsTotal: stops}}
	m.send(m.done, true)
	return m
}

// sector returns the routing.Options.Progress of the sector being solved.
func (m *meter) sector() func(routing.Progress) {
	if m == nil {
		return nil
	}
	return func(pr routing.Progress) {
		m.mu.Lock()
		defer m.mu.Unlock()
		p := m.done
		p.StopsServed += pr.Served
		p.BestCostFen = int64(math.Round(m.doneCostFen + pr.BestCost))
		m.send(p, false)
	}
}

// ended adds a solved part to the finished ones; counted says it is one of
// the sectors (the second pass over the left-over stops is not).
func (m *meter) ended(sol *routing.Solution, counted bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.done.StopsServed += servedBy(sol)
	m.doneCostFen += sol.Cost
	m.done.BestCostFen = int64(math.Round(m.doneCostFen))
	if counted {
		m.done.SectorsDone++
	}
	m.send(m.done, true)
}

// servedBy counts the stops a solution's routes visit.
func servedBy(sol *routing.Solution) int {
	n := 0
	for _, r := range sol.Routes {
		n += len(r.Visits)
	}
	return n
}

func (m *meter) send(p wave.RouteProgress, force bool) {
	now := time.Now()
	if !force && now.Sub(m.last) < solvingEvery {
		return
	}
	m.last = now
	p.SecondsLeft = max(0, int(math.Ceil(m.end.Sub(now).Seconds())))
	m.report(p)
}
