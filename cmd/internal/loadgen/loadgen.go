// Package loadgen offers orders to the order API faster than it may take
// them and classifies the answers: the lab's loadtest and the intake's
// saturation and fault tests use it.
package loadgen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Result classifies the answers of an open-loop burst of orders.
type Result struct {
	Sent, Created, SoldOut, Unavailable int64
	NoRetryAfter                        int64 // 503s without Retry-After: a client would not know when to come back
	Other4xx, FiveXX, Transport         int64 // FiveXX: 5xx other than 503
	CreatedIDs                          []int64
	Lat                                 []float64 // ms of every 201, sorted
}

// Pct is the p-quantile (0 to 1) of the 201s' latency in ms.
func (r *Result) Pct(p float64) float64 { return Percentile(r.Lat, p) }

// Percentile returns the p-quantile (0 to 1) of sorted values; zero when
// there are none.
func Percentile[T cmp.Ordered](sorted []T, p float64) T {
	if len(sorted) == 0 {
		var zero T
		return zero
	}
	return sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]
}

// Client is an HTTP client that keeps up to conns connections to one host.
func Client(conns int) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

// FireOrders places n orders on the API at api open loop: they start at rate
// per second (0: as fast as inflight allows) whatever the answers, at most
// inflight at once, so more can arrive than intake commits; next gives the
// i-th request.
func FireOrders(ctx context.Context, api string, n, inflight int, rate float64, next func(i int) (token, key string, body []byte)) Result {
	client := Client(inflight)
	var r Result
	var mu sync.Mutex
	var wg sync.WaitGroup
	slots := make(chan struct{}, inflight)
	var created, soldOut, unavailable, noRetry, other4xx, fiveXX, transport atomic.Int64
	start := time.Now()
	for i := range n {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))); wait > 0 {
				time.Sleep(wait)
			}
		}
		if ctx.Err() != nil {
			break
		}
		slots <- struct{}{}
		r.Sent++
		wg.Add(1)
		go func() {
			defer func() { <-slots; wg.Done() }()
			token, key, body := next(i)
			t0 := time.Now()
			req, _ := http.NewRequestWithContext(ctx, "POST", api+"/api/v1/leader/orders", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Idempotency-Key", key)
			resp, err := client.Do(req)
			if err != nil {
				transport.Add(1)
				return
			}
			defer resp.Body.Close()
			var out struct {
				ID    int64 `json:"id"`
				Error struct {
					Code string `json:"code"`
				} `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&out)
			switch {
			case resp.StatusCode == http.StatusCreated:
				created.Add(1)
				mu.Lock()
				r.CreatedIDs = append(r.CreatedIDs, out.ID)
				r.Lat = append(r.Lat, float64(time.Since(t0).Microseconds())/1000)
				mu.Unlock()
			case resp.StatusCode == http.StatusConflict && out.Error.Code == "sold_out":
				soldOut.Add(1)
			case resp.StatusCode == http.StatusServiceUnavailable:
				unavailable.Add(1)
				if resp.Header.Get("Retry-After") == "" {
					noRetry.Add(1)
				}
			case resp.StatusCode >= 500:
				fiveXX.Add(1)
			default:
				other4xx.Add(1)
			}
		}()
	}
	wg.Wait()
	r.Created, r.SoldOut, r.Unavailable, r.NoRetryAfter = created.Load(), soldOut.Load(), unavailable.Load(), noRetry.Load()
	r.Other4xx, r.FiveXX, r.Transport = other4xx.Load(), fiveXX.Load(), transport.Load()
	slices.Sort(r.Lat)
	return r
}

// Clients runs n closed-loop clients, client(i, rng) each on a goroutine of
// its own with a random source seeded by (i, seed), so that a run repeats
// its choices; it returns when every client has.
func Clients(n int, seed uint64, client func(i int, rng *rand.Rand)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client(i, rand.New(rand.NewPCG(uint64(i), seed)))
		}()
	}
	wg.Wait()
}

// Latencies gathers the measured latencies (ms) of many clients.
type Latencies struct {
	mu sync.Mutex
	ms []float64
}

// Add adds one client's latencies.
func (l *Latencies) Add(ms []float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ms = append(l.ms, ms...)
}

// Quantiles returns the median, the 95th and 99th percentiles and the
// maximum of what was added.
func (l *Latencies) Quantiles() (p50, p95, p99, max float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	slices.Sort(l.ms)
	return Percentile(l.ms, 0.50), Percentile(l.ms, 0.95), Percentile(l.ms, 0.99), Percentile(l.ms, 1)
}
