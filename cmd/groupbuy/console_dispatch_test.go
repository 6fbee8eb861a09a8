package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
)

// logIn opens the console at page (a path with its #/ view) and logs in with token.
func (p *consolePage) logIn(base, token, page string) {
	p.t.Helper()
	p.run("open the console", chromedp.Navigate(base+"/console/"))
	p.run("the login form", chromedp.WaitVisible(chromedp.ID("token")))
	p.run("type the token", chromedp.SendKeys(chromedp.ID("token"), token))
	p.click("log in", `#login-form button[type=submit]`)
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
	m := newConsoleCityWith(t, func(cfg *config.Config) { cfg.RouteBudget, cfg.RouteFullBudget = 6*time.Second, true })
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
	t.Parallel()
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
	p.click("close the wave", `#actions button[data-action=close]`)
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
	c.addVans("冷藏车", 2)
	p.click("rerun the route stage", `#actions button[data-action=rerun][data-stage=route]`)
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
	p.click("dispatch the route", `#manifest button[data-action=dispatch-route]`)
	waitFor(t, "the route dispatched", func() bool { return states()[first.Code+"/1"] == string(lastmile.DeliveryDispatched) })
	if w = get(); w.State != wave.Dispatched {
		t.Fatalf("wave after the first truck: %s", w.State)
	}
	p.wait("the wave's dispatch button", `document.querySelector('#actions button[data-action=dispatch]') !== null`)
	p.click("dispatch every route", `#actions button[data-action=dispatch]`)
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
	p.click("arrive", `#manifest tr[data-seq="1"] button[data-action=arrive]`)
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

// TestConsoleDockInBrowser: the buyer's view of a wave's purchase order
// and the dock's receiving screen, in Chromium with a warehouse login: the
// receiver finds lines by scanning their SKU, records eggs short (9 of
// 12, with lot and expiry: chilled), dumplings with 2 rejected as damaged
// (frozen), and the rice whole; a reject without a reason is refused and
// sent again with one, counted once; the totals in the API and on the
// buyer's view agree; closing the order from the screen starts allocation.
func TestConsoleDockInBrowser(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	rc := webhook.NewReceiver("dock-supplier-secret")
	hook := httptest.NewServer(rc)
	t.Cleanup(hook.Close)
	var sup supply.Supplier
	c.do("POST", "/api/v1/ops/suppliers", c.admin, map[string]any{"code": "FARM", "name": "绿野农场", "contact": "李经理",
		"channel": "webhook", "webhook_url": hook.URL, "webhook_secret": "dock-supplier-secret"}).json(t, &sup)
	for _, id := range []int64{egg.ProductID, rice.ProductID, dumpling.ProductID} {
		if r := c.do("PUT", fmt.Sprintf("/api/v1/ops/products/%d/supply-terms", id), c.admin, map[string]any{"terms": []map[string]any{
			{"supplier_id": sup.ID, "priority": 1, "case_pack": 1, "price_fen": 1000, "delivery_slot": "02:00"}}}); r.Status != http.StatusOK {
			t.Fatalf("terms: %d %s", r.Status, r.Body)
		}
	}
	for l := range 2 {
		if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], orderBody(fmt.Sprintf("159200%05d", l), "居民", egg.ID, 6, rice.ID, 1, dumpling.ID, 5),
			"Idempotency-Key", "d"); r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
	}
	path := c.wavePath()
	var w wave.Wave
	c.do("GET", path, c.admin, nil).json(t, &w)
	p := newConsolePage(t, 120*time.Second)
	p.logIn(c.srv.URL, c.staffToken("warehouse"), fmt.Sprintf("#/wave/%d", w.ID))
	startNight(t, c)
	var orders supply.WaveOrders
	waitFor(t, "the purchase order", func() bool {
		orders = supply.WaveOrders{}
		c.do("GET", path+"/purchase-orders", c.admin, nil).json(t, &orders)
		return len(orders.Orders) == 1 && orders.Orders[0].State == supply.OrderSent
	})
	po := orders.Orders[0]
	p.click("open the purchase orders", "#purchase-link")
	row := fmt.Sprintf(`#purchase-orders tr[data-po="%d"]`, po.ID)
	p.wait("the buyer's view", fmt.Sprintf(`document.querySelector('%s [data-state]')?.dataset.state === 'sent' &&
		document.querySelector('%s [data-field=short]')?.textContent === '24'`, row, row))
	p.click("open the dock screen", row+" a.open")
	p.wait("the lines", `document.querySelectorAll('form.dock-line').length === 3 &&
		document.querySelector('button[data-action=po-not-coming]') !== null`)

	line := func(sku string) string { return fmt.Sprintf(`form.dock-line[data-sku="%s"]`, sku) }
	scanSKU := func(sku string) {
		p.t.Helper()
		p.run("scan "+sku, chromedp.SendKeys(chromedp.ID("dock-scan"), sku+"\r"))
		p.wait("the line focused", fmt.Sprintf(`document.activeElement === document.querySelector('%s input[name=accepted]')`, line(sku)))
	}
	record := func(sku string, keys ...string) {
		p.t.Helper()
		var steps []chromedp.Action[chromedp.Void]
		for i := 0; i+1 < len(keys); i += 2 {
			steps = append(steps, chromedp.SetValue(chromedp.CSS(line(sku)+" [name="+keys[i]+"]"), keys[i+1]))
		}
		p.run("record "+sku, append(steps, chromedp.Click(chromedp.CSS(line(sku)+" button[type=submit]")))...)
	}
	// Eggs come short: 9 of 12, chilled, so with lot and expiry.
	scanSKU("EGG")
	record("EGG", "accepted", "9", "lot", "E1202", "expires_on", "2026-12-12")
	p.wait("the eggs recorded", `document.getElementById('dock-note').textContent.includes('验收 9')`)
	p.wait("no \"not coming\" once goods arrived", `document.querySelector('button[data-action=po-not-coming]') === null`)
	// Dumplings: 2 rejected with no reason first: refused, nothing stored.
	scanSKU("DUMPLING")
	record("DUMPLING", "accepted", "8", "rejected", "2", "lot", "F55", "expires_on", "2027-02-01")
	p.wait("the refusal", `document.getElementById('dock-note').className.includes('error') &&
		document.getElementById('dock-note').textContent.includes('reason')`)
	retry, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector('`+line("DUMPLING")+`').dataset.scan`))
	if err != nil {
		t.Fatal(err)
	}
	record("DUMPLING", "reason", "damage")
	p.wait("the dumplings recorded", `document.getElementById('dock-note').textContent.includes('拒收 2')`)
	record("RICE", "accepted", "2")
	p.wait("the rice recorded", `document.getElementById('dock-note').textContent.includes('东北大米')`)

	var got supply.PurchaseOrder
	c.do("GET", fmt.Sprintf("/api/v1/ops/purchase-orders/%d", po.ID), c.admin, nil).json(t, &got)
	if got.Units != 24 || got.Arrived != 21 || got.Accepted != 19 || got.Rejected != 2 || got.ShortUnits != 5 {
		t.Fatalf("purchase order after the dock: %+v", got)
	}
	var scans supply.ScanList
	c.do("GET", fmt.Sprintf("/api/v1/ops/purchase-orders/%d/scans", po.ID), c.admin, nil).json(t, &scans)
	byID := map[string]supply.ScanEntry{}
	for _, s := range scans.Scans {
		byID[s.ScanID] = s
	}
	if len(scans.Scans) != 3 || byID[retry].Reason != "damage" || byID[retry].Rejected != 2 || byID[retry].Lot != "F55" {
		t.Fatalf("scans %+v; the dumplings' scan id %q", scans, retry)
	}
	p.wait("the totals on the screen", `document.getElementById('dock-totals').textContent.includes('验收 19') &&
		document.getElementById('dock-totals').textContent.includes('短缺 5')`)

	p.click("close the order", `button[data-action=po-received]`)
	waitFor(t, "the order received", func() bool {
		c.do("GET", fmt.Sprintf("/api/v1/ops/purchase-orders/%d", po.ID), c.admin, nil).json(t, &got)
		return got.State == supply.OrderReceived
	})
	p.wait("the dock screen redrawn closed", `document.querySelector('button[data-action=po-received]') === null`)
	p.click("back to the buyer's view", `.crumbs a`)
	p.wait("received and short", fmt.Sprintf(`document.querySelector('%s [data-state]')?.dataset.state === 'received' &&
		document.querySelector('%s [data-field=short]')?.textContent === '5'`, row, row))
	waitFor(t, "allocation", func() bool {
		c.do("GET", path, c.admin, nil).json(t, &w)
		return w.State != wave.Closed
	})
	p.checkProblems()
}
