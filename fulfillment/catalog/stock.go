package catalog

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// ErrStockRace means the stock read without a lock changed before the batch
// took it; the batch is rolled back and run again with the rows locked first.
var ErrStockRace = errors.New("stock taken concurrently")

// TakeStock adds an order batch's units (by sale item) to the sold
// counters, in id order, only where they fit under the cap; if any does
// not, the batch must be decided again under lock. The table's CHECK
// constraint is a last guard.
func TakeStock(ctx context.Context, tx *sqlx.Tx, sold map[int64]int64, now time.Time) error {
	ids := make([]int64, 0, len(sold))
	for id := range sold {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	qty := make([]int64, len(ids))
	for i, id := range ids {
		qty[i] = sold[id]
	}
	// The CTE locks the rows in id order whatever join the planner picks for
	// the UPDATE, so two batches never lock the same items in opposite orders.
	// NO KEY UPDATE, not UPDATE: the batch's order_lines already hold KEY
	// SHARE locks on these rows through their foreign key, in no set order,
	// and FOR UPDATE would conflict with those of other batches.
	const q = `WITH d AS (SELECT * FROM unnest($1::bigint[], $2::int[]) AS d(id, q)),
		locked AS (SELECT si.id FROM sale_items si JOIN d ON d.id = si.id ORDER BY si.id FOR NO KEY UPDATE OF si)
		UPDATE sale_items si SET sold = si.sold + d.q, updated_at = $3
		FROM d, locked WHERE si.id = d.id AND locked.id = si.id AND si.sold + d.q <= si.stock_cap`
	res, err := tx.ExecContext(ctx, q, pq.Array(ids), pq.Array(qty), now)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n != int64(len(ids)) {
		return ErrStockRace
	}
	return nil
}

// ReturnStock takes units (by sale item) off the sold counters inside tx,
// locking the items in id order as TakeStock does: a cancelled order's
// stock goes back on sale.
func ReturnStock(ctx context.Context, tx *sqlx.Tx, units map[int64]int64, now time.Time) error {
	back := make(map[int64]int64, len(units))
	for id, n := range units {
		back[id] = -n
	}
	return TakeStock(ctx, tx, back, now)
}
