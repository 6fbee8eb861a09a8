package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/wave"
)

// TestConsoleOperableInBrowser drives the console in headless Chromium
// through a short night: the open wave's card counts its orders live; after
// the night, the panel of refunds unpaid a day on lists the one the payment
// system has not paid; the order search, typed into its form, finds the
// order by a line and shows the line's story (cut for shortage, refunded
// and paid); the wave's page shows its timeline.
func TestConsoleOperableInBrowser(t *testing.T) {
	t.Parallel()
	c, rc, path := newShortNight(t)
	p := newConsolePage(t, 90*time.Second)
	ctx, run, wait := p.ctx, p.run, p.wait
	run("log in", chromedp.Navigate(c.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("token")),
		chromedp.SendKeys(chromedp.ID("token"), c.admin), chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	wait("the waves", `document.querySelector('.warehouses .warehouse') !== null`)
	run("choose the day", chromedp.SetValue(chromedp.ID("day"), "2026-11-30"), chromedp.Click(chromedp.CSS(`.day-form button`)))
	var w wave.Wave
	c.do("GET", path, c.admin, nil).json(t, &w)
	card := fmt.Sprintf(`article.wave[data-wave="%d"]`, w.ID)
	wait("the open wave's live totals", fmt.Sprintf(`(document.querySelector(%q)?.innerText || '').includes('3 单 · 3 行 · 6 件') &&
		document.querySelector(%q)?.innerText.includes('实时')`, card, card))
	wait("no unpaid refunds yet", `document.querySelector('#unpaid-refunds .count')?.textContent.includes('没有')`)

	runNightToReady(t, c, path)
	var page refund.LedgerPage
	waitFor(t, "the console", func() bool {
		page = refund.LedgerPage{}
		c.do("GET", "/api/v1/ops/refunds?state=submitted", c.admin, nil).json(t, &page)
		return len(page.Refunds) == 2
	})
	if d, _, _ := rc.Stats(); d != 2 {
		t.Fatalf("the payment system has %d refunds, want 2", d)
	}
	paid, unpaid := page.Refunds[0], page.Refunds[1]
	if r := c.payCallback(paymentsSecret, fmt.Sprintf(`{"refund_id":%d,"status":"paid","payment_ref":"WX-1"}`, paid.ID)); r.Status != http.StatusOK {
		t.Fatalf("pay: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(25 * time.Hour)
	wait("the unpaid refund, a day on", fmt.Sprintf(`document.querySelector('#unpaid-refunds .count')?.textContent.includes('共 1 笔') &&
		document.querySelectorAll('#unpaid-refunds tr[data-refund="%d"]').length === 1`, unpaid.ID))

	p.click("open the order search", "#orders-link")
	wait("the search form", `document.getElementById('order-search') !== null`)
	run("search by line", chromedp.SendKeys(chromedp.ID("search-line_id"), fmt.Sprint(paid.LineID)),
		chromedp.Click(chromedp.CSS(`#order-search button[type=submit]`)))
	row := fmt.Sprintf(`article.order[data-order="%d"] tr[data-line="%d"]`, paid.OrderID, paid.LineID)
	wait("the order's story", fmt.Sprintf(`document.querySelector(%q)?.dataset.status === 'short_shipped' &&
		(document.querySelector(%q)?.innerText || '').includes('%d 件')`, fmt.Sprintf(`article.order[data-order="%d"] .badge`, paid.OrderID),
		row, paid.Quantity))
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(`document.querySelector(%q).innerText`, row)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cells, "仓库缺货") || !strings.Contains(cells, "已到账") || !strings.Contains(cells, fmt.Sprint(paid.LineID)) {
		t.Fatalf("the line's story row: %q", cells)
	}

	run("open the wave", chromedp.Navigate(fmt.Sprintf("%s/console/#/wave/%d", c.srv.URL, w.ID)))
	wait("the timeline", `document.querySelectorAll('#timeline li[data-kind="stage_finished"]').length === `+fmt.Sprint(len(wave.Stages))+` &&
		document.querySelector('#timeline li[data-kind="closed_at_cutoff"]') !== null &&
		document.querySelector('#timeline li[data-kind="receipts_recorded"]').innerText.includes('admin:test admin')`)
	p.checkProblems()
}
