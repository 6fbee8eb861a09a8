// Package wave owns the waves and wave_stages tables: one night's work at one
// warehouse (Wave), where it stands (State), when ordering in it ends, and
// the record of each stage's attempts. The stages themselves run in package
// night; every change of a wave's row goes through the functions here.
package wave

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// State is where a wave stands in the night.
type State string

// The wave states, in order.
const (
	Open       State = "open"
	Closed     State = "closed"
	Allocated  State = "allocated"
	Picked     State = "picked"
	Routed     State = "routed"
	Ready      State = "ready"
	Dispatched State = "dispatched"
	Delivered  State = "delivered"
)

// Policy decides which order lines lose units when the warehouse received
// less of a SKU than was sold.
type Policy string

// Allocation policies.
const (
	// FirstComeFirstServed serves orders by the time they were placed; the
	// latest orders are cut.
	FirstComeFirstServed Policy = "fcfs"
	// SpreadEvenly shares the shortage across pickup points: every point gets
	// the same number of units where it can use them (max-min fair), and
	// within a point orders are served first come first served.
	SpreadEvenly Policy = "even"
)

// Wave is one night's work at one warehouse: every order for one delivery
// date. It opens when the first sale item for the date is published.
type Wave struct {
	ID           int64            `db:"id" json:"id"`
	WarehouseID  int64            `db:"warehouse_id" json:"warehouse_id"`
	DeliveryDate fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	State        State            `db:"state" json:"state" doc:"Where the wave stands, in this order: open (taking orders), closed (cutoff passed or closed by ops; totals frozen), allocated (short SKUs cut), picked (the cuts refunded by the refund stage that follows), routed, ready, dispatched, delivered."`
	CutoffAt     time.Time        `db:"cutoff_at" json:"cutoff_at" doc:"When ordering ends: the warehouse's cutoff_local on the day before delivery, in UTC."`
	ClosedAt     *time.Time       `db:"closed_at" json:"closed_at,omitempty"`
	Totals
	// Allocation: how short SKUs are cut, and whether the receipts are complete.
	AllocationPolicy Policy `db:"allocation_policy" json:"allocation_policy"`
	ReceiptsFinal    bool   `db:"receipts_final" json:"receipts_final" doc:"The warehouse declared its receipts complete: allocation may cut what did not arrive."`
	// The dock: when the purchase stage made the wave's purchase orders, how
	// many (absent: nothing of the wave is bought by purchase order), how
	// many are closed, and the receiving deadline.
	PurchasedAt          *time.Time      `db:"purchased_at" json:"purchased_at,omitempty"`
	PurchaseOrders       *int64          `db:"purchase_orders" json:"purchase_orders,omitempty"`
	PurchaseOrdersClosed int64           `db:"purchase_orders_closed" json:"purchase_orders_closed"`
	ReceivingDeadlineAt  *time.Time      `db:"receiving_deadline_at" json:"receiving_deadline_at,omitempty"`
	ReceivingDeadline    clock.TimeOfDay `db:"receiving_deadline" json:"receiving_deadline,omitzero"`
	Refunds              refund.Summary  `db:"-" json:"refunds"`
	// WaitingFor says what the wave waits for when its next stage needs
	// someone else's part first; absent when the night can go on.
	WaitingFor *Wait `db:"-" json:"waiting_for,omitempty"`
	// The last mile: the first truck out, and the last stop reached.
	DispatchedAt *time.Time    `db:"dispatched_at" json:"dispatched_at,omitempty"`
	DeliveredAt  *time.Time    `db:"delivered_at" json:"delivered_at,omitempty"`
	CreatedAt    time.Time     `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time     `db:"updated_at" json:"updated_at"`
	Stages       []StageRecord `db:"-" json:"stages"`
	// RouteProgress is the route stage's solver at work; absent before it starts.
	RouteProgress *RouteProgress `db:"-" json:"route_progress,omitempty"`
	// TotalsLive says Totals are the open wave's orders so far, kept
	// current as they come (AddLive), not yet frozen by the close.
	TotalsLive bool `db:"-" json:"totals_live,omitempty"`
	// Timeline is who did what to the wave when, oldest first.
	Timeline []Event `db:"-" json:"timeline"`
}

// Totals are a wave's placed orders: frozen at its close, and kept
// current while it is open.
type Totals struct {
	Orders    int64 `db:"orders" json:"orders"`
	Lines     int64 `db:"lines" json:"lines"`
	Units     int64 `db:"units" json:"units"`
	AmountFen int64 `db:"amount_fen" json:"amount_fen"`
}

// Wait is what a wave waits for before its next stage can run.
type Wait struct {
	What    string `json:"what"` // "receipts"
	Message string `json:"message"`
}

// WaitsFor says what w waits for: a closed wave is allocated once its
// purchase orders are made and then when the dock has closed them all, at
// the receiving deadline, or when the warehouse declared its receipts final.
func (w Wave) WaitsFor() *Wait {
	if w.State != Closed || w.ReceiptsFinal {
		return nil
	}
	if w.PurchasedAt == nil {
		return &Wait{What: "purchase", Message: "waiting for the purchase stage to make the purchase orders"}
	}
	if w.PurchaseOrders != nil || w.ReceivingDeadlineAt != nil {
		var orders int64
		if w.PurchaseOrders != nil {
			orders = *w.PurchaseOrders
		}
		msg := fmt.Sprintf("waiting for receiving: %d of %d purchase orders closed", w.PurchaseOrdersClosed, orders)
		if w.ReceivingDeadlineAt != nil {
			msg += ", deadline " + w.ReceivingDeadline.String()
		}
		return &Wait{What: "receiving", Message: msg + fmt.Sprintf("; allocation starts then (or record receipts by hand with "+
			"PUT /api/v1/ops/waves/%d/receipts and \"final\": true)", w.ID)}
	}
	return &Wait{What: "receipts", Message: fmt.Sprintf("waiting for the final receipts: record what arrived with "+
		"PUT /api/v1/ops/waves/%d/receipts and \"final\": true; allocation starts then", w.ID)}
}

// ReadyToAllocate is the one rule of when a closed wave is allocated: after
// its purchase stage, once the receipts are final (typed by hand), the
// receiving deadline has passed at now, or every purchase order is closed.
// A wave with nothing bought by purchase order and no deadline waits for
// receipts typed by hand.
func (w Wave) ReadyToAllocate(now time.Time) bool {
	switch {
	case w.State != Closed || w.PurchasedAt == nil:
		return false
	case w.ReceiptsFinal:
		return true
	case w.ReceivingDeadlineAt != nil && !now.Before(*w.ReceivingDeadlineAt):
		return true
	}
	return w.PurchaseOrders != nil && w.PurchaseOrdersClosed >= *w.PurchaseOrders
}

// Receiving is what the purchase stage tells a wave of its dock.
type Receiving struct {
	Orders     *int64 // nil: nothing of the wave is bought by purchase order
	DeadlineAt *time.Time
	Deadline   clock.TimeOfDay // DeadlineAt in the warehouse's time, for people
}

// SetPurchased records on a wave locked in tx that its purchase orders are made.
func SetPurchased(ctx context.Context, tx *sqlx.Tx, id int64, r Receiving, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE waves SET purchased_at = $2, purchase_orders = $3, purchase_orders_closed = 0,
		receiving_deadline_at = $4, receiving_deadline = $5, updated_at = $2 WHERE id = $1`, id, now, r.Orders, r.DeadlineAt, r.Deadline)
	return err
}

// SetOrdersClosed records on a wave locked in tx how many of its purchase
// orders the dock has closed.
func SetOrdersClosed(ctx context.Context, tx *sqlx.Tx, id, closed int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE waves SET purchase_orders_closed = $2, updated_at = $3 WHERE id = $1`, id, closed, now)
	return err
}

// DueForAllocation returns the closed waves that ReadyToAllocate at now.
func DueForAllocation(ctx context.Context, q sqlx.QueryerContext, now time.Time) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM waves WHERE state = 'closed' AND purchased_at IS NOT NULL
		AND (receipts_final OR receiving_deadline_at <= $1 OR purchase_orders_closed >= purchase_orders) ORDER BY id`, now)
	return ids, err
}

// Errors of waves.
var (
	ErrNotFound = apperr.Errorf(apperr.NotFound, "wave_not_found", "wave not found")
	// ErrNotOpen refuses changes to the sale of a wave past its cutoff.
	ErrNotOpen = apperr.Errorf(apperr.Conflict, "wave_closed", "the wave of this delivery date is closed; its sale can no longer change")
)

const cols = `id, warehouse_id, delivery_date, state, cutoff_at, closed_at, orders, lines, units, amount_fen,
	allocation_policy, receipts_final, purchased_at, purchase_orders, purchase_orders_closed, receiving_deadline_at,
	receiving_deadline, dispatched_at, delivered_at, created_at, updated_at`

// Ensure creates the wave of (warehouse, date) if it does not exist.
func Ensure(ctx context.Context, tx *sqlx.Tx, w pickup.Warehouse, date fulfillment.Date, now time.Time) error {
	cutoff, err := w.Cutoff(date.Time)
	if err != nil {
		return err
	}
	var ids []int64
	err = tx.SelectContext(ctx, &ids, `INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (warehouse_id, delivery_date) DO NOTHING RETURNING id`, w.ID, date, cutoff, now)
	if err != nil || len(ids) == 0 {
		return err
	}
	return Record(ctx, tx, ids[0], EventOpened, "", "", now)
}

// Get loads a wave with its stage history and refunds.
func Get(ctx context.Context, q sqlx.QueryerContext, id int64) (Wave, error) {
	w, err := pg.GetOne[Wave](ctx, q, ErrNotFound, `SELECT `+cols+` FROM waves WHERE id = $1`, id)
	if err != nil {
		return w, err
	}
	w.WaitingFor = w.WaitsFor()
	if w.State == Open {
		if w.Totals, err = liveTotals(ctx, q, id); err != nil {
			return w, err
		}
		w.TotalsLive = true
	}
	if w.Refunds, err = refund.WaveSummary(ctx, q, id); err != nil {
		return w, err
	}
	if w.Timeline, err = Timeline(ctx, q, id); err != nil {
		return w, err
	}
	if w.RouteProgress, err = routeProgress(ctx, q, id); err != nil {
		return w, err
	}
	w.Stages = []StageRecord{}
	err = sqlx.SelectContext(ctx, q, &w.Stages, `SELECT stage, attempts, started_at, finished_at, rows_done, rows_total, last_error
		FROM wave_stages WHERE wave_id = $1 ORDER BY started_at NULLS LAST, stage`, id)
	return w, err
}

// List returns the waves of a delivery date, by warehouse, each with its
// stages and refunds (a date has one wave per warehouse: a handful).
func List(ctx context.Context, q sqlx.QueryerContext, date fulfillment.Date) ([]Wave, error) {
	var ids []int64
	if err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM waves WHERE delivery_date = $1 ORDER BY warehouse_id`, date); err != nil {
		return nil, err
	}
	out := make([]Wave, 0, len(ids))
	for _, id := range ids {
		w, err := Get(ctx, q, id)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// Of loads the wave of (warehouse, date), without its history; a zero Wave
// when none exists.
func Of(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date) (Wave, error) {
	var w Wave
	err := sqlx.GetContext(ctx, q, &w, `SELECT `+cols+` FROM waves WHERE warehouse_id = $1 AND delivery_date = $2`, warehouseID, date)
	if errors.Is(err, sql.ErrNoRows) {
		return Wave{}, nil
	}
	return w, err
}

// Due returns the open waves whose cutoff has passed at now, optionally of
// one warehouse.
func Due(ctx context.Context, q sqlx.QueryerContext, now time.Time, warehouseID int64) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM waves WHERE state = 'open' AND cutoff_at <= $1
		AND ($2::bigint = 0 OR warehouse_id = $2) ORDER BY id`, now, warehouseID)
	return ids, err
}

// Lock loads a wave inside tx and locks its row against other commands on
// it: every command on a wave locks the wave's row first.
func Lock(ctx context.Context, tx *sqlx.Tx, id int64) (Wave, error) {
	var w Wave
	err := tx.GetContext(ctx, &w, `SELECT `+cols+` FROM waves WHERE id = $1 FOR NO KEY UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return w, ErrNotFound
	}
	return w, err
}

// LockShare share-locks a wave's row inside tx, for a command that only
// writes rows of its own (a leader's receipt): such commands hold it side
// by side, and a command that changes the wave (Lock) waits for them.
func LockShare(ctx context.Context, tx *sqlx.Tx, id int64) error {
	var one int
	err := tx.GetContext(ctx, &one, `SELECT 1 FROM waves WHERE id = $1 FOR SHARE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	return err
}

// LockOpen share-locks the wave of (warehouse, date), as intake does, and
// refuses unless it is open: a sale cannot change once its wave has closed.
func LockOpen(ctx context.Context, tx *sqlx.Tx, warehouseID int64, date fulfillment.Date) error {
	var state State
	err := tx.GetContext(ctx, &state, `SELECT state FROM waves WHERE warehouse_id = $1 AND delivery_date = $2 FOR SHARE`, warehouseID, date)
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	if state != Open {
		return ErrNotOpen
	}
	return nil
}

// Key names the wave of a warehouse and a delivery date (YYYY-MM-DD).
type Key struct {
	Warehouse int64
	Date      string
}

// Gate is what decides whether orders may still enter a wave.
type Gate struct {
	State    State            `db:"state"`
	CutoffAt time.Time        `db:"cutoff_at"`
	ClosedAt sql.NullTime     `db:"closed_at"`
	WH       int64            `db:"warehouse_id"`
	Date     fulfillment.Date `db:"delivery_date"`
}

// OrderingEnded is when ordering in the wave ended: its cutoff, or the
// earlier time ops closed it.
func (g Gate) OrderingEnded() time.Time {
	if g.ClosedAt.Valid {
		return orderingEnd(g.CutoffAt, &g.ClosedAt.Time)
	}
	return g.CutoffAt
}

// OrderingEnds is when ordering in the wave ends or ended: its cutoff, or
// the earlier time ops closed it.
func (w Wave) OrderingEnds() time.Time { return orderingEnd(w.CutoffAt, w.ClosedAt) }

// orderingEnd is the one rule for when a wave stops taking orders.
func orderingEnd(cutoff time.Time, closed *time.Time) time.Time {
	if closed != nil && closed.Before(cutoff) {
		return *closed
	}
	return cutoff
}

// LockShared takes a share lock on the waves of the given keys: orders may
// be placed while they hold it, and closing a wave takes the row's
// exclusive lock, so a close waits for every order batch in flight and no
// batch commits into a closed wave.
func LockShared(ctx context.Context, tx *sqlx.Tx, keys map[Key]bool) (map[Key]Gate, error) {
	var whs []int64
	var dates []string
	for k := range keys {
		whs, dates = append(whs, k.Warehouse), append(dates, k.Date)
	}
	var rows []Gate
	const q = `SELECT w.warehouse_id, w.delivery_date, w.state, w.cutoff_at, w.closed_at FROM waves w
		JOIN unnest($1::bigint[], $2::date[]) AS k(wh, d) ON w.warehouse_id = k.wh AND w.delivery_date = k.d
		ORDER BY w.id FOR SHARE OF w`
	if err := sqlx.SelectContext(ctx, tx, &rows, q, pq.Array(whs), pq.Array(dates)); err != nil {
		return nil, err
	}
	out := make(map[Key]Gate, len(rows))
	for _, r := range rows {
		out[Key{r.WH, r.Date.String()}] = r
	}
	return out, nil
}

// MarkClosed closes a wave locked in tx with the totals of its placed orders.
func MarkClosed(ctx context.Context, tx *sqlx.Tx, id int64, t Totals, now time.Time) error {
	var cutoff time.Time
	err := tx.GetContext(ctx, &cutoff, `UPDATE waves SET state = 'closed', closed_at = $2, updated_at = $2,
		orders = $3, lines = $4, units = $5, amount_fen = $6 WHERE id = $1 RETURNING cutoff_at`, id, now, t.Orders, t.Lines, t.Units, t.AmountFen)
	if err != nil {
		return err
	}
	kind := EventClosedAtCutoff
	if now.Before(cutoff) {
		kind = EventClosedByHand
	}
	return Record(ctx, tx, id, kind, "", fmt.Sprintf("%d orders, %d lines, %d units, %d fen", t.Orders, t.Lines, t.Units, t.AmountFen), now)
}

// Advance moves a wave from one state to the next inside tx and reports
// whether it was in from; a wave in any other state is left alone.
func Advance(ctx context.Context, tx *sqlx.Tx, id int64, from, to State, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE waves SET state = $3, updated_at = $4 WHERE id = $1 AND state = $2`, id, from, to, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// SetReceipts records, on a wave locked in tx, the allocation policy (""
// keeps it) and whether the receipts are final (once final, they stay so).
func SetReceipts(ctx context.Context, tx *sqlx.Tx, id int64, policy Policy, final bool, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE waves SET allocation_policy = coalesce(nullif($2, ''), allocation_policy),
		receipts_final = receipts_final OR $3, updated_at = $4 WHERE id = $1`, id, string(policy), final, now)
	if err != nil {
		return err
	}
	detail := "not final"
	if final {
		detail = "final"
	}
	if policy != "" {
		detail += ", policy " + string(policy)
	}
	return Record(ctx, tx, id, EventReceipts, "", detail, now)
}

// MarkDispatched makes a ready wave dispatched with its first truck.
func MarkDispatched(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE waves SET state = 'dispatched', dispatched_at = $2, updated_at = $2
		WHERE id = $1 AND state = 'ready'`, id, now)
	return err
}

// MarkDelivered makes a dispatched wave delivered: its last stop was reached.
func MarkDelivered(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `UPDATE waves SET state = 'delivered', delivered_at = $2, updated_at = $2
		WHERE id = $1 AND state = 'dispatched'`, id, now)
	return err
}
