package main

import (
	"net/http"
	"strings"
	"testing"
)

// TestHealthzAnswersHEAD (issue 13, item 18): load balancers probe with
// HEAD; it answers as GET does, without a body.
func TestHealthzAnswersHEAD(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 1)
	get := c.do("GET", "/healthz", "", nil)
	if get.Status != http.StatusOK {
		t.Fatalf("GET /healthz: %d %s", get.Status, get.Body)
	}
	head := c.do("HEAD", "/healthz", "", nil)
	if head.Status != http.StatusOK || len(head.Body) != 0 {
		t.Fatalf("HEAD /healthz: %d %q", head.Status, head.Body)
	}
	if ct := head.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("HEAD /healthz: Content-Type %q, want GET's", ct)
	}
}
