package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
)

// burst sends one request per body to the test server at once: every
// connection is opened first, then all requests are written together, so
// the server handles them in parallel. It returns the response of each
// (their bodies read and closed).
func (c *testCity) burst(method, path, token string, bodies []string) []*http.Response {
	c.t.Helper()
	u, err := url.Parse(c.srv.URL)
	if err != nil {
		c.t.Fatal(err)
	}
	conns := make([]net.Conn, len(bodies))
	for i := range conns {
		if conns[i], err = net.Dial("tcp", u.Host); err != nil {
			c.t.Fatal(err)
		}
		defer conns[i].Close()
	}
	responses := make([]*http.Response, len(bodies))
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i, conn := range conns {
		raw := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\n"+
			"Content-Length: %d\r\nConnection: close\r\n\r\n%s", method, path, u.Host, token, len(bodies[i]), bodies[i])
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			if _, err := io.WriteString(conn, raw); err != nil {
				c.t.Errorf("write request %d: %v", i, err)
				return
			}
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				c.t.Errorf("read response %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			responses[i] = resp
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return responses
}

// A burst of wrong pickup codes from one leader gets no more lookups than
// the limit allows in a minute, however many arrive at once. The first ten
// are looked up, except any that Redis, queueing the burst, did not count
// in time: those are refused for a second (Retry-After 2, as is a refusal
// in the window's last second), never let through.
func TestWrongPickupCodesBurstIsLimited(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	const burst, limit = 100, 10 // GROUPBUY_CODE_ATTEMPTS' default
	bodies := make([]string, burst)
	for i := range bodies {
		bodies[i] = fmt.Sprintf(`{"code": "%06d"}`, 100000+i) // no parcel waits at the point: every code is wrong
	}
	counts, brief := map[int]int{}, 0
	for _, r := range c.burst("POST", "/api/v1/leader/pickups/verify", c.leaders[0], bodies) {
		if r == nil {
			continue // the write or read failed, reported by burst
		}
		counts[r.StatusCode]++
		if wait, _ := strconv.Atoi(r.Header.Get("Retry-After")); r.StatusCode == http.StatusTooManyRequests && wait >= 1 && wait <= 2 {
			brief++
		}
	}
	if counts[http.StatusNotFound] > limit || counts[http.StatusNotFound]+counts[http.StatusTooManyRequests] != burst {
		t.Fatalf("a burst of %d wrong codes: %v (want at most %d looked up, 404, and the rest 429)", burst, counts, limit)
	}
	if counts[http.StatusNotFound]+brief < limit {
		t.Fatalf("a burst of %d wrong codes: %v, %d refused for a second; the first %d should have been looked up", burst, counts, brief, limit)
	}
}
