package routeplan

import (
	"context"

	"github.com/jmoiron/sqlx"
)

// Driving is how a wave's trucks did: its routes' planned distance and
// cost, and its stops reached, within their windows or not.
type Driving struct {
	Routes       int64 `db:"routes" json:"routes"`
	DistanceM    int64 `db:"distance_m" json:"distance_m"`
	CostFen      int64 `db:"cost_fen" json:"cost_fen"`
	Stops        int64 `db:"stops" json:"stops"`
	StopsReached int64 `db:"stops_reached" json:"stops_reached"`
	// StopsOnTime were reached within the window they were planned in (a
	// stop of a plan made before windows were kept counts when reached).
	StopsOnTime int64 `db:"stops_on_time" json:"stops_on_time"`
}

// WaveDriving totals a wave's routes and stops.
func WaveDriving(ctx context.Context, q sqlx.QueryerContext, waveID int64) (Driving, error) {
	var d Driving
	err := sqlx.GetContext(ctx, q, &d, `SELECT
		(SELECT count(*) FROM routes WHERE wave_id = $1) AS routes,
		(SELECT coalesce(sum(distance_m), 0) FROM routes WHERE wave_id = $1) AS distance_m,
		(SELECT coalesce(sum(cost_fen), 0) FROM routes WHERE wave_id = $1) AS cost_fen,
		count(*) AS stops, count(s.arrived_at) AS stops_reached,
		count(*) FILTER (WHERE s.arrived_at >= coalesce(s.window_start, '-infinity')
			AND s.arrived_at <= coalesce(s.window_end, 'infinity')) AS stops_on_time
		FROM route_stops s JOIN routes r ON r.id = s.route_id WHERE r.wave_id = $1`, waveID)
	return d, err
}
