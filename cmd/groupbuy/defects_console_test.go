package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hibiken/asynq"

	"groupbuy/internal/auth"
)

// consoleLogin opens a console session for token as the console's page
// does (JSON, from the page's own origin) and returns the cookie to send.
func (c *testCity) consoleLogin(token string) string {
	c.t.Helper()
	r := c.do("POST", "/console/session", "", map[string]string{"token": token},
		"Content-Type", "application/json", "Origin", c.srv.URL, "Sec-Fetch-Site", "same-origin")
	if r.Status != http.StatusOK {
		c.t.Fatalf("console session: %d %s", r.Status, r.Body)
	}
	for _, ck := range (&http.Response{Header: r.Header}).Cookies() {
		if ck.Name == consoleCookie && ck.Value != "" {
			return ck.Name + "=" + ck.Value
		}
	}
	c.t.Fatalf("console session set no cookie: %v", r.Header)
	return ""
}

// queuePaused asks asynq itself whether a queue is paused.
func (c *testCity) queuePaused(queue string) bool {
	c.t.Helper()
	ins := asynq.NewInspector(c.app.redis)
	info, err := ins.GetQueueInfo(queue)
	if err != nil {
		c.t.Fatalf("queue %s: %v", queue, err)
	}
	return info.Paused
}

// TestConsoleRefusesCrossSiteWrites (issue 13, item 6): the queue monitor's
// writes with only the console cookie must come from the console's own
// origin; another origin (even on the same site, which SameSite lets the
// cookie through from) is refused and the queue stays as it was.
func TestConsoleRefusesCrossSiteWrites(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	// A task in "default", so asynq knows the queue.
	if _, err := c.app.queue.Enqueue(asynq.NewTask("test:noop", nil)); err != nil {
		t.Fatal(err)
	}
	ops := c.staffToken("ops")
	cookie := c.consoleLogin(ops)
	const pause = "/console/queues/api/queues/default:pause"
	const form = "application/x-www-form-urlencoded"
	for _, tc := range []struct {
		name    string
		headers []string
	}{
		{"a foreign Origin (the report's attack)", []string{"Origin", "http://evil.example"}},
		{"another name of this host", []string{"Origin", strings.Replace(c.srv.URL, "127.0.0.1", "localhost", 1)}},
		{"another port of this host", []string{"Origin", "http://127.0.0.1:1"}},
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site", "Origin", c.srv.URL}},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"}},
		{"an opaque Origin", []string{"Origin", "null"}},
		{"an http Origin to https", []string{"Origin", c.srv.URL, "X-Forwarded-Proto", "https"}},
		{"neither header", nil},
	} {
		r := c.do("POST", pause, "", "x=1", append([]string{"Cookie", cookie, "Content-Type", form}, tc.headers...)...)
		if r.Status != http.StatusForbidden || r.errorCode(t) != "cross_origin" {
			t.Errorf("pause with the cookie from %s: %d %s, want 403 cross_origin", tc.name, r.Status, r.Body)
		}
		if c.queuePaused("default") {
			t.Fatalf("pause with the cookie from %s paused the queue", tc.name)
		}
	}
	// Nor may another origin log the browser in (with its own token).
	r := c.do("POST", "/console/session", "", map[string]string{"token": ops}, "Content-Type", "application/json", "Origin", "http://evil.example")
	if r.Status != http.StatusForbidden || r.Header.Get("Set-Cookie") != "" {
		t.Errorf("a login from another origin: %d %q %s", r.Status, r.Header.Get("Set-Cookie"), r.Body)
	}
	// Reads with the cookie need no origin: a navigation sends none.
	if r := c.do("GET", "/console/queues/api/queues", "", nil, "Cookie", cookie); r.Status != http.StatusOK {
		t.Fatalf("reading with the cookie: %d %s", r.Status, r.Body)
	}

	// From the page itself: allowed, by either header.
	if r := c.do("POST", pause, "", nil, "Cookie", cookie, "Sec-Fetch-Site", "same-origin", "Origin", c.srv.URL); r.Status != http.StatusNoContent {
		t.Fatalf("pause from the console's page: %d %s", r.Status, r.Body)
	}
	if !c.queuePaused("default") {
		t.Fatal("the console's own pause did not pause the queue")
	}
	if r := c.do("POST", "/console/queues/api/queues/default:resume", "", nil, "Cookie", cookie, "Origin", c.srv.URL); r.Status != http.StatusNoContent {
		t.Fatalf("resume from the console's page (Origin only): %d %s", r.Status, r.Body)
	}
	if c.queuePaused("default") {
		t.Fatal("the console's own resume left the queue paused")
	}

	// A bearer header is no ambient credential: a client sending one is not
	// a browser tricked by another site, so its Origin does not matter.
	if r := c.do("POST", pause, ops, nil, "Origin", "http://evil.example"); r.Status != http.StatusNoContent {
		t.Fatalf("pause with a bearer header: %d %s", r.Status, r.Body)
	}
	if !c.queuePaused("default") {
		t.Fatal("the bearer pause did not pause the queue")
	}
}

// TestConsoleSessionIsNotTheToken (issue 13, item 6): the cookie holds a
// session id, not the token; logging out ends the session on the server;
// revoking or expiring the token, or the session's own expiry, ends it too.
func TestConsoleSessionIsNotTheToken(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	const monitor = "/console/queues/api/queues"
	ops := c.staffToken("ops")
	cookie := c.consoleLogin(ops)
	if strings.Contains(cookie, ops) || strings.Contains(cookie, strings.TrimPrefix(ops, "gb_")) {
		t.Fatalf("the cookie carries the token: %s", cookie)
	}
	sid := strings.TrimPrefix(cookie, consoleCookie+"=")
	if r := c.do("GET", monitor, "", nil, "Cookie", cookie); r.Status != http.StatusOK {
		t.Fatalf("the monitor with the session: %d %s", r.Status, r.Body)
	}
	// The session id is a credential for the monitor only, by cookie.
	if r := c.do("GET", monitor, sid, nil); r.Status != http.StatusUnauthorized {
		t.Errorf("the session id as a bearer token: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/warehouses", "", nil, "Cookie", cookie); r.Status != http.StatusUnauthorized {
		t.Errorf("the API with the console cookie: %d %s", r.Status, r.Body)
	}

	// Logging out from another origin is refused and ends nothing.
	if r := c.do("DELETE", "/console/session", "", nil, "Cookie", cookie, "Origin", "http://evil.example"); r.Status != http.StatusForbidden {
		t.Errorf("logout from another origin: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", monitor, "", nil, "Cookie", cookie); r.Status != http.StatusOK {
		t.Fatalf("the monitor after a refused logout: %d %s", r.Status, r.Body)
	}
	r := c.do("DELETE", "/console/session", "", nil, "Cookie", cookie, "Origin", c.srv.URL)
	if set := r.Header.Get("Set-Cookie"); r.Status != http.StatusNoContent || !strings.Contains(set, "Max-Age=0") {
		t.Fatalf("logout: %d %q %s", r.Status, set, r.Body)
	}
	// The browser drops the cookie; one kept (copied, stolen) is dead too.
	if r := c.do("GET", monitor, "", nil, "Cookie", cookie); r.Status != http.StatusUnauthorized || r.errorCode(t) != "unauthorized" {
		t.Errorf("the old cookie after logout: %d %s", r.Status, r.Body)
	}
	// The token itself lives on: logging out of the console is not revoking it.
	if r := c.do("GET", monitor, ops, nil); r.Status != http.StatusOK {
		t.Errorf("the token after logout: %d %s", r.Status, r.Body)
	}

	// Revoking the token ends its sessions at once (no cache to wait for).
	cookie = c.consoleLogin(ops)
	var opsID int64
	if err := c.app.db.Get(&opsID, `SELECT id FROM api_tokens WHERE token_hash = $1`, auth.HashToken(ops)); err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/tokens/%d/revoke", opsID), c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", monitor, "", nil, "Cookie", cookie); r.Status != http.StatusUnauthorized {
		t.Errorf("a revoked token's session: %d %s", r.Status, r.Body)
	}

	// A session ends by itself after a working day, and with its token's expiry.
	admin := c.consoleLogin(c.admin)
	c.clock.Advance(consoleSessionTTL - time.Minute)
	if r := c.do("GET", monitor, "", nil, "Cookie", admin); r.Status != http.StatusOK {
		t.Fatalf("a session before its end: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(time.Minute)
	if r := c.do("GET", monitor, "", nil, "Cookie", admin); r.Status != http.StatusUnauthorized {
		t.Errorf("an expired session: %d %s", r.Status, r.Body)
	}
	short, _, err := auth.IssueToken(context.Background(), c.app.db, c.clock.Now(),
		auth.TokenSpec{Role: auth.RoleOps, Name: "an hour", TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	cookie = c.consoleLogin(short)
	c.clock.Advance(time.Hour)
	if r := c.do("GET", monitor, "", nil, "Cookie", cookie); r.Status != http.StatusUnauthorized {
		t.Errorf("the session of an expired token: %d %s", r.Status, r.Body)
	}
}

// TestConsoleCrossSiteFormInBrowser (issue 13, item 6) replays the attack in
// Chromium: a page on another port of the same host (the same site, so the
// SameSite=Strict cookie goes along) posts a form to the monitor's pause.
// The monitor refuses it; the console's own page pauses with the same
// cookie.
func TestConsoleCrossSiteFormInBrowser(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	if _, err := c.app.queue.Enqueue(asynq.NewTask("test:noop", nil)); err != nil {
		t.Fatal(err)
	}
	pause := c.srv.URL + "/console/queues/api/queues/default:pause"
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="POST" action=%q><input name="x" value="1"></form><script>document.forms[0].submit()</script>`, pause)
	}))
	t.Cleanup(evil.Close)

	ctx := chromium(t, 60*time.Second)
	eval := func(what, expr string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(c.srv.URL+"/console/")); err != nil {
		t.Fatal(err)
	}
	login := fmt.Sprintf(`fetch('/console/session', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({token: %q})}).then((r) => String(r.status))`, c.admin)
	if s := eval("log in", login); s != "200" {
		t.Fatalf("login from the console's page: %s", s)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(evil.URL)); err != nil {
		t.Fatal(err)
	}
	// The form lands on the monitor's answer: 403 cross_origin shows the
	// cookie went along (without it the answer is 401). A 204 would leave
	// the page where it is, so watch the queue as well.
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c.queuePaused("default") {
			t.Fatal("the cross-site form paused the queue")
		}
		if eval("the answer", `location.href.endsWith(':pause') ? document.body.innerText : ''`) != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cross-site form got no answer: %s", eval("the page", `location.href + ' ' + document.body.innerText`))
		}
		time.Sleep(50 * time.Millisecond) // polling both sides; nothing to wait on
	}
	if text := eval("the answer", `document.body.innerText`); !strings.Contains(text, `"cross_origin"`) {
		t.Fatalf("the cross-site form's answer: %s", text)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(c.srv.URL+"/console/")); err != nil {
		t.Fatal(err)
	}
	if s := eval("pause", `fetch('/console/queues/api/queues/default:pause', {method: 'POST'}).then((r) => String(r.status))`); s != "204" {
		t.Fatalf("pause from the console's page: %s", s)
	}
	if !c.queuePaused("default") {
		t.Fatal("the console's own pause did not pause the queue")
	}
}

// TestConsoleSessionCountsAgainstItsToken: writes with the console cookie
// count against the session's token like its bearer writes (one limit), and
// so does the login that opens the session.
func TestConsoleSessionCountsAgainstItsToken(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	if _, err := c.app.queue.Enqueue(asynq.NewTask("test:noop", nil)); err != nil {
		t.Fatal(err)
	}
	cfg := c.app.cfg
	cfg.WriteLimit = 3
	a := startApp(t, cfg, c.app.log, c.clock)
	srv := apiServer(t, a)
	do := func(method, path, token string, headers ...string) response {
		return doHTTP(t, srv.Client(), method, srv.URL+path, token, nil, append(headers, "Origin", srv.URL)...)
	}
	ops := c.staffToken("ops")
	r := doHTTP(t, srv.Client(), "POST", srv.URL+"/console/session", "", map[string]string{"token": ops},
		"Content-Type", "application/json", "Origin", srv.URL)
	cookie, _, _ := strings.Cut(r.Header.Get("Set-Cookie"), ";")
	if r.Status != http.StatusOK || cookie == "" {
		t.Fatalf("console session: %d %s", r.Status, r.Body)
	}
	if r := do("POST", "/console/queues/api/queues/default:pause", ops); r.Status != http.StatusNoContent {
		t.Fatalf("pause with the token: %d %s", r.Status, r.Body)
	}
	if r := do("POST", "/console/queues/api/queues/default:resume", "", "Cookie", cookie); r.Status != http.StatusNoContent {
		t.Fatalf("resume with the session: %d %s", r.Status, r.Body)
	}
	if r := do("POST", "/console/queues/api/queues/default:pause", "", "Cookie", cookie); r.Status != http.StatusTooManyRequests {
		t.Fatalf("a fourth write of the token (the login its first), by its session: %d %s", r.Status, r.Body)
	}
	if c.queuePaused("default") {
		t.Fatal("the write over the limit paused the queue")
	}
}
