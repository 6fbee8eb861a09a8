package night

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// WaveState is where a wave stands in the night.
type WaveState string

// The wave states, in order.
const (
	WaveOpen       WaveState = "open"
	WaveClosed     WaveState = "closed"
	WaveAllocated  WaveState = "allocated"
	WavePicked     WaveState = "picked"
	WaveRouted     WaveState = "routed"
	WaveReady      WaveState = "ready"
	WaveDispatched WaveState = "dispatched"
	WaveDelivered  WaveState = "delivered"
)

// Stage names the step of the night a task performs.
type Stage string

// The stages of a wave. Only close exists so far; the others follow.
const (
	StageClose Stage = "close"
)

// Wave is one night's work at one warehouse: every order for one delivery
// date. It opens when the first sale item for the date is published.
type Wave struct {
	ID           int64            `db:"id" json:"id"`
	WarehouseID  int64            `db:"warehouse_id" json:"warehouse_id"`
	DeliveryDate fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	State        WaveState        `db:"state" json:"state"`
	CutoffAt     time.Time        `db:"cutoff_at" json:"cutoff_at"`
	ClosedAt     *time.Time       `db:"closed_at" json:"closed_at,omitempty"`
	Orders       int64            `db:"orders" json:"orders"`
	Lines        int64            `db:"lines" json:"lines"`
	Units        int64            `db:"units" json:"units"`
	AmountFen    int64            `db:"amount_fen" json:"amount_fen"`
	// Allocation: how short SKUs are cut, and whether the receipts are complete.
	AllocationPolicy Policy        `db:"allocation_policy" json:"allocation_policy"`
	ReceiptsFinal    bool          `db:"receipts_final" json:"receipts_final"`
	Refunds          RefundSummary `db:"-" json:"refunds"`
	// WaitingFor says what the wave waits for when its next stage needs
	// someone else's part first; absent when the night can go on.
	WaitingFor *WaveWait `db:"-" json:"waiting_for,omitempty"`
	// The last mile: the first truck out, and the last stop reached.
	DispatchedAt *time.Time  `db:"dispatched_at" json:"dispatched_at,omitempty"`
	DeliveredAt  *time.Time  `db:"delivered_at" json:"delivered_at,omitempty"`
	CreatedAt    time.Time   `db:"created_at" json:"created_at"`
	UpdatedAt    time.Time   `db:"updated_at" json:"updated_at"`
	Stages       []WaveStage `db:"-" json:"stages"`
}

// WaveStage is the history of one stage of a wave.
type WaveStage struct {
	Stage      Stage      `db:"stage" json:"stage"`
	Attempts   int        `db:"attempts" json:"attempts"`
	StartedAt  *time.Time `db:"started_at" json:"started_at,omitempty"`
	FinishedAt *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	RowsDone   int64      `db:"rows_done" json:"rows_done"`
	RowsTotal  int64      `db:"rows_total" json:"rows_total"`
	LastError  string     `db:"last_error" json:"last_error,omitempty"`
}

// WaveWait is what a wave waits for before its next stage can run.
type WaveWait struct {
	What    string `json:"what"` // "receipts"
	Message string `json:"message"`
}

// waitingFor says what w waits for: a closed wave cannot be allocated until
// the warehouse has declared its receipts final (RecordReceipts).
func (w *Wave) waitingFor() *WaveWait {
	if w.State == WaveClosed && !w.ReceiptsFinal {
		return &WaveWait{What: "receipts", Message: fmt.Sprintf("waiting for the final receipts: record what arrived with "+
			"PUT /api/v1/ops/waves/%d/receipts and \"final\": true; allocation starts then", w.ID)}
	}
	return nil
}

// Errors of waves.
var (
	ErrWaveNotFound = apperr.Errorf(apperr.NotFound, "wave_not_found", "wave not found")
	ErrWaveClosed   = apperr.Errorf(apperr.Unprocessable, "cutoff_passed", "ordering for this delivery date has closed")
)

const waveCols = `id, warehouse_id, delivery_date, state, cutoff_at, closed_at, orders, lines, units, amount_fen,
	allocation_policy, receipts_final, dispatched_at, delivered_at, created_at, updated_at`

// RefundTotals counts refund ledger rows: lines, units and value.
type RefundTotals struct {
	Lines     int64 `db:"lines" json:"lines"`
	Units     int64 `db:"units" json:"units"`
	AmountFen int64 `db:"amount_fen" json:"amount_fen"`
}

// RefundSummary totals a wave's refunds, in all and per reason (every
// reason, zero when it has none): the shortage refund is only what
// allocation cut.
type RefundSummary struct {
	RefundTotals
	ByReason map[fulfillment.RefundReason]RefundTotals `json:"by_reason"`
}

// waveRefunds totals a wave's refunds per reason, in one query on the
// ledger's wave index.
func waveRefunds(ctx context.Context, q sqlx.QueryerContext, waveID int64) (RefundSummary, error) {
	var rows []struct {
		Reason fulfillment.RefundReason `db:"reason"`
		RefundTotals
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT reason, count(*) AS lines, sum(quantity) AS units, sum(amount_fen) AS amount_fen
		FROM refunds WHERE wave_id = $1 GROUP BY reason`, waveID)
	out := RefundSummary{ByReason: make(map[fulfillment.RefundReason]RefundTotals, len(fulfillment.RefundReasons))}
	for _, r := range fulfillment.RefundReasons {
		out.ByReason[r] = RefundTotals{}
	}
	for _, r := range rows {
		out.ByReason[r.Reason] = r.RefundTotals
		out.Lines, out.Units, out.AmountFen = out.Lines+r.Lines, out.Units+r.Units, out.AmountFen+r.AmountFen
	}
	return out, err
}

// openWave creates the wave of (warehouse, date) if it does not exist.
func openWave(ctx context.Context, tx *sqlx.Tx, w pickup.Warehouse, date fulfillment.Date, now time.Time) error {
	cutoff, err := w.Cutoff(date.Time)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (warehouse_id, delivery_date) DO NOTHING`, w.ID, date, cutoff, now)
	return err
}

// GetWave loads a wave with its stage history.
func GetWave(ctx context.Context, q sqlx.QueryerContext, id int64) (Wave, error) {
	w, err := pg.GetOne[Wave](ctx, q, ErrWaveNotFound, `SELECT `+waveCols+` FROM waves WHERE id = $1`, id)
	if err != nil {
		return w, err
	}
	w.WaitingFor = w.waitingFor()
	if w.Refunds, err = waveRefunds(ctx, q, id); err != nil {
		return w, err
	}
	w.Stages = []WaveStage{}
	err = sqlx.SelectContext(ctx, q, &w.Stages, `SELECT stage, attempts, started_at, finished_at, rows_done, rows_total, last_error
		FROM wave_stages WHERE wave_id = $1 ORDER BY started_at NULLS LAST, stage`, id)
	return w, err
}

// ListWaves returns the waves of a delivery date, by warehouse, each with its
// stages and refunds (a date has one wave per warehouse: a handful).
func ListWaves(ctx context.Context, q sqlx.QueryerContext, date fulfillment.Date) ([]Wave, error) {
	var ids []int64
	if err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM waves WHERE delivery_date = $1 ORDER BY warehouse_id`, date); err != nil {
		return nil, err
	}
	out := make([]Wave, 0, len(ids))
	for _, id := range ids {
		w, err := GetWave(ctx, q, id)
		if err != nil {
			return nil, err
		}
		out = append(out, w)
	}
	return out, nil
}

// waveOf loads the wave of (warehouse, date); a zero Wave when none exists.
func waveOf(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date) (Wave, error) {
	var w Wave
	err := sqlx.GetContext(ctx, q, &w, `SELECT `+waveCols+` FROM waves WHERE warehouse_id = $1 AND delivery_date = $2`, warehouseID, date)
	if errors.Is(err, sql.ErrNoRows) {
		return Wave{}, nil
	}
	return w, err
}

// ErrWaveNotOpen refuses changes to the sale of a wave past its cutoff.
var ErrWaveNotOpen = apperr.Errorf(apperr.Conflict, "wave_closed", "the wave of this delivery date is closed; its sale can no longer change")

// DueWaves returns the open waves whose cutoff has passed at now, optionally
// of one warehouse.
func DueWaves(ctx context.Context, q sqlx.QueryerContext, now time.Time, warehouseID int64) ([]int64, error) {
	var ids []int64
	err := sqlx.SelectContext(ctx, q, &ids, `SELECT id FROM waves WHERE state = 'open' AND cutoff_at <= $1
		AND ($2::bigint = 0 OR warehouse_id = $2) ORDER BY id`, now, warehouseID)
	return ids, err
}

type waveKey struct {
	warehouse int64
	date      string
}

type waveGate struct {
	State    WaveState        `db:"state"`
	CutoffAt time.Time        `db:"cutoff_at"`
	ClosedAt sql.NullTime     `db:"closed_at"`
	WH       int64            `db:"warehouse_id"`
	Date     fulfillment.Date `db:"delivery_date"`
}

// closedAt is when ordering in the wave ended: its cutoff, or the earlier
// time ops closed it.
func (g waveGate) closedAt() time.Time {
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

// lockWavesShared takes a share lock on the waves of the given (warehouse,
// date) pairs: orders may be placed while they hold it, and closing a wave
// takes the row's exclusive lock, so a close waits for every order batch in
// flight and no batch commits into a closed wave.
func lockWavesShared(ctx context.Context, tx *sqlx.Tx, keys map[waveKey]bool) (map[waveKey]waveGate, error) {
	var whs []int64
	var dates []string
	for k := range keys {
		whs, dates = append(whs, k.warehouse), append(dates, k.date)
	}
	var rows []waveGate
	const q = `SELECT w.warehouse_id, w.delivery_date, w.state, w.cutoff_at, w.closed_at FROM waves w
		JOIN unnest($1::bigint[], $2::date[]) AS k(wh, d) ON w.warehouse_id = k.wh AND w.delivery_date = k.d
		ORDER BY w.id FOR SHARE OF w`
	if err := sqlx.SelectContext(ctx, tx, &rows, q, pq.Array(whs), pq.Array(dates)); err != nil {
		return nil, err
	}
	out := make(map[waveKey]waveGate, len(rows))
	for _, r := range rows {
		out[waveKey{r.WH, r.Date.String()}] = r
	}
	return out, nil
}

// closeWave closes an open wave inside tx: it waits for the order batches in
// flight and freezes the totals. Before the cutoff it does
// nothing unless manual. Closing a closed wave does nothing: the scheduler of
// every worker process may ask for the same close.
func closeWave(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, manual bool) (stageResult, error) {
	var w Wave
	err := tx.GetContext(ctx, &w, `SELECT `+waveCols+` FROM waves WHERE id = $1 FOR NO KEY UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return stageResult{}, ErrWaveNotFound
	}
	if err != nil || w.State != WaveOpen || (!manual && now.Before(w.CutoffAt)) {
		return stageResult{}, err
	}
	const totals = `UPDATE waves w SET state = 'closed', closed_at = $2, updated_at = $2,
			orders = t.orders, lines = t.lines, units = t.units, amount_fen = t.amount
		FROM (SELECT count(DISTINCT o.id) AS orders, count(l.id) AS lines, coalesce(sum(l.quantity), 0) AS units,
				coalesce(sum(l.quantity * l.price_fen), 0) AS amount
			FROM orders o JOIN order_lines l ON l.order_id = o.id
			WHERE o.warehouse_id = $3 AND o.delivery_date = $4 AND o.status = 'placed') t
		WHERE w.id = $1`
	if _, err := tx.ExecContext(ctx, totals, id, now, w.WarehouseID, w.DeliveryDate); err != nil {
		return stageResult{}, err
	}
	return movedOn(1, 1), nil
}

// stageResult is what one attempt of a stage did: nothing (the wave was not
// in the state before the stage), or moved the wave on, having done rows of
// total.
type stageResult struct {
	moved       bool
	done, total int64
}

// movedOn is the result of an attempt that moved the wave on.
func movedOn(done, total int64) stageResult {
	return stageResult{moved: true, done: done, total: total}
}

// finishStage records a successful attempt of a stage, begun at began and
// committing with tx at finished: the last statement before the commit.
func finishStage(ctx context.Context, tx *sqlx.Tx, wave int64, stage Stage, began, finished time.Time, r stageResult) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, attempts, started_at, finished_at, rows_done, rows_total)
		VALUES ($1, $2, 1, $3, $4, $5, $6)
		ON CONFLICT (wave_id, stage) DO UPDATE SET attempts = wave_stages.attempts + 1,
			started_at = $3, finished_at = $4, rows_done = $5, rows_total = $6, last_error = ''`,
		wave, stage, began, finished, r.done, r.total)
	return err
}

// failStage records a failed attempt begun at began; it runs outside the
// stage's rolled-back transaction. A finished stage keeps its times.
func failStage(ctx context.Context, db *sqlx.DB, wave int64, stage Stage, began time.Time, cause error) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, attempts, started_at, last_error)
		VALUES ($1, $2, 1, $3, $4)
		ON CONFLICT (wave_id, stage) DO UPDATE SET attempts = wave_stages.attempts + 1, last_error = $4,
			started_at = CASE WHEN wave_stages.finished_at IS NULL THEN $3 ELSE wave_stages.started_at END`,
		wave, stage, began, cause.Error())
	return err
}

// reportProgress records a running attempt (begun at began) and its rows
// done, from outside the stage's transaction so that ops see it while the
// stage runs. A stage that has finished is left alone: its record is final,
// as the wave never goes back to the state before it.
func reportProgress(ctx context.Context, db *sqlx.DB, wave int64, stage Stage, began time.Time, done, total int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, started_at, rows_done, rows_total)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (wave_id, stage) DO UPDATE SET started_at = $3, rows_done = $4, rows_total = $5
		WHERE wave_stages.finished_at IS NULL`,
		wave, stage, began, done, total)
	return err
}
