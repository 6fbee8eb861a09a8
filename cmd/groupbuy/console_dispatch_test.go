package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/fulfillment/lastmile"
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

// TestConsoleActionsInBrowser: a dispatcher runs a night from the console's
// wave page in Chromium, each click checked in the API: closes the open
// wave by hand; sees the route stage fail (the warehouse has no vehicles),
// adds one and reruns the stage; dispatches one route, then the rest; marks
// a stop reached. A warehouse login sees no ops-only buttons.
func TestConsoleActionsInBrowser(t *testing.T) {
	c := newTestCity(t, 3)
	egg, rice := c.item("EGG"), c.item("RICE")
	for l := range 3 {
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("159100%05d", l), "居民", egg.ID, 2, rice.ID, 1),
			"Idempotency-Key", "a"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	path := c.wavePath()
	var w wave.Wave
	c.do("GET", path, c.admin, nil).json(t, &w)
	get := func() wave.Wave {
		var w wave.Wave
		c.do("GET", path, c.admin, nil).json(t, &w)
		return w
	}

	p := newConsolePage(t, 120*time.Second)
	p.logIn(c.srv.URL, c.admin, fmt.Sprintf("#/wave/%d", w.ID))
	p.wait("the close button", `document.querySelector('#actions button[data-action=close]') !== null`)
	p.run("close the wave", chromedp.Click(chromedp.CSS(`#actions button[data-action=close]`)))
	waitFor(t, "the close", func() bool { return get().State != wave.Open })
	w = get()
	var byHand *wave.Event
	for i, e := range w.Timeline {
		if e.Kind == wave.EventClosedByHand {
			byHand = &w.Timeline[i]
		}
	}
	if byHand == nil || byHand.Actor != "admin:test admin" {
		t.Fatalf("closed by hand: %+v", w.Timeline)
	}
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 6}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}

	// No vehicles: the route stage fails, and the page offers its rerun.
	startNight(t, c)
	p.wait("the failed route stage", `document.querySelector('li.stage.failing[data-stage=route]') !== null &&
		document.querySelector('#actions button[data-action=rerun][data-stage=route]') !== null`)
	c.addVehicleType(map[string]any{"code": "VAN", "name": "冷藏车", "count": 2, "capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00"})
	p.run("rerun the route stage", chromedp.Click(chromedp.CSS(`#actions button[data-action=rerun][data-stage=route]`)))
	waitFor(t, "the rerun", func() bool {
		w = get()
		return w.State == wave.Ready
	})
	rerun := false
	for _, e := range w.Timeline {
		rerun = rerun || e.Kind == wave.EventStageRerun && e.Stage == wave.StageRoute && e.Actor == "admin:test admin"
	}
	if !rerun {
		t.Fatalf("no rerun of the route stage by admin in %+v", w.Timeline)
	}

	// Dispatch the first route from its manifest, then the rest from the wave.
	var plan routeplan.WaveRoutes
	c.do("GET", path+"/routes", c.admin, nil).json(t, &plan)
	if len(plan.Routes) == 0 {
		t.Fatal("no routes")
	}
	first := plan.Routes[0]
	states := func() map[string]string {
		var ds struct{ Deliveries []lastmile.Delivery }
		c.do("GET", path+"/deliveries", c.admin, nil).json(t, &ds)
		out := map[string]string{}
		for _, d := range ds.Deliveries {
			if d.RouteCode != nil && d.Seq != nil {
				out[fmt.Sprintf("%s/%d", *d.RouteCode, *d.Seq)] = string(d.State)
			}
		}
		return out
	}
	p.wait("the route's dispatch button", `document.querySelector('#manifest button[data-action=dispatch-route]') !== null`)
	p.run("dispatch the route", chromedp.Click(chromedp.CSS(`#manifest button[data-action=dispatch-route]`)))
	waitFor(t, "the route dispatched", func() bool { return states()[first.Code+"/1"] == string(lastmile.DeliveryDispatched) })
	if w = get(); w.State != wave.Dispatched {
		t.Fatalf("wave after the first truck: %s", w.State)
	}
	p.wait("the wave's dispatch button", `document.querySelector('#actions button[data-action=dispatch]') !== null`)
	p.run("dispatch every route", chromedp.Click(chromedp.CSS(`#actions button[data-action=dispatch]`)))
	waitFor(t, "every route dispatched", func() bool {
		for _, s := range states() {
			if s != string(lastmile.DeliveryDispatched) {
				return false
			}
		}
		return true
	})

	// The driver reaches the first stop.
	p.wait("the arrive button", `document.querySelector('#manifest tr[data-seq="1"] button[data-action=arrive]') !== null`)
	p.run("arrive", chromedp.Click(chromedp.CSS(`#manifest tr[data-seq="1"] button[data-action=arrive]`)))
	waitFor(t, "the stop reached", func() bool { return states()[first.Code+"/1"] == string(lastmile.DeliveryArrived) })
	p.wait("the stop shown reached", `document.querySelector('#manifest tr[data-seq="1"]').innerText.includes('已到达')`)
	p.checkProblems()

	// Warehouse staff may dispatch and arrive, not close or rerun: no such buttons.
	q := newConsolePage(t, 60*time.Second)
	q.logIn(c.srv.URL, c.staffToken("warehouse"), fmt.Sprintf("#/wave/%d", w.ID))
	q.wait("the manifest", `document.querySelectorAll('#manifest tbody tr').length > 0`)
	q.wait("no ops buttons", `document.querySelector('#actions button[data-action=close], #actions button[data-action=rerun]') === null &&
		document.querySelector('#actions button[data-action=dispatch]') !== null`)
}
