// Package lastmiletest builds the pickup desk of the last mile's tests and of
// the packages built on it (the day's summary), so each tests the same desk.
package lastmiletest

import (
	"log/slog"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"groupbuy/fulfillment/lastmile"
	"groupbuy/internal/clock"
	"groupbuy/internal/ratelimit"
	"groupbuy/internal/testenv"
)

// CodeAttempts is how many wrong pickup codes the test desk takes a minute.
const CodeAttempts = 5

// NewDesk is a pickup desk on db whose wrong codes are counted in a private
// Redis of t's.
func NewDesk(t testing.TB, db *sqlx.DB, clk clock.Clock) *lastmile.Desk {
	t.Helper()
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	log := slog.New(slog.DiscardHandler)
	return lastmile.NewDesk(db, clk, ratelimit.New(rdb, "pickup-code", CodeAttempts, time.Minute, log), log, lastmile.DeskOptions{})
}
