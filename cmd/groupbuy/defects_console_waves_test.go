package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
)

// TestConsoleShowsRefundsByReasonAndWaits drives the console over a wave
// with refunds of three reasons and every stop served, and a closed wave
// still waiting for its receipts: each refund reason has its own label (缺货
// only for the shortage), no stray "false" appears under the routes, and
// the waiting wave says what it waits for.
func TestConsoleShowsRefundsByReasonAndWaits(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	m.dispatch(c.staffToken("warehouse"))
	egg, dumpling := c.item("EGG"), c.item("DUMPLING")
	receipt := map[string]any{"lines": []map[string]any{
		{"sale_item_id": egg.ID, "missing": 1},
		{"sale_item_id": dumpling.ID, "damaged": 1, "received": 5},
	}}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", m.deliveryOf(0).ID), c.leaders[0], receipt); r.Status != http.StatusOK {
		t.Fatalf("receipt: %d %s", r.Status, r.Body)
	}
	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	if len(plan.Unserved) != 0 || len(plan.Routes) == 0 {
		t.Fatalf("want every stop served: %+v", plan)
	}
	// The next day's wave, closed early by ops, waits for its receipts.
	next := fulfillment.Date{Time: c.date.AddDate(0, 0, 1)}
	publishDay(t, c.app, c.warehous.ID, next, 100)
	var waves struct{ Waves []wave.Wave }
	c.do("GET", "/api/v1/ops/waves?date="+next.String(), c.admin, nil).json(t, &waves)
	if len(waves.Waves) != 1 {
		t.Fatalf("waves of %s: %+v", next, waves.Waves)
	}
	waiting := waves.Waves[0].ID
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/waves/%d/close", waiting), c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("close: %d %s", r.Status, r.Body)
	}

	p := newConsolePage(t, 60*time.Second)
	ctx, run, wait := p.ctx, p.run, p.wait
	text := func(selector string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q)?.innerText ?? ''`, selector)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	run("open the console", chromedp.Navigate(c.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
	run("log in", chromedp.SendKeys(chromedp.ID("token"), c.admin), chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	wait("the waves of today", `document.querySelector('.warehouses .warehouse') !== null`)
	run("choose the day", chromedp.SetValue(chromedp.ID("day"), c.date.String()), chromedp.Click(chromedp.CSS(`.day-form button`)))

	card := fmt.Sprintf(`article.wave[data-wave="%d"]`, m.wave.ID)
	waitingCard := fmt.Sprintf(`article.wave[data-wave="%d"]`, waiting)
	wait("both waves' cards", fmt.Sprintf(`!!(document.querySelector(%q) && document.querySelector(%q))`, card, waitingCard))
	// Eggs were received 2 short (缺货); leader 0 found one egg missing and one dumpling damaged.
	want := []string{"缺货退款 2 件 ¥37.80", "缺件退款 1 件 ¥18.90", "破损退款 1 件 ¥15.90"}
	wait("the refunds by reason", fmt.Sprintf(`[%q, %q, %q].every((s) => document.querySelector(%q).innerText.includes(s))`,
		want[0], want[1], want[2], card))
	if got := text(card); strings.Contains(got, "缺货退款 4 件") || strings.Contains(got, "退回") || strings.Contains(got, "售后") {
		t.Errorf("the wave's card shows refunds it does not have: %q", got)
	}
	wait("the waiting wave's card says it waits for receipts",
		fmt.Sprintf(`document.querySelector(%q + ' .waiting')?.innerText.includes('等待收货')`, waitingCard))

	// The served wave's page: routes listed, nothing unserved, no "false".
	p.click("open the wave", card+" a.open")
	wait("the route list", fmt.Sprintf(`document.querySelectorAll('.legend .route-chip').length === %d`, len(plan.Routes)))
	if got := text(".legend"); strings.Contains(got, "false") || strings.Contains(got, "未能排入") {
		t.Errorf("the route legend of a wave without unserved stops: %q", got)
	}
	if got := text("#view"); strings.Contains(got, "false") || strings.Contains(got, "undefined") {
		t.Errorf("the wave's page shows a stray value: %q", got)
	}
	wait("the refunds by reason on the wave's page", fmt.Sprintf(`[%q, %q, %q].every((s) => document.querySelector('.wave-head').innerText.includes(s))`,
		want[0], want[1], want[2]))

	// The waiting wave's page says what it waits for and how to give it.
	run("open the waiting wave", chromedp.Navigate(fmt.Sprintf("%s/console/#/wave/%d", c.srv.URL, waiting)))
	wait("the waiting wave's page", fmt.Sprintf(`document.querySelector('.wave-head .waiting')?.innerText.includes('等待收货') &&
		document.querySelector('.wave-head .waiting').title.includes('/api/v1/ops/waves/%d/receipts')`, waiting))
}
