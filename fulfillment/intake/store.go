package intake

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/pickup"
)

type orderRow struct {
	ID            int64            `db:"id"`
	Status        OrderStatus      `db:"status"`
	DeliveryDate  fulfillment.Date `db:"delivery_date"`
	LeaderID      int64            `db:"leader_id"`
	PickupPointID int64            `db:"pickup_point_id"`
	WarehouseID   int64            `db:"warehouse_id"`
	ResidentID    int64            `db:"resident_id"`
	ResidentPhone string           `db:"resident_phone"`
	ResidentName  string           `db:"resident_name"`
	ResidentPoint int64            `db:"resident_point"`
	TotalFen      int64            `db:"total_fen"`
	CreatedAt     time.Time        `db:"created_at"`
	CancelledAt   sql.NullTime     `db:"cancelled_at"`
}

const orderSelect = `SELECT o.id, o.status, o.delivery_date, o.leader_id, o.pickup_point_id, o.warehouse_id,
	o.resident_id, r.phone AS resident_phone, r.name AS resident_name, r.pickup_point_id AS resident_point,
	o.total_fen, o.created_at, o.cancelled_at
	FROM orders o JOIN residents r ON r.id = o.resident_id`

type lineRow struct {
	OrderID int64 `db:"order_id"`
	OrderLine
}

// ordersWithLines turns rows into orders, loading their lines in one query.
func ordersWithLines(ctx context.Context, q sqlx.QueryerContext, rows []orderRow) ([]Order, error) {
	out := make([]Order, len(rows))
	idx := make(map[int64]int, len(rows))
	ids := make([]int64, len(rows))
	for i, r := range rows {
		o := Order{ID: r.ID, Status: r.Status, DeliveryDate: r.DeliveryDate, LeaderID: r.LeaderID,
			PickupPointID: r.PickupPointID, WarehouseID: r.WarehouseID, TotalFen: r.TotalFen, CreatedAt: r.CreatedAt.UTC(),
			Lines: []OrderLine{}}
		o.Resident.ID, o.Resident.Phone, o.Resident.Name, o.Resident.PickupPointID = r.ResidentID, r.ResidentPhone, r.ResidentName, r.ResidentPoint
		if r.CancelledAt.Valid {
			t := r.CancelledAt.Time.UTC()
			o.CancelledAt = &t
		}
		out[i], idx[r.ID], ids[i] = o, i, r.ID
	}
	if len(ids) == 0 {
		return out, nil
	}
	var lines []lineRow
	const lq = `SELECT ol.order_id, ol.id, ol.sale_item_id, p.sku, p.name, p.unit, ol.quantity, ol.price_fen,
		ol.quantity * ol.price_fen AS amount_fen
		FROM order_lines ol JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id
		WHERE ol.order_id = ANY($1) AND ol.delivery_date = ANY($2::date[]) ORDER BY ol.order_id, ol.id`
	if err := sqlx.SelectContext(ctx, q, &lines, lq, pq.Array(ids), nightsOf(out)); err != nil {
		return nil, err
	}
	for _, l := range lines {
		o := &out[idx[l.OrderID]]
		o.Lines = append(o.Lines, l.OrderLine)
	}
	return out, nil
}

// nightsOf are the delivery dates of orders: a statement naming them
// reads only their nights' partitions, where by order or line id alone it
// planned every night's.
func nightsOf(orders []Order) fulfillment.Dates {
	var ds fulfillment.Dates
	for _, o := range orders {
		if !slices.ContainsFunc(ds, func(d fulfillment.Date) bool { return d.Equal(o.DeliveryDate.Time) }) {
			ds = append(ds, o.DeliveryDate)
		}
	}
	return ds
}

// loadOrders loads orders by id.
func loadOrders(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]Order, error) {
	out := make(map[int64]Order, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	var rows []orderRow
	if err := sqlx.SelectContext(ctx, q, &rows, orderSelect+` WHERE o.id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	orders, err := ordersWithLines(ctx, q, rows)
	if err != nil {
		return nil, err
	}
	for _, o := range orders {
		out[o.ID] = o
	}
	return out, nil
}

// GetOrder loads one order.
func GetOrder(ctx context.Context, q sqlx.QueryerContext, id int64) (Order, error) {
	m, err := loadOrders(ctx, q, []int64{id})
	if err != nil {
		return Order{}, err
	}
	o, ok := m[id]
	if !ok {
		return o, ErrOrderNotFound
	}
	one := []Order{o}
	err = tellStories(ctx, q, one)
	return one[0], err
}

// OrderFilter selects orders for a listing.
type OrderFilter struct {
	Date          fulfillment.Date
	WarehouseID   int64 // 0: any
	PickupPointID int64 // 0: any
	AfterID       int64 // keyset pagination
	Limit         int
}

// OrderTotals sums a listing's orders (placed ones; cancelled are counted apart).
type OrderTotals struct {
	Orders    int64 `db:"orders" json:"orders"`
	Cancelled int64 `db:"cancelled" json:"cancelled"`
	Lines     int64 `db:"lines" json:"lines"`
	Units     int64 `db:"units" json:"units"`
	AmountFen int64 `db:"amount_fen" json:"amount_fen"`
}

const filterWhere = ` WHERE o.delivery_date = $1 AND ($2::bigint = 0 OR o.warehouse_id = $2) AND ($3::bigint = 0 OR o.pickup_point_id = $3)`

// ListOrders returns one page of orders matching f, by id.
func ListOrders(ctx context.Context, q sqlx.QueryerContext, f OrderFilter) ([]Order, error) {
	var rows []orderRow
	err := sqlx.SelectContext(ctx, q, &rows, orderSelect+filterWhere+` AND o.id > $4 ORDER BY o.id LIMIT $5`,
		f.Date, f.WarehouseID, f.PickupPointID, f.AfterID, f.Limit)
	if err != nil {
		return nil, err
	}
	return withStories(ctx, q, rows)
}

// withStories is ordersWithLines with each order's status and story.
func withStories(ctx context.Context, q sqlx.QueryerContext, rows []orderRow) ([]Order, error) {
	orders, err := ordersWithLines(ctx, q, rows)
	if err != nil {
		return nil, err
	}
	return orders, tellStories(ctx, q, orders)
}

// OrderSearch finds orders for ops: by the resident's phone, the pickup
// point, the order's id or one of its lines' ids (at least one; all given
// must match).
type OrderSearch struct {
	Phone   string
	PointID int64
	OrderID int64
	LineID  int64
	Limit   int
}

// FindOrders returns the orders a search matches, newest first, with
// their stories.
func FindOrders(ctx context.Context, q sqlx.QueryerContext, s OrderSearch) ([]Order, error) {
	var rows []orderRow
	err := sqlx.SelectContext(ctx, q, &rows, orderSelect+` WHERE ($1 = '' OR r.phone = $1) AND ($2::bigint = 0 OR o.pickup_point_id = $2)
		AND ($3::bigint = 0 OR o.id = $3)
		AND ($4::bigint = 0 OR o.id = (SELECT order_id FROM order_lines WHERE id = $4))
		ORDER BY o.id DESC LIMIT $5`, s.Phone, s.PointID, s.OrderID, s.LineID, s.Limit)
	if err != nil {
		return nil, err
	}
	return withStories(ctx, q, rows)
}

// SumOrders totals every order matching f (ignoring pagination).
func SumOrders(ctx context.Context, q sqlx.QueryerContext, f OrderFilter) (OrderTotals, error) {
	var t OrderTotals
	const sq = `SELECT count(*) FILTER (WHERE o.status = 'placed') AS orders,
		count(*) FILTER (WHERE o.status = 'cancelled') AS cancelled,
		coalesce(sum(l.lines) FILTER (WHERE o.status = 'placed'), 0) AS lines,
		coalesce(sum(l.units) FILTER (WHERE o.status = 'placed'), 0) AS units,
		coalesce(sum(o.total_fen) FILTER (WHERE o.status = 'placed'), 0) AS amount_fen
		FROM orders o CROSS JOIN LATERAL (SELECT count(*) AS lines, sum(quantity) AS units FROM order_lines
			WHERE order_id = o.id AND delivery_date = o.delivery_date) l`
	err := sqlx.GetContext(ctx, q, &t, sq+filterWhere, f.Date, f.WarehouseID, f.PickupPointID)
	return t, err
}

// cancelOrder cancels an order of the leader's point before cutoff and gives
// its stock back. Cancelling a cancelled order returns it unchanged.
func cancelOrder(ctx context.Context, tx *sqlx.Tx, leaderID, orderID int64, now time.Time) (Order, error) {
	var row struct {
		PointLeader  int64            `db:"point_leader"`
		WarehouseID  int64            `db:"warehouse_id"`
		DeliveryDate fulfillment.Date `db:"delivery_date"`
		Status       OrderStatus      `db:"status"`
	}
	// The point's row is share-locked, so a handover of the point waits for
	// this cancel, or this cancel sees the point's new leader.
	err := tx.GetContext(ctx, &row, `SELECT p.leader_id AS point_leader, o.warehouse_id, o.delivery_date, o.status
		FROM orders o JOIN pickup_points p ON p.id = o.pickup_point_id WHERE o.id = $1
		FOR NO KEY UPDATE OF o FOR SHARE OF p`, orderID)
	if errors.Is(err, sql.ErrNoRows) {
		return Order{}, ErrOrderNotFound
	}
	if err != nil {
		return Order{}, err
	}
	if row.PointLeader != leaderID {
		return Order{}, ErrNotYourOrder
	}
	if row.Status == Placed {
		w, err := pickup.GetWarehouse(ctx, tx, row.WarehouseID)
		if err != nil {
			return Order{}, err
		}
		gates, err := wave.LockShared(ctx, tx, map[wave.Key]bool{{Warehouse: row.WarehouseID, Date: row.DeliveryDate.String()}: true})
		if err != nil {
			return Order{}, err
		}
		if err := gateOpen(gates[wave.Key{Warehouse: row.WarehouseID, Date: row.DeliveryDate.String()}], w, row.DeliveryDate, now); err != nil {
			return Order{}, err
		}
		var lines []struct {
			SaleItemID int64 `db:"sale_item_id"`
			Quantity   int64 `db:"quantity"`
		}
		if err := tx.SelectContext(ctx, &lines, `SELECT sale_item_id, quantity FROM order_lines WHERE order_id = $1 AND delivery_date = $2`,
			orderID, row.DeliveryDate); err != nil {
			return Order{}, err
		}
		units := make(map[int64]int64, len(lines))
		for _, l := range lines {
			units[l.SaleItemID] += l.Quantity
		}
		if err := catalog.ReturnStock(ctx, tx, units, now); err != nil {
			return Order{}, err
		}
		o, err := GetOrder(ctx, tx, orderID)
		if err != nil {
			return Order{}, err
		}
		if err := wave.AddLive(ctx, tx, liveDeltas([]Order{o}, -1)); err != nil {
			return Order{}, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE orders SET status = 'cancelled', cancelled_at = $2 WHERE id = $1`, orderID, now); err != nil {
			return Order{}, err
		}
	}
	return GetOrder(ctx, tx, orderID)
}

// WaveTotals sums the placed orders of a warehouse's delivery date, as the
// wave's close freezes them. The orders are counted on their own, not as
// distinct ids of the lines (the same number: an order has at least one
// line, and lines are never removed), as a distinct count sorts a million
// lines in one process where the sums run on every core.
func WaveTotals(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date) (wave.Totals, error) {
	var t wave.Totals
	err := sqlx.GetContext(ctx, q, &t, `SELECT (SELECT count(*) FROM orders
				WHERE warehouse_id = $1 AND delivery_date = $2 AND status = 'placed') AS orders,
			count(*) AS lines, coalesce(sum(l.quantity), 0) AS units, coalesce(sum(l.quantity * l.price_fen), 0) AS amount_fen
		FROM orders o JOIN order_lines l ON l.order_id = o.id AND l.delivery_date = o.delivery_date
		WHERE o.warehouse_id = $1 AND o.delivery_date = $2 AND o.status = 'placed'`, warehouseID, date)
	return t, err
}

// liveDeltas are what orders add to (sign 1) or take from (-1) their
// waves' live totals.
func liveDeltas(orders []Order, sign int64) map[wave.Key]wave.Totals {
	out := map[wave.Key]wave.Totals{}
	for _, o := range orders {
		k := wave.Key{Warehouse: o.WarehouseID, Date: o.DeliveryDate.String()}
		t := out[k]
		t.Orders += sign
		for _, l := range o.Lines {
			t.Lines, t.Units, t.AmountFen = t.Lines+sign, t.Units+sign*l.Quantity, t.AmountFen+sign*l.AmountFen
		}
		out[k] = t
	}
	return out
}
