package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/ratelimit"
	"groupbuy/internal/testenv"
)

func TestRequireLimitsWritesPerTokenAndFailsOpen(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	clock := clock.NewManual(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC))
	var logs testenv.Buffer
	a := NewAuthenticator(nil, clock, time.Hour,
		WithWriteLimit(ratelimit.New(rdb, "write", 2, time.Minute, slog.New(slog.NewTextHandler(&logs, nil)))))
	// No database here: the tokens are put in the cache as if checked.
	for i, tok := range []string{"gb_a", "gb_b", "gb_w"} {
		role := RoleOps
		if tok == "gb_w" {
			role = RoleWarehouse
		}
		a.cache[string(HashToken(tok))] = cachedPrincipal{p: Principal{TokenID: int64(i + 1), Role: role}, checked: clock.Now()}
	}
	r := httpx.NewEngine(slog.New(slog.DiscardHandler))
	ok := func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) }
	r.POST("/write", a.Require(RoleOps), ok)
	r.GET("/read", a.Require(RoleOps), ok)
	do := func(method, path, token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(method, path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		r.ServeHTTP(rec, req)
		return rec
	}

	for i := range 2 {
		if rec := do("POST", "/write", "gb_a"); rec.Code != http.StatusOK {
			t.Fatalf("write %d: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	rec := do("POST", "/write", "gb_a")
	if rec.Code != http.StatusTooManyRequests || rec.Header().Get("Retry-After") != "60" ||
		!strings.Contains(rec.Body.String(), `"code":"too_many_requests"`) {
		t.Fatalf("3rd write: %d Retry-After=%q %s", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
	if rec := do("GET", "/read", "gb_a"); rec.Code != http.StatusOK {
		t.Fatalf("reads are not limited: %d %s", rec.Code, rec.Body)
	}
	if rec := do("POST", "/write", "gb_b"); rec.Code != http.StatusOK {
		t.Fatalf("another token: %d %s", rec.Code, rec.Body)
	}
	// A refused role is answered before counting, so it uses up nothing.
	for range 3 {
		if rec := do("POST", "/write", "gb_w"); rec.Code != http.StatusForbidden {
			t.Fatalf("warehouse writing: %d %s", rec.Code, rec.Body)
		}
	}
	if n := len(mr.Keys()); n != 2 {
		t.Errorf("%d counters in Redis, want 2 (one per token that wrote): %v", n, mr.Keys())
	}
	clock.Advance(time.Minute)
	if rec := do("POST", "/write", "gb_a"); rec.Code != http.StatusOK {
		t.Fatalf("next minute: %d %s", rec.Code, rec.Body)
	}

	// Redis goes away: writes go on, with one warning.
	mr.Close()
	for i := range 4 {
		if rec := do("POST", "/write", "gb_a"); rec.Code != http.StatusOK {
			t.Fatalf("write %d with Redis down: %d %s", i+1, rec.Code, rec.Body)
		}
	}
	if n := strings.Count(logs.String(), "rate limit skipped"); n != 1 {
		t.Errorf("%d warnings with Redis down, want 1:\n%s", n, logs.String())
	}
}

// TestBearerSchemeIsCaseInsensitive: "bearer" and "BEARER" name the scheme
// as "Bearer" does (RFC 9110); a request without credentials is 401 with a
// challenge naming it.
func TestBearerSchemeIsCaseInsensitive(t *testing.T) {
	clock := clock.NewManual(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC))
	a := NewAuthenticator(nil, clock, time.Hour)
	a.cache[string(HashToken("gb_a"))] = cachedPrincipal{p: Principal{TokenID: 1, Role: RoleOps}, checked: clock.Now()}
	r := httpx.NewEngine(slog.New(slog.DiscardHandler))
	r.GET("/read", a.Require(RoleOps), func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"ok": true}) })
	for _, h := range []string{"Bearer gb_a", "bearer gb_a", "BEARER gb_a", "", "Basic gb_a", "Bearergb_a"} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/read", nil)
		req.Header.Set("Authorization", h)
		r.ServeHTTP(rec, req)
		want := http.StatusOK
		if !strings.HasPrefix(strings.ToLower(h), "bearer ") {
			want = http.StatusUnauthorized
		}
		if rec.Code != want || (want == http.StatusUnauthorized) != (rec.Header().Get("WWW-Authenticate") != "") {
			t.Errorf("Authorization %q: %d, WWW-Authenticate %q", h, rec.Code, rec.Header().Get("WWW-Authenticate"))
		}
	}
}

// TestARevokedTokenIsNotCachedBack: checks of a token racing its revocation
// in the same process never leave it cached as valid: once Revoke returns,
// the token is refused.
func TestARevokedTokenIsNotCachedBack(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	clock := clock.NewManual(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC))
	a := NewAuthenticator(db, clock, time.Hour)
	for i := range 200 {
		tok, id, err := IssueToken(ctx, db, clock.Now(), TokenSpec{Role: RoleWarehouse, Name: fmt.Sprint("race ", i)})
		if err != nil {
			t.Fatal(err)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				<-start
				a.Authenticate(ctx, tok)
			})
		}
		close(start)
		if _, err := a.Revoke(ctx, id); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if _, err := a.Authenticate(ctx, tok); err == nil {
			t.Fatalf("trial %d: the token was accepted after Revoke returned", i)
		}
	}
}

// TestSessionsOfATokenStayBoundedUnderABurst: logins of one token at once
// each counted the open sessions before the others' went in, and a burst of
// 60 left 22 or 23 open; the bound holds under any burst.
func TestSessionsOfATokenStayBoundedUnderABurst(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	clock := clock.NewManual(time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC))
	a := NewAuthenticator(db, clock, time.Hour)
	tok, _, err := IssueToken(ctx, db, clock.Now(), TokenSpec{Role: RoleOps, Name: "console"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := a.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	for trial := range 3 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 60 {
			wg.Go(func() {
				<-start
				if _, err := a.OpenSession(ctx, p, time.Hour); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		var open int
		if err := db.Get(&open, `SELECT count(*) FROM console_sessions WHERE token_id = $1 AND revoked_at IS NULL`, p.TokenID); err != nil {
			t.Fatal(err)
		}
		if open != MaxSessionsPerToken {
			t.Fatalf("trial %d: %d sessions open after a burst of 60 logins, want %d", trial, open, MaxSessionsPerToken)
		}
	}
}
