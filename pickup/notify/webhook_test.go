package notify

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const testSecret = "whsec-test"

func testMessage() Message {
	return Message{
		Key: "arrival:2026-12-01:42", Kind: KindArrival, ResidentID: 42,
		Phone: "13800000000", Name: "王芳",
		Text:      "您的订单已到达幸福里便利店，提货码8-3-12。",
		Vars:      map[string]string{"point": "幸福里便利店", "code": "8-3-12"},
		Payload:   json.RawMessage(`{"order_id":9001,"items":["鸡蛋","牛奶"]}`),
		CreatedAt: time.Date(2026, 12, 1, 1, 30, 0, 0, time.UTC),
	}
}

// receiver is a webhook endpoint that verifies every request and answers
// with the next status from script (200 once the script runs out).
type receiver struct {
	t      *testing.T
	script []int
	delay  time.Duration

	mu     sync.Mutex
	calls  int
	keys   []string
	bodies [][]byte
	errs   []error
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	n := rc.calls
	rc.calls++
	rc.keys = append(rc.keys, r.Header.Get(HeaderIdempotencyKey))
	rc.bodies = append(rc.bodies, body)
	if _, err := VerifyDelivery(testSecret, r.Header, body, time.Now(), time.Minute); err != nil {
		rc.errs = append(rc.errs, err)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		rc.errs = append(rc.errs, errors.New("not a JSON POST"))
	}
	status := http.StatusOK
	if n < len(rc.script) {
		status = rc.script[n]
	}
	rc.mu.Unlock()
	if rc.delay > 0 {
		select {
		case <-time.After(rc.delay):
		case <-r.Context().Done():
		}
	}
	w.WriteHeader(status)
}

func (rc *receiver) check() (calls int, keys []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, err := range rc.errs {
		rc.t.Errorf("receiver: %v", err)
	}
	return rc.calls, rc.keys
}

func newReceiver(t *testing.T, script ...int) (*receiver, *httptest.Server) {
	rc := &receiver{t: t, script: script}
	srv := httptest.NewServer(rc)
	t.Cleanup(srv.Close)
	return rc, srv
}

func fastOpts() WebhookOptions {
	return WebhookOptions{Timeout: 2 * time.Second, Backoff: 5 * time.Millisecond}
}

func TestWebhookDelivers(t *testing.T) {
	rc, srv := newReceiver(t)
	wh := NewWebhook(srv.URL, testSecret, fastOpts())
	m := testMessage()
	if err := wh.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls, keys := rc.check()
	if calls != 1 || keys[0] != m.Key {
		t.Fatalf("calls = %d, keys = %v", calls, keys)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(rc.bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"key", "kind", "resident_id", "phone", "name", "text", "vars", "payload", "created_at"} {
		if _, ok := got[f]; !ok {
			t.Errorf("body lacks %q: %s", f, rc.bodies[0])
		}
	}
	var body webhookBody
	_ = json.Unmarshal(rc.bodies[0], &body)
	if body.Text != m.Text || body.Name != m.Name || body.ResidentID != 42 || !body.CreatedAt.Equal(m.CreatedAt) || body.Vars["code"] != "8-3-12" {
		t.Errorf("body = %+v", body)
	}
	if string(got["payload"]) != string(m.Payload) {
		t.Errorf("payload = %s, want %s as is", got["payload"], m.Payload)
	}
}

func TestWebhookRetriesThenDelivers(t *testing.T) {
	rc, srv := newReceiver(t, 500, 503)
	wh := NewWebhook(srv.URL, testSecret, fastOpts())
	if err := wh.Send(context.Background(), testMessage()); err != nil {
		t.Fatalf("Send: %v", err)
	}
	calls, keys := rc.check()
	if calls != 3 {
		t.Fatalf("calls = %d, want 3", calls)
	}
	// Every attempt carries the same key so the receiver can de-duplicate.
	if keys[0] != keys[1] || keys[1] != keys[2] || string(rc.bodies[0]) != string(rc.bodies[2]) {
		t.Errorf("attempts differ: keys %v", keys)
	}
}

func TestWebhookStatusClasses(t *testing.T) {
	tests := []struct {
		name      string
		script    []int
		calls     int
		permanent bool
	}{
		{"bad request is permanent", []int{400}, 1, true},
		{"gone is permanent", []int{410}, 1, true},
		{"redirect is not followed", []int{302}, 1, true},
		{"timeout status retried", []int{408, 200}, 2, false},
		{"throttled then delivered", []int{429, 200}, 2, false},
		{"server errors exhaust retries", []int{500, 500, 500, 500}, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, srv := newReceiver(t, tt.script...)
			err := NewWebhook(srv.URL, testSecret, fastOpts()).Send(context.Background(), testMessage())
			calls, _ := rc.check()
			if calls != tt.calls {
				t.Errorf("calls = %d, want %d", calls, tt.calls)
			}
			delivered := tt.script[tt.calls-1] == 200
			if delivered != (err == nil) {
				t.Fatalf("err = %v, delivered want %v", err, delivered)
			}
			if err != nil && IsPermanent(err) != tt.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, IsPermanent(err), tt.permanent)
			}
		})
	}
}

func TestWebhookTimeout(t *testing.T) {
	rc, srv := newReceiver(t)
	rc.delay = 3 * time.Second
	wh := NewWebhook(srv.URL, testSecret, WebhookOptions{Timeout: 100 * time.Millisecond, Retries: 1, Backoff: time.Millisecond})
	start := time.Now()
	err := wh.Send(context.Background(), testMessage())
	if err == nil || IsPermanent(err) {
		t.Fatalf("err = %v, want a transient timeout", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("took %v; the per-attempt timeout did not bite", d)
	}
	if calls, _ := rc.check(); calls != 2 {
		t.Errorf("calls = %d, want 2 (one retry)", calls)
	}
}

func TestWebhookHonoursContext(t *testing.T) {
	_, srv := newReceiver(t, 500, 500, 500)
	wh := NewWebhook(srv.URL, testSecret, WebhookOptions{Backoff: time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := wh.Send(ctx, testMessage())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 800*time.Millisecond {
		t.Errorf("took %v, ctx not honoured during backoff", d)
	}
}

func TestWebhookNetworkErrorIsTransient(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	err = NewWebhook("http://"+addr, testSecret, fastOpts()).Send(context.Background(), testMessage())
	if err == nil || IsPermanent(err) {
		t.Errorf("err = %v, want transient", err)
	}
}

func TestVerifyWebhookRejects(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	body := []byte(`{"key":"k"}`)
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1/", nil)
	if err != nil {
		t.Fatal(err)
	}
	ts := "1800000000"
	req.Header.Set(HeaderTimestamp, ts)
	req.Header.Set(HeaderSignature, "sha256="+hex.EncodeToString(signWebhook([]byte(testSecret), ts, body)))
	if err := VerifyWebhook(testSecret, req.Header, body, now.Add(30*time.Second), time.Minute); err != nil {
		t.Fatalf("valid request rejected: %v", err)
	}

	stripped := req.Header.Clone()
	stripped.Del(HeaderSignature)
	badHex := req.Header.Clone()
	badHex.Set(HeaderSignature, "sha256=zz")
	cases := map[string]func() error{
		"altered body": func() error { return VerifyWebhook(testSecret, req.Header, []byte(`{"key":"x"}`), now, time.Minute) },
		"other secret": func() error { return VerifyWebhook("other", req.Header, body, now, time.Minute) },
		"stale":        func() error { return VerifyWebhook(testSecret, req.Header, body, now.Add(2*time.Minute), time.Minute) },
		"future":       func() error { return VerifyWebhook(testSecret, req.Header, body, now.Add(-2*time.Minute), time.Minute) },
		"unsigned":     func() error { return VerifyWebhook(testSecret, stripped, body, now, time.Minute) },
		"malformed":    func() error { return VerifyWebhook(testSecret, badHex, body, now, time.Minute) },
	}
	// A delivery's key is the one its signed body names: a captured request
	// replayed under a fresh Idempotency-Key is no new delivery.
	keyed := func(key string) func() error {
		return func() error {
			h := req.Header.Clone()
			if key != "" {
				h.Set(HeaderIdempotencyKey, key)
			}
			_, err := VerifyDelivery(testSecret, h, body, now, time.Minute)
			return err
		}
	}
	cases["replayed under another key"], cases["without its key"] = keyed("k:again"), keyed("")
	for name, verify := range cases {
		if err := verify(); !errors.Is(err, ErrWebhookSignature) {
			t.Errorf("%s: err = %v, want ErrWebhookSignature", name, err)
		}
	}
	if key, err := keyed("k")(), error(nil); key != nil || err != nil {
		t.Fatalf("a delivery under its own key: %v", key)
	}
}

// TestWebhookReusesConnections sends a burst from 64 goroutines, as the
// dispatcher will, and checks that connections are kept alive and reused
// rather than dialled per notice.
func TestWebhookReusesConnections(t *testing.T) {
	const workers, perWorker = 64, 30
	var conns, hits atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		hits.Add(1)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	wh := NewWebhook(srv.URL, testSecret, WebhookOptions{})
	defer wh.CloseIdleConnections()

	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Go(func() {
			for range perWorker {
				if err := wh.Send(context.Background(), testMessage()); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 || hits.Load() != workers*perWorker {
		t.Fatalf("failed %d, hits %d of %d", failed.Load(), hits.Load(), workers*perWorker)
	}
	// A few extra dials happen when a request starts just before another
	// hands its connection back; per-notice dialling would be ~1,900.
	if c := conns.Load(); c > 2*workers {
		t.Errorf("%d connections for %d workers and %d sends: connections are not reused", c, workers, workers*perWorker)
	}
}

func BenchmarkWebhookSend(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer srv.Close()
	wh := NewWebhook(srv.URL, testSecret, WebhookOptions{})
	m := testMessage()
	b.SetParallelism(8)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := wh.Send(context.Background(), m); err != nil {
				b.Error(err)
			}
		}
	})
}

// TestPublicOnlyWebhooksDialNoPrivateAddress: a webhook for a URL set on
// someone else's behalf (a supplier's) dials public addresses only: not
// the loopback it names, by address or by a name resolving to it, and the
// refusal is permanent (retrying cannot help).
func TestPublicOnlyWebhooksDialNoPrivateAddress(t *testing.T) {
	rc, srv := newReceiver(t)
	named := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	for _, u := range []string{srv.URL, named} {
		err := NewWebhook(u, testSecret, WebhookOptions{PublicOnly: true, Timeout: time.Second}).Send(context.Background(), testMessage())
		if !errors.Is(err, ErrPrivateAddress) || !IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent ErrPrivateAddress", u, err)
		}
	}
	if calls, _ := rc.check(); calls != 0 {
		t.Fatalf("the private receiver got %d requests", calls)
	}
	for ip, public := range map[string]bool{"169.254.169.254": false, "10.0.0.5": false, "192.168.1.1": false, "172.16.0.1": false,
		"100.64.1.1": false, "127.0.0.1": false, "0.0.0.0": false, "::1": false, "fd00::1": false, "fe80::1": false,
		"8.8.8.8": true, "2001:4860:4860::8888": true, "::ffff:10.0.0.1": false} {
		if PublicAddress(net.ParseIP(ip)) != public {
			t.Errorf("PublicAddress(%s) = %v", ip, !public)
		}
	}
}
