// Package webhook is the receiving end of the notice webhook, as an
// operator's side would run it: `groupbuy dev` logs residents' notices with
// it, and the tests and the lab's bench-notify count what arrived.
package webhook

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"groupbuy/pickup/notify"
)

// Receiver checks each notice's signature and de-duplicates by the
// Idempotency-Key, counting the repeats it absorbed.
type Receiver struct {
	secret string
	// OnFirst, when set before the receiver serves, is called on the first
	// delivery of each key.
	OnFirst func(key string, n Notice)

	mu       sync.Mutex
	byKey    map[string]Notice
	requests int // every delivery, repeats included
	bad      int // signature rejected
}

// Notice is the first delivery of one key.
type Notice struct {
	Kind       string            `json:"kind"`
	ResidentID int64             `json:"resident_id"`
	Text       string            `json:"text"`
	Vars       map[string]string `json:"vars"`
	Times      int               `json:"-"` // deliveries of this key
}

// NewReceiver returns a receiver of notices signed with secret.
func NewReceiver(secret string) *Receiver {
	return &Receiver{secret: secret, byKey: map[string]Notice{}}
}

// ServeHTTP takes one delivery: 401 for a bad signature, else 200, repeats
// of a key included.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	key, err := notify.VerifyDelivery(rc.secret, r.Header, body, time.Now(), time.Minute)
	if err != nil {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	n, seen := rc.byKey[key]
	if !seen {
		if err := json.Unmarshal(body, &n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	n.Times++
	rc.byKey[key] = n
	if !seen && rc.OnFirst != nil {
		rc.OnFirst(key, n)
	}
	w.WriteHeader(http.StatusOK)
}

// Stats returns distinct keys received, all deliveries, and rejected ones.
func (rc *Receiver) Stats() (distinct, requests, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.byKey), rc.requests, rc.bad
}

// Forget drops what was received so far, counts included: a run of many
// nights keeps one night's notices, not all of them.
func (rc *Receiver) Forget() {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.byKey, rc.requests, rc.bad = map[string]Notice{}, 0, 0
}

// Notices returns a copy of what was received, by key.
func (rc *Receiver) Notices() map[string]Notice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]Notice, len(rc.byKey))
	for k, v := range rc.byKey {
		out[k] = v
	}
	return out
}

// Serve serves h on a loopback port with a real net/http server and returns
// the URL to send notices to and a function that closes it.
func Serve(h http.Handler) (url string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/notices", func() { _ = srv.Close() }, nil
}

// WorkerEnv is the environment that makes a `groupbuy worker` process send
// residents' notices to the webhook at url, signed with secret, holding the
// notices it claims for lease.
func WorkerEnv(url, secret string, lease time.Duration) []string {
	return []string{"GROUPBUY_NOTIFY_CHANNELS=webhook", "GROUPBUY_WEBHOOK_URL=" + url, "GROUPBUY_WEBHOOK_SECRET=" + secret,
		"GROUPBUY_NOTICE_LEASE=" + lease.String()}
}
