package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
)

// logIn opens the console at page (a path with its #/ view) and logs in with token.
func (p *consolePage) logIn(base, token, page string) {
	p.t.Helper()
	p.run("log in", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), token), chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	p.wait("the waves", `document.querySelector('.warehouses .warehouse') !== null`)
	if page != "" {
		p.run("open "+page, chromedp.Navigate(base+"/console/"+page))
	}
}

// screenshot writes the page to docs/name when GROUPBUY_UPDATE_SCREENSHOTS=1
// (and to the test's directory always, so taking it is tested).
func (p *consolePage) screenshot(name string) {
	p.t.Helper()
	shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatal(err)
	}
	dir := p.t.TempDir()
	if os.Getenv("GROUPBUY_UPDATE_SCREENSHOTS") == "1" {
		dir = "../../docs"
	}
	if err := os.WriteFile(filepath.Join(dir, name), shot, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// TestRouteProgressWhileSolving: a night whose route stage searches its
// whole 6 s budget shows the solver at work, through the wave's GET (sectors,
// stops served of the stops, best cost, seconds left, counting down) and on
// the console's wave page in Chromium; once the stage commits the progress
// is finished and agrees with the stored plan.
func TestRouteProgressWhileSolving(t *testing.T) {
	m := newConsoleCityWith(t, func(cfg *Config) { cfg.RouteBudget, cfg.RouteFullBudget = 6*time.Second, true })
	c := m.testCity
	p := newConsolePage(t, 90*time.Second)
	p.logIn(c.srv.URL, c.admin, fmt.Sprintf("#/wave/%d", m.wave.ID))
	p.wait("the wave's page", `document.querySelector('.wave-head h1') !== null`)

	startNight(t, c)
	var seen []wave.RouteProgress
	waitFor(t, "the solver's progress", func() bool {
		var w wave.Wave
		c.do("GET", m.path, c.admin, nil).json(t, &w)
		if rp := w.RouteProgress; rp != nil && rp.FinishedAt == nil && w.State == wave.Picked {
			if len(seen) == 0 || seen[len(seen)-1] != *rp {
				seen = append(seen, *rp)
			}
		}
		return len(seen) >= 3 && seen[len(seen)-1].StopsServed > 0
	})
	first, last := seen[0], seen[len(seen)-1]
	stops := len(consolePointNames) + 1
	if last.StopsTotal != stops || last.SectorsTotal < 1 || last.StopsServed > last.StopsTotal || last.SecondsLeft <= 0 ||
		first.SecondsLeft > 6 || last.SecondsLeft >= first.SecondsLeft {
		t.Fatalf("progress while solving: %+v", seen)
	}
	if last.StopsServed > 0 && last.BestCostFen <= 0 {
		t.Fatalf("stops served at no cost: %+v", last)
	}
	p.wait("the progress on the page", `document.querySelector('#route-progress')?.dataset.solving === 'yes' &&
		/\d+ 秒/.test(document.querySelector('#route-progress [data-field=left]')?.textContent || '') &&
		/^[1-9][\d,]* \/ `+fmt.Sprint(stops)+`$/.test(document.querySelector('#route-progress [data-field=stops]')?.textContent || '')`)
	p.screenshot("console-routing.png")

	var w wave.Wave
	waitFor(t, "the routes", func() bool {
		w = wave.Wave{}
		c.do("GET", m.path, c.admin, nil).json(t, &w)
		return w.State == wave.Ready
	})
	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	served := 0
	for _, r := range plan.Routes {
		served += len(r.Stops)
	}
	if rp := w.RouteProgress; rp == nil || rp.FinishedAt == nil || rp.SecondsLeft != 0 || rp.StopsServed != served ||
		rp.SectorsDone != rp.SectorsTotal || rp.StopsTotal != stops {
		t.Fatalf("progress after the stage: %+v; plan serves %d", w.RouteProgress, served)
	}
	p.wait("the finished progress on the page", `document.querySelector('#route-progress')?.dataset.solving === 'no' &&
		document.querySelector('#route-progress [data-field=left]') === null`)
	p.checkProblems()
}
