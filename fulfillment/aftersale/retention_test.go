package aftersale

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"groupbuy/fulfillment/retention"
	"groupbuy/internal/clock"
)

// TestRetentionKeepsALineWhileItMayBeClaimed: the night of 2026-12-01 is
// collected on its parcels' last day (returned after 14 days) and claimed
// within the window; retention at the least it accepts keeps the line. It
// dropped the night first (a claim answered 404), most of all for a
// warehouse west of UTC, whose days retention counts a day early.
func TestRetentionKeepsALineWhileItMayBeClaimed(t *testing.T) {
	const returnAfterDays = 14
	for _, c := range []struct {
		name, zone       string
		window           time.Duration
		collected, filed time.Time
	}{
		{"48h New York", "America/New_York", DefaultWindow, time.Date(2026, 12, 16, 3, 0, 0, 0, time.UTC), time.Date(2026, 12, 18, 2, 0, 0, 0, time.UTC)},
		{"240h Shanghai", "Asia/Shanghai", 240 * time.Hour, time.Date(2026, 12, 15, 12, 0, 0, 0, time.UTC), time.Date(2026, 12, 25, 11, 0, 0, 0, time.UTC)},
	} {
		t.Run(c.name, func(t *testing.T) {
			city := newClaimCity(t, Options{Window: c.window})
			city.Exec(`UPDATE warehouses SET time_zone = $1`, c.zone)
			line := city.line(0, 2, "collected")
			city.Exec(`UPDATE parcel_lines SET collected_at = $2 WHERE order_line_id = $1`, line, c.collected)
			city.clock.Set(c.filed)
			days := retention.LeastDays(returnAfterDays, c.window)
			svc := retention.NewService(city.DB, clock.NewManual(c.filed), slog.New(slog.DiscardHandler), retention.Policy{Days: days, Dir: t.TempDir()})
			if _, err := svc.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			claim, err := city.file(0, Filing{LineID: line, Reason: Damaged, Quantity: 1})
			if err != nil || claim.State != Pending {
				t.Fatalf("a claim %s after collection (window %s, retention %d days): %+v %v", c.filed.Sub(c.collected), c.window, days, claim, err)
			}
		})
	}
}
