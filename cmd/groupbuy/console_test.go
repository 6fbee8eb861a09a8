package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
)

// TestConsoleServesItsFiles: the page and its files with their types, a
// strict CSP, revalidation by ETag, and nothing that reaches another host
// or parses names as HTML.
func TestConsoleServesItsFiles(t *testing.T) {
	engine := routeEngine(t)
	get := func(path string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		engine.ServeHTTP(rec, req)
		return rec
	}
	files, err := fs.ReadDir(consoleFS, "console")
	if err != nil || len(files) == 0 {
		t.Fatalf("embedded console: %v, %d files", err, len(files))
	}
	index, _ := consoleFS.ReadFile("console/index.html")
	for _, path := range []string{"/console", "/console/"} {
		rec := get(path)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "text/html; charset=utf-8" || !bytes.Equal(rec.Body.Bytes(), index) {
			t.Fatalf("GET %s: %d %q", path, rec.Code, rec.Header().Get("Content-Type"))
		}
	}
	wantType := map[string]string{".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
	// Anything that would fetch from another host, or put text through the HTML parser.
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}`)
	for _, f := range files {
		path := "/console/" + f.Name()
		rec := get(path)
		if rec.Code != http.StatusOK {
			t.Fatalf("GET %s: %d", path, rec.Code)
		}
		h := rec.Header()
		if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, wantType[filepath.Ext(f.Name())]) {
			t.Errorf("GET %s: Content-Type %q", path, ct)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
		if h.Get("Cache-Control") != "no-cache" || h.Get("ETag") == "" || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: caching headers %v", path, h)
		}
		if again := get(path, "If-None-Match", h.Get("ETag")); again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("GET %s with its ETag: %d, %d bytes", path, again.Code, again.Body.Len())
		}
		body := rec.Body.String()
		for _, m := range external.FindAllString(body, -1) {
			if m != "http://www.w3.org" { // the SVG namespace, which nothing fetches
				t.Errorf("%s refers to another host: %s", f.Name(), m)
			}
		}
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "style=\""} {
			if strings.Contains(body, bad) {
				t.Errorf("%s uses %s", f.Name(), bad)
			}
		}
	}
	// No inline script: every <script> loads a file (the CSP would block it anyway).
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(index), -1) {
		if !strings.Contains(tag, `src="/console/`) {
			t.Errorf("index.html has an inline script: %s", tag)
		}
	}
	if rec := get("/console/nothing.js"); rec.Code != http.StatusNotFound {
		t.Errorf("an unknown file: %d", rec.Code)
	}
}

// TestConsoleSessionAndQueues: the session cookie, and the queue monitor
// for ops and admin only, by cookie or by bearer header.
func TestConsoleSessionAndQueues(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	staff := map[string]string{"warehouse": c.staffToken("warehouse"), "ops": c.staffToken("ops"), "admin": c.admin, "leader": c.leaders[0]}
	session := func(token string, headers ...string) response {
		return c.do("POST", "/console/session", "", map[string]string{"token": token}, append([]string{"Content-Type", "application/json"}, headers...)...)
	}
	if r := c.do("POST", "/console/session", "", `{"token":"`+c.admin+`"}`, "Content-Type", "text/plain"); r.Status != http.StatusBadRequest {
		t.Fatalf("a session from a plain-text body: %d %s", r.Status, r.Body)
	}
	if r := session("gb_" + strings.Repeat("A", 43)); r.Status != http.StatusUnauthorized || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("a session with an unknown token: %d %s", r.Status, r.Body)
	}
	if r := session(staff["leader"]); r.Status != http.StatusForbidden || r.Header.Get("Set-Cookie") != "" {
		t.Fatalf("a session with a leader token: %d %s", r.Status, r.Body)
	}
	cookies := map[string]string{}
	for _, role := range []string{"warehouse", "ops", "admin"} {
		r := session(staff[role])
		var who struct {
			Role   string
			Queues bool
		}
		r.json(t, &who)
		if r.Status != http.StatusOK || who.Role != role || who.Queues != (role != "warehouse") {
			t.Fatalf("%s session: %d %s", role, r.Status, r.Body)
		}
		set := r.Header.Get("Set-Cookie")
		for _, attr := range []string{consoleCookie + "=" + auth.SessionPrefix, "Path=/console", "HttpOnly", "SameSite=Strict"} {
			if !strings.Contains(set, attr) {
				t.Fatalf("%s session cookie %q lacks %s", role, set, attr)
			}
		}
		if strings.Contains(set, "Secure") {
			t.Errorf("cookie over plain HTTP marked Secure: %q", set)
		}
		cookies[role], _, _ = strings.Cut(set, ";")
	}
	// Behind a proxy that ends TLS the browser is on https: the cookie is Secure.
	if r := session(staff["ops"], "X-Forwarded-Proto", "https"); r.Status != http.StatusOK || !strings.Contains(r.Header.Get("Set-Cookie"), "; Secure") {
		t.Fatalf("a session over https behind a proxy: %d %q", r.Status, r.Header.Get("Set-Cookie"))
	}
	// A token keeps its newest MaxSessionsPerToken sessions open, however
	// often it logs in.
	oldest := cookies["warehouse"]
	for range auth.MaxSessionsPerToken + 3 {
		c.clock.Advance(time.Second)
		r := session(staff["warehouse"])
		if r.Status != http.StatusOK {
			t.Fatalf("a session: %d %s", r.Status, r.Body)
		}
		cookies["warehouse"], _, _ = strings.Cut(r.Header.Get("Set-Cookie"), ";")
	}
	var open int
	if err := c.app.db.Get(&open, `SELECT count(*) FROM console_sessions s JOIN api_tokens t ON t.id = s.token_id WHERE t.role = 'warehouse'`); err != nil ||
		open != auth.MaxSessionsPerToken {
		t.Fatalf("%d sessions of the warehouse token open (%v), want %d", open, err, auth.MaxSessionsPerToken)
	}
	if r := c.do("GET", "/console/queues/", "", nil, "Cookie", oldest); r.Status != http.StatusUnauthorized {
		t.Fatalf("the warehouse's oldest session after %d more: %d", auth.MaxSessionsPerToken+3, r.Status)
	}

	queues := func(path, token, cookie string) response {
		if cookie != "" {
			return c.do("GET", path, token, nil, "Cookie", cookie)
		}
		return c.do("GET", path, token, nil)
	}
	for _, tc := range []struct {
		name          string
		token, cookie string
		want          int
	}{
		{"nothing", "", "", http.StatusUnauthorized},
		{"an unknown cookie", "", consoleCookie + "=gb_" + strings.Repeat("B", 43), http.StatusUnauthorized},
		{"warehouse cookie", "", cookies["warehouse"], http.StatusForbidden},
		{"leader bearer", staff["leader"], "", http.StatusForbidden},
		{"warehouse bearer", staff["warehouse"], "", http.StatusForbidden},
		{"ops cookie", "", cookies["ops"], http.StatusOK},
		{"admin cookie", "", cookies["admin"], http.StatusOK},
		{"ops bearer", staff["ops"], "", http.StatusOK},
	} {
		r := queues("/console/queues/", tc.token, tc.cookie)
		if r.Status != tc.want {
			t.Errorf("/console/queues/ with %s: %d, want %d: %.200s", tc.name, r.Status, tc.want, r.Body)
			continue
		}
		if tc.want == http.StatusOK {
			if !bytes.Contains(r.Body, []byte("<title>Asynq - Monitoring</title>")) || !bytes.Contains(r.Body, []byte(`src="/console/queues/static/js/`)) {
				t.Errorf("/console/queues/ with %s: not asynqmon's page: %.300s", tc.name, r.Body)
			}
			if csp := r.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
				t.Errorf("/console/queues/: CSP %q", csp)
			}
		}
	}
	// asynqmon's own JSON API answers through the same guard.
	r := queues("/console/queues/api/queues", "", cookies["ops"])
	if r.Status != http.StatusOK || !bytes.Contains(r.Body, []byte(`"queues"`)) {
		t.Fatalf("asynqmon API: %d %.300s", r.Status, r.Body)
	}
	if r := queues("/console/queues/api/queues", "", cookies["warehouse"]); r.Status != http.StatusForbidden {
		t.Fatalf("asynqmon API for warehouse: %d", r.Status)
	}
	// A queue that does not exist is a 404 (asynqmon answered most with a 500).
	for _, path := range []string{"/console/queues/api/queues/nosuch", "/console/queues/api/queues/nosuch/pending_tasks",
		"/console/queues/api/queues/nosuch/tasks/nosuch"} {
		if r := queues(path, "", cookies["ops"]); r.Status != http.StatusNotFound || !bytes.Contains(r.Body, []byte("queue_not_found")) {
			t.Errorf("GET %s: %d %.200s", path, r.Status, r.Body)
		}
	}
	// The cookie is not a credential for the JSON API.
	if r := queues("/api/v1/ops/warehouses", "", cookies["admin"]); r.Status != http.StatusUnauthorized {
		t.Fatalf("the API with only the console cookie: %d", r.Status)
	}
	r = c.do("DELETE", "/console/session", "", nil, "Cookie", cookies["ops"], "Origin", c.srv.URL)
	if set := r.Header.Get("Set-Cookie"); r.Status != http.StatusNoContent || !strings.Contains(set, consoleCookie+"=;") || !strings.Contains(set, "Max-Age=0") {
		t.Fatalf("logout: %d %q", r.Status, set)
	}
}

// consoleCity is a night for the browser: pickup points spread around the
// warehouse, three routes' worth of orders, eggs received short (refund
// notices), and one point ordering more than any van carries, so the plan
// leaves it unserved.
type consoleCity struct {
	*testCity
	wave     wave.Wave
	path     string
	receiver *webhook.Receiver
}

// Names of the points; the unserved one carries characters that must reach
// the page as text, not markup.
var consolePointNames = []string{"春申路", "莘庄北广场", "七宝老街", "颛桥", "古美西路", "梅陇镇", "虹梅南路", "龙柏新村",
	"华漕", "江川路", "吴泾", "银都路", "平阳路", "田园新村", "罗阳小区", "新虹街道", "浦江镇", "马桥"}

const consoleOddName = `莘庄「A&B」<便利店>`

func newConsoleCity(t *testing.T) *consoleCity {
	t.Helper()
	m := newConsoleCityWith(t, func(*config.Config) {})
	m.wave = runNightToReady(t, m.testCity, m.path)
	return m
}

// newConsoleCityWith is the console's city with the configuration changed
// by tune, its orders placed and received, before its night.
func newConsoleCityWith(t *testing.T, tune func(*config.Config)) *consoleCity {
	t.Helper()
	c := newTestCityWith(t, 0, clock.NewManual(beforeCutoff), tune)
	ctx := context.Background()
	w := c.warehous
	// A sunflower of points 1-5 km around the warehouse, with a little jitter.
	spot := func(i int, rKm float64) (float64, float64) {
		angle := float64(i) * 2.39996 // the golden angle
		rKm += 0.3 * math.Sin(float64(i*i))
		return w.Lat + rKm*math.Sin(angle)/111.32, w.Lng + rKm*math.Cos(angle)/(111.32*math.Cos(w.Lat*math.Pi/180))
	}
	add := func(code, name string, lat, lng float64) pickup.PointCreated {
		pc, err := c.app.pickup.SavePoint(ctx, pickup.PointInput{
			Point:      pickup.Point{Code: code, WarehouseID: w.ID, Name: name + "自提点", Lat: lat, Lng: lng, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName: "团长" + name, LeaderPhone: fmt.Sprintf("1390000%04d", len(c.points)),
		})
		if err != nil {
			t.Fatal(err)
		}
		c.points = append(c.points, pc)
		c.leaders = append(c.leaders, pc.LeaderToken)
		return pc
	}
	for i, name := range consolePointNames {
		lat, lng := spot(i+1, 1+4*math.Sqrt(float64(i+1)/float64(len(consolePointNames))))
		add(fmt.Sprintf("C%02d", i+1), name, lat, lng)
	}
	add("C99", consoleOddName, w.Lat-0.034, w.Lng+0.047) // 3.8 km south, 4.5 km east

	van := map[string]any{"code": "VAN", "name": "4.2米冷藏车", "chilled": true, "frozen": true, "count": 4, "capacity_g": 120_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00", "fixed_cost_fen": 30000, "cost_per_km_fen": 150}
	c.addVehicleType(van)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	for l := range c.leaders {
		residents := 1 + l%3
		for i := range residents {
			body := orderBody(fmt.Sprintf("1593%02d%05d", l, i), fmt.Sprintf("居民%d", i), egg.ID, 2, rice.ID, 1, dumpling.ID, int64(1+i))
			if l == len(c.leaders)-1 { // 30 bags of rice: 150 kg, more than a van's 120 kg
				body = orderBody(fmt.Sprintf("1593%02d%05d", l, i), "大户", rice.ID, 30)
			}
			if r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", fmt.Sprintf("console-%d", i)); r.Status != http.StatusCreated {
				t.Fatalf("order: %d %s", r.Status, r.Body)
			}
		}
	}
	m := &consoleCity{testCity: c, receiver: c.notifyByWebhook("console-webhook-secret")}
	m.path = c.wavePath()
	if r := c.do("PUT", m.path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": c.sold(egg.ID) - 6}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	c.do("GET", m.path, c.admin, nil).json(t, &m.wave)
	return m
}

// sharedChromium is the one headless Chromium of the package's browser
// tests, started by the first of them (a start takes seconds on a loaded
// machine) and stopped by TestMain (closeChromium). Each test gets a tab in
// a browser context of its own: cookies, storage and downloads apart.
var sharedChromium struct {
	mu     sync.Mutex
	ctx    context.Context // the browser's first tab
	cancel func()
}

// chromiumBrowser returns the shared browser, starting it (again, should it
// have died) with the flags the machine notes give (a closed network: no
// background connections). A missing browser fails the test:
// scripts/test.sh installs it.
func chromiumBrowser(t *testing.T) context.Context {
	t.Helper()
	b := &sharedChromium
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ctx != nil && b.ctx.Err() == nil {
		return b.ctx
	}
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium not found (Debian package chromium; scripts/test.sh installs it): %v", err)
	}
	dir, err := os.MkdirTemp("", "groupbuy-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(bin),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1440, 1000),
	)
	ctx, cancelTab := chromedp.NewContext(alloc)
	stop := func() { cancelTab(); cancelAlloc(); _ = os.RemoveAll(dir) }
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		stop()
		t.Fatalf("start chromium: %v", err)
	}
	b.ctx, b.cancel = ctx, stop
	return ctx
}

// closeChromium stops the shared browser, if a test started it.
func closeChromium() {
	b := &sharedChromium
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cancel != nil {
		b.cancel()
		b.ctx, b.cancel = nil, nil
	}
}

// chromium opens a tab in a new browser context of the shared browser, closed
// when the test ends or after timeout, and returns it.
func chromium(t *testing.T, timeout time.Duration) context.Context {
	t.Helper()
	ctx, cancelTab := chromedp.NewContext(chromiumBrowser(t), chromedp.WithNewBrowserContext())
	ctx, cancelTime := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelTime(); cancelTab() })
	if err := chromedp.Do(ctx); err != nil { // opens the tab
		t.Fatalf("open a chromium tab: %v", err)
	}
	return ctx
}

// consolePage is a Chromium tab a browser test drives: run performs steps,
// wait polls a JavaScript condition (failing with the page's text), and
// checkProblems fails the test for the exceptions and CSP refusals the
// console's pages logged.
type consolePage struct {
	t        *testing.T
	ctx      context.Context
	mu       sync.Mutex
	problems []string
}

func newConsolePage(t *testing.T, timeout time.Duration) *consolePage {
	p := &consolePage{t: t, ctx: chromium(t, timeout)}
	console := chromedp.Console(p.ctx)
	go func() {
		for msg, err := range console {
			if err != nil {
				return
			}
			if msg.IsException() || strings.Contains(msg.Text, "Content Security Policy") {
				p.mu.Lock()
				p.problems = append(p.problems, fmt.Sprintf("%s %s (%s)", msg.Type, msg.Text, msg.URL))
				p.mu.Unlock()
			}
		}
	}()
	return p
}

func (p *consolePage) run(what string, steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

// click clicks what css selects, as a mouse would. The console redraws its
// panels as the night moves on, and a node found may be replaced before the
// mouse reaches it: gone from the document ("Could not find node with given
// id") or no longer laid out (chromedp.ErrInvalidDimensions, no box to aim
// at). Nothing was clicked then, so the node is found again.
func (p *consolePage) click(what, css string) {
	p.t.Helper()
	for try := 1; ; try++ {
		err := chromedp.Do(p.ctx, chromedp.Click(chromedp.CSS(css)))
		if err == nil {
			return
		}
		replaced := errors.Is(err, chromedp.ErrInvalidDimensions) ||
			strings.Contains(err.Error(), "Could not find node with given id")
		if try < 4 && replaced {
			continue
		}
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *consolePage) wait(what, expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		text, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
		p.t.Fatalf("%s: %v\npage text:\n%s", what, err, text)
	}
}

func (p *consolePage) checkProblems() {
	p.t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.problems) > 0 {
		p.t.Errorf("the console's pages logged %d problems:\n%s", len(p.problems), strings.Join(p.problems, "\n"))
	}
}

// TestConsoleInBrowser drives the console in headless Chromium: log in,
// open the wave, see a line per route and the unserved stop, download a
// route sheet, read the notices, take a screenshot (docs/console.png with
// GROUPBUY_UPDATE_SCREENSHOTS=1), let the trucks deliver and open the
// day's summary from the wave's page (checkDaySummary), and open the queue
// monitor.
func TestConsoleInBrowser(t *testing.T) {
	t.Parallel()
	start := time.Now()
	m := newConsoleCity(t)
	c := m.testCity
	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	if len(plan.Routes) < 2 || len(plan.Unserved) != 1 {
		t.Fatalf("the night planned %d routes, %d unserved; want several and one", len(plan.Routes), len(plan.Unserved))
	}
	night := time.Since(start)

	p := newConsolePage(t, 60*time.Second)
	ctx, run, wait := p.ctx, p.run, p.wait
	jsString := func(s string) string { return fmt.Sprintf("%q", s) } // Go's quoting is valid JS for these strings

	// Log in through the form: a wrong token first, then the admin's.
	run("open the console", chromedp.Navigate(c.srv.URL+"/console/"), chromedp.WaitVisible(chromedp.ID("token")))
	run("log in with a bad token",
		chromedp.SendKeys(chromedp.ID("token"), "gb_"+strings.Repeat("X", 43)),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	wait("the refusal", `document.getElementById('login-error').textContent.includes('令牌无效')`)
	run("log in",
		chromedp.Evaluate[chromedp.Void](`document.getElementById('token').value = ''`),
		chromedp.SendKeys(chromedp.ID("token"), c.admin),
		chromedp.Click(chromedp.CSS(`#login-form button[type=submit]`)))
	wait("the waves of today", `document.querySelector('.warehouses .warehouse') !== null`)

	// The test night is 2026-12-01; the browser's today is not, so pick the day.
	run("choose the day", chromedp.SetValue(chromedp.ID("day"), "2026-11-30"), chromedp.Click(chromedp.CSS(`.day-form button`)))
	card := fmt.Sprintf(`article.wave[data-wave="%d"]`, m.wave.ID)
	wait("the wave's card with every stage finished",
		fmt.Sprintf(`document.querySelectorAll(%s).length === %d`, jsString(card+" li.stage.done"), len(wave.Stages)))
	p.click("open the wave", card+" a.open")

	// One line per route, with the routes' codes; the unserved stop ringed with its reason.
	wait("a line per route", fmt.Sprintf(`document.querySelectorAll('svg.map polyline.route').length === %d`, len(plan.Routes)))
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('svg.map polyline.route')].map((p) => p.dataset.route)`))
	if err != nil {
		t.Fatal(err)
	}
	var codes []string
	stops := 0
	for _, r := range plan.Routes {
		codes = append(codes, r.Code)
		stops += len(r.Stops)
	}
	if !slices.Equal(drawn, codes) {
		t.Fatalf("routes drawn %v, planned %v", drawn, codes)
	}
	wait("a marker per stop", fmt.Sprintf(`document.querySelectorAll('svg.map g.stop').length === %d`, stops))
	miss, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('svg.map g.miss title')].map((t) => t.textContent).join('|')`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(miss, consoleOddName) || !strings.Contains(miss, "需求超过所有车型的载重或容积") {
		t.Fatalf("unserved stop on the map: %q (plan: %+v)", miss, plan.Unserved)
	}
	// The odd name is text on the page, not markup.
	wait("the unserved list, escaped", fmt.Sprintf(`document.querySelector('.unserved-list').innerText.includes(%s)`, jsString(consoleOddName)))

	// The first route's manifest: its stops in order.
	first := plan.Routes[0]
	wait("the manifest", fmt.Sprintf(`document.querySelectorAll('#manifest tbody tr').length === %d`, len(first.Stops)))
	seqs, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#manifest tbody tr')].map((r) => r.cells[1].textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	for i, st := range first.Stops {
		if seqs[i] != st.Name {
			t.Fatalf("manifest row %d: %q, want %q", i, seqs[i], st.Name)
		}
	}

	// The notices panel shows the outbox's numbers.
	var notices struct{ Kinds []notice.NoticeStats }
	c.do("GET", "/api/v1/ops/notices", c.admin, nil).json(t, &notices)
	var total int64
	for _, k := range notices.Kinds {
		total += k.Queued + k.Sent + k.Failed
	}
	if total == 0 {
		t.Fatal("no notices to show: eggs were received short")
	}
	wait("the notices panel", fmt.Sprintf(`document.querySelector('#notices tr[data-kind="*"] td.total')?.textContent === %s`, jsString(fmt.Sprint(total))))

	// Download the first route's sheet: fetch with the bearer header, saved by the browser.
	downloads := t.TempDir()
	if _, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads, BrowserContextID: chromedp.FromContext(ctx).BrowserContextID}); err != nil {
		t.Fatal(err)
	}
	p.click("download the route sheet", `#manifest button[data-file^="route-sheet.pdf"]`)
	name := fmt.Sprintf("wave%d-route-sheet-%s.pdf", m.wave.ID, first.Code)
	var pdf []byte
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if pdf, err = os.ReadFile(filepath.Join(downloads, name)); err == nil && len(pdf) > 0 {
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(downloads)
			t.Fatalf("no %s downloaded: %v %v", name, err, entries)
		}
	}
	if !bytes.HasPrefix(pdf, []byte("%PDF")) {
		t.Fatalf("%s is not a PDF: %.20q", name, pdf)
	}
	wait("the download note", fmt.Sprintf(`document.querySelector('.toolbar .note').textContent.includes(%s)`, jsString(name)))

	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "console.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("GROUPBUY_UPDATE_SCREENSHOTS") == "1" {
		if err := os.WriteFile("../../docs/console.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p.checkProblems()
	checkDaySummary(t, m, p)

	// The queue monitor, with the cookie the login set.
	run("open the queue monitor", chromedp.Navigate(c.srv.URL+"/console/queues/"))
	wait("asynqmon's page", `document.title === 'Asynq - Monitoring' && document.querySelector('#root').childElementCount > 0`)
	status, err := chromedp.Run(ctx, chromedp.Evaluate[int](`fetch('/console/queues/api/queues').then((r) => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || status != http.StatusOK {
		t.Fatalf("asynqmon's API from the page: %d %v", status, err)
	}
	t.Logf("night %v, browser %v", night.Round(time.Millisecond), (time.Since(start) - night).Round(time.Millisecond))
}
