package wave

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/pg"
)

// Stage names the step of the night a task performs.
type Stage string

// The stages of a wave, in the order the night runs them (package night
// holds the table that runs them).
const (
	StageClose    Stage = "close"    // ordering ends; the totals freeze
	StagePurchase Stage = "purchase" // the closed wave's sales become purchase orders
	StageAllocate Stage = "allocate" // the short lines of a closed wave are cut
	StagePick     Stage = "pick"     // an allocated wave becomes its pick plan
	StageRefund   Stage = "refund"   // the cut lines are refunded, their residents told
	StageRoute    Stage = "route"    // the delivery routes of a picked wave
	StageReady    Stage = "ready"    // a routed wave is ready for dispatch
)

// Stages lists every stage in the order the night runs them.
var Stages = []Stage{StageClose, StagePurchase, StageAllocate, StagePick, StageRefund, StageRoute, StageReady}

// StageRecord is the history of one stage of a wave.
type StageRecord struct {
	Stage      Stage      `db:"stage" json:"stage"`
	Attempts   int        `db:"attempts" json:"attempts"`
	StartedAt  *time.Time `db:"started_at" json:"started_at,omitempty"`
	FinishedAt *time.Time `db:"finished_at" json:"finished_at,omitempty"`
	RowsDone   int64      `db:"rows_done" json:"rows_done"`
	RowsTotal  int64      `db:"rows_total" json:"rows_total"`
	LastError  string     `db:"last_error" json:"last_error,omitempty"`
}

// FinishStage records a successful attempt of a stage, begun at began and
// committing with tx at finished, having done rows of total: the last
// statement before the commit.
func FinishStage(ctx context.Context, tx *sqlx.Tx, wave int64, stage Stage, began, finished time.Time, done, total int64) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, attempts, started_at, finished_at, rows_done, rows_total)
		VALUES ($1, $2, 1, $3, $4, $5, $6)
		ON CONFLICT (wave_id, stage) DO UPDATE SET attempts = wave_stages.attempts + 1,
			started_at = $3, finished_at = $4, rows_done = $5, rows_total = $6, last_error = ''`,
		wave, stage, began, finished, done, total)
	if err != nil {
		return err
	}
	if err := recordStart(ctx, tx, wave, stage, began); err != nil {
		return err
	}
	return Record(ctx, tx, wave, EventStageFinished, stage, fmt.Sprintf("%d of %d rows", done, total), finished)
}

// FailStage records a failed attempt begun at began; it runs outside the
// stage's rolled-back transaction. A finished stage keeps its times.
func FailStage(ctx context.Context, db sqlx.ExecerContext, wave int64, stage Stage, began time.Time, cause error) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, attempts, started_at, last_error)
		VALUES ($1, $2, 1, $3, $4)
		ON CONFLICT (wave_id, stage) DO UPDATE SET attempts = wave_stages.attempts + 1, last_error = $4,
			started_at = CASE WHEN wave_stages.finished_at IS NULL THEN $3 ELSE wave_stages.started_at END`,
		wave, stage, began, pg.Text(cause.Error(), 2000))
	if err != nil {
		return err
	}
	if err := recordStart(ctx, db, wave, stage, began); err != nil {
		return err
	}
	// The attempt's start stands for its time: the failure has no clock here.
	return Record(ctx, db, wave, EventStageFailed, stage, cause.Error(), began)
}

// ReportProgress records a running attempt (begun at began) and its rows
// done, from outside the stage's transaction so that ops see it while the
// stage runs. A stage that has finished is left alone: its record is final,
// as the wave never goes back to the state before it.
func ReportProgress(ctx context.Context, db sqlx.ExecerContext, wave int64, stage Stage, began time.Time, done, total int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_stages (wave_id, stage, started_at, rows_done, rows_total)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (wave_id, stage) DO UPDATE SET started_at = $3, rows_done = $4, rows_total = $5
		WHERE wave_stages.finished_at IS NULL`,
		wave, stage, began, done, total)
	if err != nil {
		return err
	}
	return recordStart(ctx, db, wave, stage, began)
}

// StageFinishedAt is when a stage of a wave last committed, or the zero
// time if it never has: for a stage that leaves the wave in the state it
// found it, the only sign it ran.
func StageFinishedAt(ctx context.Context, q sqlx.QueryerContext, wave int64, stage Stage) (time.Time, error) {
	var at sql.NullTime
	err := sqlx.GetContext(ctx, q, &at, `SELECT (SELECT finished_at FROM wave_stages WHERE wave_id = $1 AND stage = $2)`, wave, stage)
	return at.Time, err
}
