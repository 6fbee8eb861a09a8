package lastmile_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment/lastmile"
)

// TestDriverPassOpensOneRouteUntilItExpires: a pass opens its own route
// until its expiry, and nothing else: not another route, not after the
// expiry, not when any part is changed, not under another secret.
func TestDriverPassOpensOneRouteUntilItExpires(t *testing.T) {
	pass := lastmile.NewDriverPass([]byte("a secret of the warehouse"))
	end := time.Date(2026, 12, 1, 16, 0, 0, 0, time.UTC)
	tok := pass.Token(7, end)
	if err := pass.Check(tok, 7, end.Add(-time.Second)); err != nil {
		t.Fatalf("the pass before its expiry: %v", err)
	}
	parts := strings.Split(tok, ".")
	for _, tc := range []struct {
		what  string
		pass  lastmile.DriverPass
		token string
		route int64
		at    time.Time
		want  error
	}{
		{"another route", pass, tok, 8, end.Add(-time.Hour), lastmile.ErrBadDriverPass},
		{"at its expiry", pass, tok, 7, end, lastmile.ErrBadDriverPass},
		{"the route changed", pass, "8." + parts[1] + "." + parts[2], 8, end.Add(-time.Hour), lastmile.ErrBadDriverPass},
		{"the expiry moved", pass, parts[0] + ".9999999999." + parts[2], 7, end, lastmile.ErrBadDriverPass},
		{"no check", pass, parts[0] + "." + parts[1], 7, end.Add(-time.Hour), lastmile.ErrBadDriverPass},
		{"garbage", pass, "not a pass", 7, end.Add(-time.Hour), lastmile.ErrBadDriverPass},
		{"another secret", lastmile.NewDriverPass([]byte("another secret")), tok, 7, end.Add(-time.Hour), lastmile.ErrBadDriverPass},
		{"none", pass, "", 7, end.Add(-time.Hour), lastmile.ErrNoDriverPass},
	} {
		if err := tc.pass.Check(tc.token, tc.route, tc.at); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.what, err, tc.want)
		}
	}
	if again := pass.Token(7, end); again != tok {
		t.Errorf("the same route and expiry give another pass: %q, %q (a reprinted sheet would differ)", again, tok)
	}
}
