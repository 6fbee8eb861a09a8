package wave

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"
)

// RouteProgress is the route stage's solver at work: the sectors of the
// wave solved so far, the stops its best plans serve, their cost, and the
// seconds of its budget left. FinishedAt is set once the stage has ended.
type RouteProgress struct {
	SectorsDone  int        `db:"sectors_done" json:"sectors_done"`
	SectorsTotal int        `db:"sectors_total" json:"sectors_total"`
	StopsServed  int        `db:"stops_served" json:"stops_served"`
	StopsTotal   int        `db:"stops_total" json:"stops_total"`
	BestCostFen  int64      `db:"best_cost_fen" json:"best_cost_fen" doc:"The cost of the best plans so far: vehicles' fixed costs plus distance, in fen."`
	SecondsLeft  int        `db:"seconds_left" json:"seconds_left"`
	UpdatedAt    time.Time  `db:"updated_at" json:"updated_at"`
	FinishedAt   *time.Time `db:"finished_at" json:"finished_at,omitempty"`
}

// SaveRouteProgress records the solver's progress on a wave, from outside
// the stage's transaction; a rerun's first report replaces the last run's.
func SaveRouteProgress(ctx context.Context, db sqlx.ExecerContext, wave int64, p RouteProgress) error {
	_, err := db.ExecContext(ctx, `INSERT INTO wave_route_progress (wave_id, sectors_done, sectors_total, stops_served,
			stops_total, best_cost_fen, seconds_left, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (wave_id) DO UPDATE SET sectors_done = $2, sectors_total = $3, stops_served = $4, stops_total = $5,
			best_cost_fen = $6, seconds_left = $7, updated_at = $8, finished_at = NULL`,
		wave, p.SectorsDone, p.SectorsTotal, p.StopsServed, p.StopsTotal, p.BestCostFen, p.SecondsLeft, p.UpdatedAt)
	return err
}

// FinishRouteProgress marks the solver's progress on a wave as ended at
// now, with no seconds left; doing it twice keeps the first time.
func FinishRouteProgress(ctx context.Context, db sqlx.ExecerContext, wave int64, now time.Time) error {
	_, err := db.ExecContext(ctx, `UPDATE wave_route_progress SET finished_at = $2, seconds_left = 0
		WHERE wave_id = $1 AND finished_at IS NULL`, wave, now)
	return err
}

// routeProgress is a wave's route progress; nil before its route stage ran.
func routeProgress(ctx context.Context, q sqlx.QueryerContext, wave int64) (*RouteProgress, error) {
	var p RouteProgress
	err := sqlx.GetContext(ctx, q, &p, `SELECT sectors_done, sectors_total, stops_served, stops_total, best_cost_fen,
		seconds_left, updated_at, finished_at FROM wave_route_progress WHERE wave_id = $1`, wave)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return &p, err
}
