package wave

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/logctx"
)

// liveStripes is how many rows an open wave's totals are spread over: the
// order batches of several API processes add to different rows at once.
const liveStripes = 16

// AddLive adds to the live totals of open waves inside the order
// transaction that changes them (negative to take a cancelled order out),
// keyed by each wave's warehouse and date. One stripe (LiveStripe) takes
// the batch.
func AddLive(ctx context.Context, tx *sqlx.Tx, deltas map[Key]Totals) error {
	if len(deltas) == 0 {
		return nil
	}
	var whs, orders, lines, units, amounts []int64
	var dates []string
	for k, t := range deltas {
		whs, dates = append(whs, k.Warehouse), append(dates, k.Date)
		orders, lines, units, amounts = append(orders, t.Orders), append(lines, t.Lines), append(units, t.Units), append(amounts, t.AmountFen)
	}
	_, err := tx.ExecContext(ctx, `WITH live_add AS (SELECT d.*, $7::smallint AS stripe
			FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::bigint[], $5::bigint[], $6::bigint[]) AS d(wh, dt, o, l, u, a)),
		`+AddLiveCTE+` SELECT count(*) FROM live_added`,
		pq.Array(whs), pq.Array(dates), pq.Array(orders), pq.Array(lines), pq.Array(units), pq.Array(amounts), LiveStripe())
	return err
}

// LiveStripe picks the stripe of the live totals a batch adds to: at
// random, so concurrent batches rarely wait for each other.
func LiveStripe() int { return rand.IntN(liveStripes) }

// AddLiveCTE is AddLive as a CTE, for a statement that adds to the live
// totals beside other writes in one round trip: it reads a CTE named
// live_add (wh, dt, o, l, u, a, stripe: the wave's warehouse and date, the
// orders, lines, units and amount to add, and the LiveStripe) that the
// statement defines first, and yields live_added. The rows are written in
// wave order, so two batches on one stripe lock them alike.
const AddLiveCTE = `live_added AS (INSERT INTO wave_live_totals (wave_id, stripe, orders, lines, units, amount_fen)
		SELECT w.id, d.stripe, d.o, d.l, d.u, d.a FROM live_add d
		JOIN waves w ON w.warehouse_id = d.wh AND w.delivery_date = d.dt
		ORDER BY w.id
		ON CONFLICT (wave_id, stripe) DO UPDATE SET orders = wave_live_totals.orders + EXCLUDED.orders,
			lines = wave_live_totals.lines + EXCLUDED.lines, units = wave_live_totals.units + EXCLUDED.units,
			amount_fen = wave_live_totals.amount_fen + EXCLUDED.amount_fen
		RETURNING wave_id)`

// liveTotals sums an open wave's stripes.
func liveTotals(ctx context.Context, q sqlx.QueryerContext, id int64) (Totals, error) {
	var t Totals
	err := sqlx.GetContext(ctx, q, &t, `SELECT coalesce(sum(orders), 0) AS orders, coalesce(sum(lines), 0) AS lines,
		coalesce(sum(units), 0) AS units, coalesce(sum(amount_fen), 0) AS amount_fen FROM wave_live_totals WHERE wave_id = $1`, id)
	return t, err
}

// EventKind is what happened to a wave.
type EventKind string

// The events of a wave's timeline.
const (
	EventOpened           EventKind = "opened"            // its first sale item was published
	EventClosedByHand     EventKind = "closed_by_hand"    // ops closed it before its cutoff
	EventClosedAtCutoff   EventKind = "closed_at_cutoff"  // ordering ended at the cutoff
	EventStageStarted     EventKind = "stage_started"     // an attempt of a stage began
	EventStageFinished    EventKind = "stage_finished"    // and committed
	EventStageFailed      EventKind = "stage_failed"      // or failed
	EventStageRerun       EventKind = "stage_rerun"       // ops asked for a stage again
	EventReceipts         EventKind = "receipts_recorded" // the warehouse recorded what arrived
	EventRoutesDispatched EventKind = "routes_dispatched" // trucks left
)

// Event is one entry of a wave's timeline.
type Event struct {
	ID        int64     `db:"id" json:"id"`
	At        time.Time `db:"at" json:"at"`
	Kind      EventKind `db:"kind" json:"kind"`
	Stage     Stage     `db:"stage" json:"stage,omitempty"`
	Actor     string    `db:"actor" json:"actor,omitempty"` // "" : the system
	Detail    string    `db:"detail" json:"detail,omitempty"`
	RequestID string    `db:"request_id" json:"request_id,omitempty"`
}

// Record appends an event to a wave's timeline in the transaction of the
// command that did it (db may also be the pool, for what is recorded after
// a rollback); who did it and the request come from ctx.
func Record(ctx context.Context, db sqlx.ExecerContext, id int64, kind EventKind, stage Stage, detail string, at time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_events (wave_id, at, kind, stage, actor, detail, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, id, at, kind, stage, logctx.Actor(ctx), detail, logctx.RequestID(ctx))
	return err
}

// recordStart appends a stage's start once per attempt (its start time
// names it): the progress of a long stage and its finish both say so.
func recordStart(ctx context.Context, db sqlx.ExecerContext, id int64, stage Stage, began time.Time) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_events (wave_id, at, kind, stage, actor, request_id)
		SELECT $1, $2, 'stage_started', $3, $4, $5 WHERE NOT EXISTS (
			SELECT 1 FROM wave_events WHERE wave_id = $1 AND at = $2 AND kind = 'stage_started' AND stage = $3)`,
		id, began, stage, logctx.Actor(ctx), logctx.RequestID(ctx))
	return err
}

// Timeline returns a wave's events, oldest first.
func Timeline(ctx context.Context, q sqlx.QueryerContext, id int64) ([]Event, error) {
	out := []Event{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT id, at, kind, stage, actor, detail, request_id FROM wave_events
		WHERE wave_id = $1 ORDER BY at, id`, id)
	for i := range out {
		out[i].At = out[i].At.UTC()
	}
	return out, err
}
