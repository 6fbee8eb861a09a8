package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
)

const driverPublicURL = "https://gb.example.test/"

// TestDriverPage: each route sheet carries a QR code of its driver page,
// read back from the PDF (pdftoppm, zbarimg) with the sheet's text
// (pdftotext); the pass in it opens that route only (another route, a
// changed or expired pass: 403; none: 401); on a phone-sized Chromium the
// driver presses "arrived" at one stop and "delivered" at the next, and
// the ops API shows both.
func TestDriverPage(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"pdftotext", "pdftoppm", "zbarimg"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found (poppler-utils, zbar-tools): %v", tool, err)
		}
	}
	m := newConsoleCityWith(t, func(cfg *config.Config) { cfg.PublicURL = driverPublicURL })
	c := m.testCity
	m.wave = runNightToReady(t, c, m.path)
	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	if len(plan.Routes) < 2 || len(plan.Routes[0].Stops) < 2 {
		t.Fatalf("want two routes, the first with two stops: %+v", plan.Routes)
	}
	a, b := plan.Routes[0], plan.Routes[1]

	// The route sheet of A: its text, and its QR code.
	r := c.do("GET", fmt.Sprintf("%s/printouts/route-sheet.pdf?route=%s", m.path, a.Code), c.admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("route sheet: %d %s", r.Status, r.Body)
	}
	dir := t.TempDir()
	pdf := filepath.Join(dir, "sheet.pdf")
	if err := os.WriteFile(pdf, r.Body, 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command("pdftotext", "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"线路单 " + a.Code, "司机扫码", a.Stops[0].Name} {
		if !strings.Contains(string(text), want) {
			t.Fatalf("route sheet text lacks %q:\n%s", want, text)
		}
	}
	if out, err := exec.Command("pdftoppm", "-r", "200", "-f", "1", "-l", "1", "-png", pdf, filepath.Join(dir, "page")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v %s", err, out)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	if len(pages) != 1 {
		t.Fatalf("pages %v", pages)
	}
	scanned, err := exec.Command("zbarimg", "-q", "--raw", pages[0]).Output()
	if err != nil {
		t.Fatalf("zbarimg found no code on the route sheet: %v", err)
	}
	url := strings.TrimSpace(string(scanned))
	prefix := strings.TrimRight(driverPublicURL, "/") + "/console/driver.html#"
	pass, ok := strings.CutPrefix(url, prefix)
	if !ok {
		t.Fatalf("the QR code says %q, want %s…", url, prefix)
	}
	if err := c.app.driverPass.Check(pass, a.ID, c.clock.Now()); err != nil {
		t.Fatalf("the printed pass does not open route %s: %v", a.Code, err)
	}

	// The pass opens A only.
	driver := func(method, path, pass string) response {
		if pass == "" {
			return c.do(method, path, "", nil)
		}
		return c.do(method, path, "", nil, "X-Driver-Pass", pass)
	}
	routeA, routeB := fmt.Sprintf("/api/v1/driver/routes/%d", a.ID), fmt.Sprintf("/api/v1/driver/routes/%d", b.ID)
	var got lastmile.DriverRoute
	if r := driver("GET", routeA, pass); r.Status != http.StatusOK {
		t.Fatalf("route A with its pass: %d %s", r.Status, r.Body)
	} else if r.json(t, &got); got.Code != a.Code || len(got.Stops) != len(a.Stops) || got.Stops[0].Name != a.Stops[0].Name {
		t.Fatalf("route A for its driver: %+v", got)
	}
	expired := c.app.driverPass.Token(a.ID, c.clock.Now().Add(-time.Minute))
	for _, tc := range []struct {
		what, method, path, pass string
		want                     int
	}{
		{"route B with A's pass", "GET", routeB, pass, http.StatusForbidden},
		{"a stop of B with A's pass", "POST", routeB + "/stops/1/arrive", pass, http.StatusForbidden},
		{"a delivery of B with A's pass", "POST", routeB + "/stops/1/deliver", pass, http.StatusForbidden},
		{"A's pass changed to say B", "GET", routeB, fmt.Sprint(b.ID) + pass[strings.IndexByte(pass, '.'):], http.StatusForbidden},
		{"an expired pass", "GET", routeA, expired, http.StatusForbidden},
		{"no pass", "GET", routeA, "", http.StatusUnauthorized},
		{"an API token as the pass", "GET", routeA, c.admin, http.StatusForbidden},
		{"before dispatch", "POST", routeA + "/stops/1/arrive", pass, http.StatusConflict},
	} {
		if r := driver(tc.method, tc.path, tc.pass); r.Status != tc.want {
			t.Errorf("%s: %d, want %d: %s", tc.what, r.Status, tc.want, r.Body)
		}
	}
	// A pass for a route that is gone (the wave routed again) finds no route.
	if r := driver("GET", "/api/v1/driver/routes/999999", c.app.driverPass.Token(999999, c.clock.Now().Add(time.Hour))); r.Status != http.StatusNotFound || r.errorCode(t) != "route_not_found" {
		t.Errorf("a route that is gone: %d %s", r.Status, r.Body)
	}
	if t.Failed() {
		t.FailNow()
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/dispatch", a.ID), c.staffToken("warehouse"), nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}

	// The phone.
	p := newConsolePage(t, 60*time.Second)
	p.run("a phone's screen", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
	p.run("open the driver page", chromedp.Navigate(c.srv.URL+"/console/driver.html#"+pass))
	p.wait("the stops", fmt.Sprintf(`document.querySelectorAll('.driver-stops li.stop').length === %d`, len(a.Stops)))
	geo, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.querySelector('li.stop[data-seq="1"] a.navigate').getAttribute('href')`))
	if err != nil || !strings.HasPrefix(geo, fmt.Sprintf("geo:%v,%v", a.Stops[0].Lat, a.Stops[0].Lng)) {
		t.Fatalf("the navigate link %q (%v), stop at %v,%v", geo, err, a.Stops[0].Lat, a.Stops[0].Lng)
	}
	p.click("arrive at stop 1", `li.stop[data-seq="1"] button[data-action=arrive]`)
	p.wait("stop 1 arrived", `document.querySelector('li.stop[data-seq="1"] .state').dataset.state === 'arrived'`)
	p.click("deliver at stop 2", `li.stop[data-seq="2"] button[data-action=deliver]`)
	p.wait("stop 2 delivered", `document.querySelector('li.stop[data-seq="2"] .state').textContent === '已交付' &&
		document.querySelector('li.stop[data-seq="2"] button[data-action=deliver]').disabled`)
	var ds struct{ Deliveries []lastmile.Delivery }
	c.do("GET", m.path+"/deliveries", c.admin, nil).json(t, &ds)
	seen := 0
	for _, d := range ds.Deliveries {
		if d.RouteCode == nil || *d.RouteCode != a.Code {
			continue
		}
		switch *d.Seq {
		case 1:
			seen++
			if d.State != lastmile.DeliveryArrived || d.ArrivedAt == nil || d.HandedOverAt != nil {
				t.Errorf("stop 1: %+v", d)
			}
		case 2:
			seen++
			if d.State != lastmile.DeliveryArrived || d.ArrivedAt == nil || d.HandedOverAt == nil {
				t.Errorf("stop 2: %+v", d)
			}
		default:
			if d.State != lastmile.DeliveryDispatched {
				t.Errorf("stop %d: %+v", *d.Seq, d)
			}
		}
	}
	if seen != 2 {
		t.Fatalf("stops 1 and 2 of %s not in %+v", a.Code, ds.Deliveries)
	}
	p.screenshot("driver.png")
	p.checkProblems()
}
