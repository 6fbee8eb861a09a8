package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/fulfillment/daysummary"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/pickup"
)

// checkDaySummary ends TestConsoleInBrowser's night, on its page p: the
// trucks leave at 06:00 and reach every stop, the last route's after its
// window; the first leader finds an egg damaged, every leader receives, and
// the residents of even points collect. The wave page's link opens the
// day's summary, which shows the API's figures.
func checkDaySummary(t *testing.T, m *consoleCity, p *consolePage) {
	t.Helper()
	ctx := context.Background()
	c := m.testCity
	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	c.clock.Set(time.Date(2026, 11, 30, 22, 0, 0, 0, time.UTC)) // 06:00 in Shanghai
	if r := c.do("POST", m.path+"/dispatch", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	late := 0
	for i, r := range plan.Routes {
		for _, st := range r.Stops {
			at := st.ArrivalAt
			if i == len(plan.Routes)-1 {
				at = *st.WindowEnd
				at = at.Add(20 * time.Minute)
				late++
			}
			c.clock.Set(at)
			if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/stops/%d/arrive", r.ID, st.Seq), c.admin, nil); r.Status != http.StatusOK {
				t.Fatalf("arrive: %d %s", r.Status, r.Body)
			}
		}
	}
	egg := c.item("EGG")
	served := map[int64]bool{}
	for _, r := range plan.Routes {
		for _, st := range r.Stops {
			served[st.PickupPointID] = true
		}
	}
	for l, p := range c.points {
		if !served[p.Point.ID] {
			continue
		}
		var out struct{ Deliveries []lastmile.Delivery }
		c.do("GET", "/api/v1/leader/deliveries?date="+c.date.String(), c.leaders[l], nil).json(t, &out)
		var lines []map[string]any
		if l == 0 {
			lines = append(lines, map[string]any{"sale_item_id": egg.ID, "damaged": 1})
		}
		if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", out.Deliveries[0].ID), c.leaders[l], map[string]any{"lines": lines}); r.Status != http.StatusOK {
			t.Fatalf("receive: %d %s", r.Status, r.Body)
		}
		if l%2 == 1 {
			continue
		}
		var residents []int64
		if err := c.app.db.Select(&residents, `SELECT id FROM residents WHERE pickup_point_id = $1`, p.Point.ID); err != nil {
			t.Fatal(err)
		}
		for _, res := range residents {
			code, err := pickup.ResidentCode(ctx, c.app.db, p.Point.ID, c.date.Time, res)
			if err != nil {
				t.Fatal(err)
			}
			if r := c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[l], map[string]any{"code": code}); r.Status != http.StatusOK {
				t.Fatalf("collect: %d %s", r.Status, r.Body)
			}
		}
	}
	var sum daysummary.Summary
	c.do("GET", fmt.Sprintf("/api/v1/ops/waves/%d/summary", m.wave.ID), c.admin, nil).json(t, &sum)
	if sum.Driving.StopsReached != sum.Driving.Stops || sum.Driving.StopsOnTime != sum.Driving.Stops-int64(late) || late == 0 ||
		sum.Points.UnitsDamaged != 1 || sum.UnitsCut != 6 || sum.CollectionRate <= 0 || sum.CollectionRate >= 1 || sum.FillRate <= 0 {
		t.Fatalf("the summary: %+v", sum)
	}
	if r := c.do("GET", "/api/v1/ops/waves/999999/summary", c.admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("the summary of no wave: %d %s", r.Status, r.Body)
	}

	p.run("back to the wave", chromedp.Navigate(fmt.Sprintf("%s/console/#/wave/%d", c.srv.URL, m.wave.ID)))
	p.wait("the wave's page", `document.getElementById('summary-link') !== null`)
	p.click("open the summary", "#summary-link")
	pct := func(r float64) string { return fmt.Sprintf("%.1f%%", 100*r) }
	for key, want := range map[string]string{"fill_rate": pct(sum.FillRate), "cut_rate": pct(sum.CutRate),
		"on_time_rate": pct(sum.OnTimeRate), "collection_rate": pct(sum.CollectionRate),
		"km_per_order": fmt.Sprintf("%.2f km", sum.KmPerOrder)} {
		p.wait(key, fmt.Sprintf(`document.querySelector('#summary-tiles [data-figure=%s] strong')?.textContent === %q`, key, want))
	}
	p.wait("the damaged egg", `document.querySelector('.summary-counts').textContent.includes('签收破损1 件')`)
	if shot, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100)); err != nil || !bytes.HasPrefix(shot, []byte("\x89PNG")) {
		t.Fatalf("a screenshot of the summary: %v", err)
	}
	p.checkProblems()
}
