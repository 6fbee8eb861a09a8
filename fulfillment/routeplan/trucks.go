package routeplan

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// ErrRouteNotFound: the wave has no such route.
var ErrRouteNotFound = apperr.Errorf(apperr.NotFound, "route_not_found", "no such route in the wave")

// RouteOfWave tells which wave a route belongs to.
func RouteOfWave(ctx context.Context, q sqlx.QueryerContext, routeID int64) (int64, error) {
	return pg.GetOne[int64](ctx, q, ErrRouteNotFound, `SELECT wave_id FROM routes WHERE id = $1`, routeID)
}

// Route is where a route's truck stands.
type Route struct {
	WaveID       int64      `db:"wave_id"`
	DispatchedAt *time.Time `db:"dispatched_at"`
}

// GetRoute loads where a route's truck stands.
func GetRoute(ctx context.Context, q sqlx.QueryerContext, routeID int64) (Route, error) {
	return pg.GetOne[Route](ctx, q, ErrRouteNotFound, `SELECT wave_id, dispatched_at FROM routes WHERE id = $1`, routeID)
}

// Dispatch marks the routes of a wave dispatched at now inside tx: one
// route, or every route when routeID is 0. A dispatched route keeps its
// time. It refuses a route of another wave, and returns how many routes it
// dispatched now.
func Dispatch(ctx context.Context, tx *sqlx.Tx, waveID, routeID int64, now time.Time) (int64, error) {
	if routeID != 0 {
		var n int
		if err := tx.GetContext(ctx, &n, `SELECT count(*) FROM routes WHERE id = $1 AND wave_id = $2`, routeID, waveID); err != nil {
			return 0, err
		}
		if n == 0 {
			return 0, ErrRouteNotFound
		}
	}
	res, err := tx.ExecContext(ctx, `UPDATE routes SET dispatched_at = $3
		WHERE wave_id = $1 AND ($2::bigint = 0 OR id = $2) AND dispatched_at IS NULL`, waveID, routeID, now)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Arrive records inside tx that a route's truck reached its stop seq (the
// first time counts) and reports whether the route has that stop.
func Arrive(ctx context.Context, tx *sqlx.Tx, routeID int64, seq int, now time.Time) (bool, error) {
	res, err := tx.ExecContext(ctx, `UPDATE route_stops SET arrived_at = coalesce(arrived_at, $3) WHERE route_id = $1 AND seq = $2`,
		routeID, seq, now)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n > 0, err
}
