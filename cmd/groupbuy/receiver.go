package main

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"groupbuy/pickup/notify"
)

// webhookReceiver is what an operator's side of the notice webhook does:
// check the signature, and de-duplicate by the Idempotency-Key, counting
// the repeats it absorbed. The benchmarks and tests receive notices with it.
type webhookReceiver struct {
	secret string

	mu       sync.Mutex
	byKey    map[string]receivedNotice
	requests int                                // every delivery, repeats included
	bad      int                                // signature rejected
	fail     func(key string) int               // optional: the status to answer instead of 200
	onFirst  func(key string, n receivedNotice) // optional: called on the first delivery of a key
}

// receivedNotice is the first delivery of one key.
type receivedNotice struct {
	Kind       string            `json:"kind"`
	ResidentID int64             `json:"resident_id"`
	Text       string            `json:"text"`
	Vars       map[string]string `json:"vars"`
	Times      int               `json:"-"` // deliveries of this key
}

func newWebhookReceiver(secret string) *webhookReceiver {
	return &webhookReceiver{secret: secret, byKey: map[string]receivedNotice{}}
}

func (rc *webhookReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.requests++
	if err := notify.VerifyWebhook(rc.secret, r.Header, body, time.Now(), time.Minute); err != nil || key == "" {
		rc.bad++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if rc.fail != nil {
		if status := rc.fail(key); status != 0 {
			w.WriteHeader(status)
			return
		}
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
	if !seen && rc.onFirst != nil {
		rc.onFirst(key, n)
	}
	w.WriteHeader(http.StatusOK)
}

// stats returns distinct keys received, all deliveries, and rejected ones.
func (rc *webhookReceiver) stats() (distinct, requests, bad int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.byKey), rc.requests, rc.bad
}

// notices returns a copy of what was received, by key.
func (rc *webhookReceiver) notices() map[string]receivedNotice {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	out := make(map[string]receivedNotice, len(rc.byKey))
	for k, v := range rc.byKey {
		out[k] = v
	}
	return out
}

// serveReceiver serves h on a loopback port with a real net/http server and
// returns its URL and a function that closes it.
func serveReceiver(h http.Handler) (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String() + "/notices", func() { _ = srv.Close() }, nil
}
