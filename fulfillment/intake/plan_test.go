package intake_test

import (
	"strings"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
)

// A point's orders of a night are found by the point's index even when
// the night is newer than the table's statistics, as it is all evening
// and all the morning after. With statistics of the dates, the planner
// estimated such a night at one row and, one row either way, read it
// through the narrowest index, the date's: the whole night's orders for
// every receipt and every leader's listing (migration 00082).
func TestPointNightUsesThePointIndex(t *testing.T) {
	c := fulfillmenttest.New(t, 50)
	fill := func(date fulfillment.Date) {
		c.Exec(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status,
				idempotency_key, request_hash, total_fen, created_at)
			SELECT p.leader_id, p.id, r.id, p.warehouse_id, $1::date, 'placed', 'k-' || $1::date::text || '-' || p.id || '-' || g, '\x00', 0, now()
			FROM pickup_points p JOIN residents r ON r.pickup_point_id = p.id CROSS JOIN generate_series(1, 40) g`, date)
	}
	// The first night analysed alone, then three, as any table past its
	// first nights has; a later night comes after each.
	night := func(i int) fulfillment.Date { return fulfillment.Date{Time: fulfillmenttest.Date.AddDate(0, 0, i)} }
	check := func(d fulfillment.Date, analysed string) {
		t.Helper()
		var plan []string
		if err := c.DB.Select(&plan, `EXPLAIN SELECT o.id FROM orders o
			WHERE o.pickup_point_id = $1 AND o.warehouse_id = $2 AND o.delivery_date = $3 AND o.status = 'placed'`,
			c.Points[7].ID, c.Warehouse, d); err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, "orders_point_date") {
			t.Errorf("a point's orders of %s (statistics of %s) are not read by the point's index:\n%s", d, analysed, text)
		}
	}
	fill(night(0))
	c.Exec(`ANALYZE orders`)
	fill(night(1))
	check(night(1), "the first night only")
	fill(night(2))
	c.Exec(`ANALYZE orders`)
	fill(night(3))
	check(night(1), "three nights")
	check(night(3), "three nights")
}
