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
	var taken int
	err := tx.GetContext(ctx, &taken, `WITH take AS (SELECT d.id, d.q, $3::timestamptz AS at FROM unnest($1::bigint[], $2::int[]) AS d(id, q)),
		`+TakeStockCTEs+` SELECT count(*) FROM stock_taken`, pq.Array(ids), pq.Array(qty), now)
	if err != nil {
		return err
	}
	if taken != len(ids) {
		return ErrStockRace
	}
	return nil
}

// TakeStockCTEs is TakeStock's rule as two CTEs, for a statement that
// takes stock beside other writes in one round trip: it reads a CTE named
// take (id, q, at: the sale item, the units, the time) that the statement
// defines first, and yields stock_taken, the ids of the items whose units
// fit; fewer rows than take's means ErrStockRace.
//
// The locked CTE locks the rows in id order whatever join the planner picks
// for the UPDATE, so two batches never lock the same items in opposite
// orders. NO KEY UPDATE, not UPDATE: a batch's order lines hold KEY SHARE
// locks on these rows through their foreign key, in no set order, and FOR
// UPDATE would conflict with those of other batches.
const TakeStockCTEs = `locked AS (SELECT si.id FROM sale_items si JOIN take ON take.id = si.id ORDER BY si.id FOR NO KEY UPDATE OF si),
	stock_taken AS (UPDATE sale_items si SET sold = si.sold + take.q, updated_at = take.at
		FROM take, locked WHERE si.id = take.id AND locked.id = si.id AND si.sold + take.q <= si.stock_cap
		RETURNING si.id)`

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
