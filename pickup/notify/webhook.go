package notify

import (
	"bytes"
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Headers of a webhook request.
const (
	HeaderIdempotencyKey = "Idempotency-Key"      // Message.Key; receivers de-duplicate by it
	HeaderTimestamp      = "X-Groupbuy-Timestamp" // unix seconds when signed
	HeaderSignature      = "X-Groupbuy-Signature" // "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body)
)

// ErrWebhookSignature means a received webhook is unsigned, signed with
// another secret, altered, or too old to trust.
var ErrWebhookSignature = errors.New("notify: webhook signature rejected")

// WebhookOptions tunes a Webhook; the zero value gives the defaults.
type WebhookOptions struct {
	// Timeout bounds each attempt; default 5 s.
	Timeout time.Duration
	// Retries is how many quick retries follow a network error, 408, 429 or
	// 5xx within one Send; 0 means the default 2, negative means none.
	Retries int
	// Backoff is the pause before the first retry, doubled for each next
	// one and jittered; default 100 ms.
	Backoff time.Duration
	// Client replaces the Webhook's own client, e.g. to add tracing.
	Client *http.Client
	// Now is the clock for the signature timestamp; nil means time.Now.
	Now func() time.Time
	// PublicOnly dials public addresses only, whatever the URL's name
	// resolves to: for a URL set through the API on someone else's behalf
	// (a supplier's), which must not reach into the operator's network.
	PublicOnly bool
}

// ErrPrivateAddress is a webhook refused because its address is not public
// (loopback, private, link-local, shared or unspecified) under PublicOnly.
var ErrPrivateAddress = errors.New("notify: webhook: the address is not public")

// PublicAddress reports whether ip is on the public internet: not loopback,
// private (RFC 1918, fc00::/7), link-local (the cloud metadata service),
// shared (100.64.0.0/10), multicast or unspecified.
func PublicAddress(ip net.IP) bool {
	return !(ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsMulticast() ||
		ip.IsUnspecified() || ip.IsInterfaceLocalMulticast() || sharedSpace.Contains(ip))
}

var sharedSpace = &net.IPNet{IP: net.IPv4(100, 64, 0, 0), Mask: net.CIDRMask(10, 32)}

// maxBackoff caps in-call pauses, including a Retry-After the receiver asks
// for: longer waits belong to the dispatcher, not to a goroutine held here.
const maxBackoff = 2 * time.Second

// Webhook POSTs each notice as signed JSON to one URL.
type Webhook struct {
	url    string
	secret []byte
	opts   WebhookOptions
	client *http.Client
}

// NewWebhook returns a Webhook posting to url, signing with secret.
func NewWebhook(url, secret string, opts WebhookOptions) *Webhook {
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Retries == 0 {
		opts.Retries = 2
	} else if opts.Retries < 0 {
		opts.Retries = 0
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	client := opts.Client
	if client == nil {
		client = NewWebhookClient(opts.PublicOnly)
	}
	return &Webhook{url: url, secret: []byte(secret), opts: opts, client: client}
}

// NewWebhookClient is the client webhooks post with, for a caller that
// shares one between many receivers (to keep their connections); public
// only, it dials no private address.
func NewWebhookClient(publicOnly bool) *http.Client {
	return &http.Client{
		Transport: newTransport(publicOnly),
		// A redirected POST turns into a GET; a moved receiver is a
		// configuration error to surface, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// newTransport is tuned for a dispatcher that pushes about 100,000 notices a
// minute from some 64 goroutines to a single host: enough idle connections
// per host that none is closed and redialled between two sends.
func newTransport(publicOnly bool) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	proxy := http.ProxyFromEnvironment
	if publicOnly {
		// Checked on the address dialled, after the name is resolved, so a
		// name that resolves (or is rebound) to a private address is caught.
		dialer.Control = func(_, address string, _ syscall.RawConn) error {
			host, _, err := net.SplitHostPort(address)
			if ip := net.ParseIP(host); err != nil || ip == nil || !PublicAddress(ip) {
				return fmt.Errorf("%w: %s", ErrPrivateAddress, address)
			}
			return nil
		}
		proxy = nil // a proxy would dial for us, unchecked
	}
	return &http.Transport{
		Proxy:                 proxy,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          512,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   5 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// Name returns "webhook".
func (w *Webhook) Name() string { return ChannelWebhook }

// CloseIdleConnections closes the kept-alive connections, e.g. at shutdown.
func (w *Webhook) CloseIdleConnections() { w.client.CloseIdleConnections() }

// webhookBody is the JSON a receiver gets.
type webhookBody struct {
	Key        string            `json:"key"`
	Kind       Kind              `json:"kind"`
	ResidentID int64             `json:"resident_id"`
	Phone      string            `json:"phone"`
	Name       string            `json:"name"`
	Text       string            `json:"text"`
	Vars       map[string]string `json:"vars"`
	Payload    json.RawMessage   `json:"payload"`
	CreatedAt  time.Time         `json:"created_at"`
}

// Send posts m, retrying quickly a bounded number of times. The body and the
// Idempotency-Key stay the same on every attempt so the receiver can drop
// the duplicates a lost response causes; the timestamp and signature are
// fresh each time so a slow retry is not refused as stale.
func (w *Webhook) Send(ctx context.Context, m Message) error {
	body, err := json.Marshal(webhookBody{
		Key: m.Key, Kind: m.Kind, ResidentID: m.ResidentID, Phone: m.Phone, Name: m.Name,
		Text: m.Text, Vars: m.Vars, Payload: m.Payload, CreatedAt: m.CreatedAt.UTC(),
	})
	if err != nil {
		return Permanent(fmt.Errorf("notify: webhook body: %w", err))
	}
	return w.Post(ctx, m.Key, body)
}

// Post sends body, signed, with key as its Idempotency-Key, retrying quickly
// as Send does: every signed request groupbuy makes (notices, the refund
// events of the payment system) goes out through here.
func (w *Webhook) Post(ctx context.Context, key string, body []byte) error {
	for attempt := 0; ; attempt++ {
		retryAfter, err := w.post(ctx, key, body)
		if err == nil || IsPermanent(err) || attempt >= w.opts.Retries || ctx.Err() != nil {
			return err
		}
		pause := w.opts.Backoff << attempt
		pause = pause/2 + rand.N(pause/2+1)
		if retryAfter > pause {
			pause = retryAfter
		}
		pause = min(pause, maxBackoff)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
	}
}

// post makes one attempt; on a transient failure it also returns the pause
// the receiver asked for in Retry-After, if any.
func (w *Webhook) post(ctx context.Context, key string, body []byte) (time.Duration, error) {
	actx, cancel := context.WithTimeout(ctx, w.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return 0, Permanent(fmt.Errorf("notify: webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(HeaderIdempotencyKey, key)
	Sign(req.Header, string(w.secret), w.opts.Now(), body)
	resp, err := w.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, fmt.Errorf("notify: webhook: %w", ctx.Err())
		}
		if errors.Is(err, ErrPrivateAddress) {
			return 0, Permanent(err)
		}
		return 0, fmt.Errorf("notify: webhook: %w", err)
	}
	defer func() {
		// Drain so the connection goes back to the pool instead of closing.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
	}()
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return 0, nil
	}
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
	err = fmt.Errorf("notify: webhook: %s: %s", resp.Status, strings.TrimSpace(string(snippet)))
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return retryAfter(resp.Header.Get("Retry-After")), err
	default:
		return 0, Permanent(err)
	}
}

// retryAfter reads a Retry-After given in seconds; dates are rare from
// webhook receivers and ignored.
func retryAfter(v string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}

// Sign sets the timestamp and signature headers of a request carrying
// body, signed with secret at now: what VerifyWebhook checks. The payment
// system's callbacks are signed the same way.
func Sign(h http.Header, secret string, now time.Time, body []byte) {
	ts := strconv.FormatInt(now.Unix(), 10)
	h.Set(HeaderTimestamp, ts)
	h.Set(HeaderSignature, "sha256="+hex.EncodeToString(signWebhook([]byte(secret), ts, body)))
}

func signWebhook(secret []byte, ts string, body []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return mac.Sum(nil)
}

// VerifyWebhook checks a received webhook: the signature must match body
// under secret (compared in constant time) and the timestamp must lie within
// tolerance of now, so a captured request cannot be replayed later.
// tolerance <= 0 means 5 minutes. Failures wrap ErrWebhookSignature.
func VerifyWebhook(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = 5 * time.Minute
	}
	ts, sig := header.Get(HeaderTimestamp), header.Get(HeaderSignature)
	if ts == "" || sig == "" {
		return fmt.Errorf("%w: missing %s or %s", ErrWebhookSignature, HeaderTimestamp, HeaderSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: bad timestamp %q", ErrWebhookSignature, ts)
	}
	if age := now.Sub(time.Unix(sec, 0)); age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: timestamp %s is %s away from now", ErrWebhookSignature, ts, age.Round(time.Second))
	}
	hexSig, ok := strings.CutPrefix(sig, "sha256=")
	got, err := hex.DecodeString(hexSig)
	if !ok || err != nil {
		return fmt.Errorf("%w: malformed signature", ErrWebhookSignature)
	}
	if !hmac.Equal(got, signWebhook([]byte(secret), ts, body)) {
		return fmt.Errorf("%w: signature mismatch", ErrWebhookSignature)
	}
	return nil
}

// VerifyDelivery checks a delivery of groupbuy's (a notice, a purchase
// order, a refund event) as VerifyWebhook does, and returns its key. The
// signature covers the body, not the headers, so the key is the one the
// signed body names ("key", or "id" of an event), and the Idempotency-Key
// header must repeat it: a captured request replayed within the tolerance
// under a fresh key is refused, not taken as a new delivery.
func VerifyDelivery(secret string, header http.Header, body []byte, now time.Time, tolerance time.Duration) (string, error) {
	if err := VerifyWebhook(secret, header, body, now, tolerance); err != nil {
		return "", err
	}
	var signed struct {
		Key string `json:"key"`
		ID  string `json:"id"`
	}
	_ = json.Unmarshal(body, &signed) // a body that is not an object names no key
	key := cmp.Or(signed.Key, signed.ID)
	if key == "" || header.Get(HeaderIdempotencyKey) != key {
		return "", fmt.Errorf("%w: %s %q is not the key the signed body names", ErrWebhookSignature, HeaderIdempotencyKey, header.Get(HeaderIdempotencyKey))
	}
	return key, nil
}
