package intake

import (
	"context"
	"crypto/sha256"
	"fmt"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"time"

	"github.com/jmoiron/sqlx"
)

// BulkOrder is one placed order for a bulk load.
type BulkOrder struct {
	LeaderID, PointID, ResidentID, WarehouseID int64
	Date                                       fulfillment.Date
	Lines                                      []BulkLine
	CreatedAt                                  time.Time
}

// BulkLine is one line of a BulkOrder.
type BulkLine struct {
	SaleItemID, Quantity, PriceFen int64
}

// CopyOrders loads many placed orders inside tx with COPY, for the city
// simulator, and adds their units to the sale items' sold counters (the cap
// constraint still holds). It locks the orders table for the duration so the
// block of ids it reserves cannot collide with concurrent intake. It returns
// the first and last order id.
func CopyOrders(ctx context.Context, tx *sqlx.Tx, orders []BulkOrder) (first, last int64, err error) {
	if len(orders) == 0 {
		return 0, 0, nil
	}
	if _, err := tx.ExecContext(ctx, `LOCK TABLE orders IN EXCLUSIVE MODE`); err != nil {
		return 0, 0, err
	}
	const reserve = `SELECT setval(pg_get_serial_sequence('orders', 'id'), nextval(pg_get_serial_sequence('orders', 'id')) + $1 - 1)`
	if err := tx.GetContext(ctx, &last, reserve, len(orders)); err != nil {
		return 0, 0, err
	}
	first = last - int64(len(orders)) + 1
	ost, err := tx.PrepareContext(ctx, `COPY orders (id, leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date,
		status, idempotency_key, request_hash, total_fen, created_at) FROM STDIN`)
	if err != nil {
		return 0, 0, err
	}
	for i, o := range orders {
		id := first + int64(i)
		key := fmt.Sprintf("sim-%d", id)
		hash := sha256.Sum256([]byte(key))
		var total int64
		for _, l := range o.Lines {
			total += l.Quantity * l.PriceFen
		}
		if _, err := ost.ExecContext(ctx, id, o.LeaderID, o.PointID, o.ResidentID, o.WarehouseID, o.Date.String(),
			string(Placed), key, hash[:], total, o.CreatedAt); err != nil {
			return 0, 0, err
		}
	}
	if _, err := ost.ExecContext(ctx); err != nil {
		return 0, 0, fmt.Errorf("copy orders: %w", err)
	}
	ost.Close()
	lst, err := tx.PrepareContext(ctx, `COPY order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date) FROM STDIN`)
	if err != nil {
		return 0, 0, err
	}
	for i, o := range orders {
		for _, l := range o.Lines {
			if _, err := lst.ExecContext(ctx, first+int64(i), l.SaleItemID, l.Quantity, l.PriceFen, o.Date.String()); err != nil {
				return 0, 0, err
			}
		}
	}
	if _, err := lst.ExecContext(ctx); err != nil {
		return 0, 0, fmt.Errorf("copy order lines: %w", err)
	}
	lst.Close()
	sold := map[int64]int64{}
	live := map[wave.Key]wave.Totals{}
	var now time.Time
	for _, o := range orders {
		k := wave.Key{Warehouse: o.WarehouseID, Date: o.Date.String()}
		t := live[k]
		t.Orders++
		for _, l := range o.Lines {
			sold[l.SaleItemID] += l.Quantity
			t.Lines, t.Units, t.AmountFen = t.Lines+1, t.Units+l.Quantity, t.AmountFen+l.Quantity*l.PriceFen
		}
		live[k] = t
		if o.CreatedAt.After(now) {
			now = o.CreatedAt
		}
	}
	if err := catalog.TakeStock(ctx, tx, sold, now); err != nil {
		return 0, 0, fmt.Errorf("add sold units: %w", err)
	}
	// The open wave counts the loaded orders as it counts the API's.
	return first, last, wave.AddLive(ctx, tx, live)
}
