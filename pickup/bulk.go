package pickup

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/pickup/geo"
)

// BulkPoint is one pickup point with its leader for a bulk load.
type BulkPoint struct {
	Point       Point
	LeaderName  string
	LeaderPhone string
}

// CopyPoints loads many new pickup points and their new leaders inside tx
// with COPY, for the city simulator: no tokens are issued (ops can issue them
// later) and codes and phones must be new. It returns the points with ids,
// in input order.
func CopyPoints(ctx context.Context, tx *sqlx.Tx, points []BulkPoint, now time.Time) ([]Point, error) {
	if len(points) == 0 {
		return nil, nil
	}
	lead, err := tx.PrepareContext(ctx, `COPY leaders (name, phone, created_at) FROM STDIN`)
	if err != nil {
		return nil, err
	}
	for _, p := range points {
		if _, err := lead.ExecContext(ctx, p.LeaderName, p.LeaderPhone, now); err != nil {
			return nil, err
		}
	}
	if _, err := lead.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("copy leaders: %w", err)
	}
	lead.Close()
	phones := make([]string, len(points))
	for i, p := range points {
		phones[i] = p.LeaderPhone
	}
	var ids []struct {
		ID    int64  `db:"id"`
		Phone string `db:"phone"`
	}
	if err := sqlx.SelectContext(ctx, tx, &ids, `SELECT id, phone FROM leaders WHERE phone = ANY($1)`, pq.Array(phones)); err != nil {
		return nil, err
	}
	leaderOf := make(map[string]int64, len(ids))
	for _, r := range ids {
		leaderOf[r.Phone] = r.ID
	}
	pts, err := tx.PrepareContext(ctx, `COPY pickup_points (code, warehouse_id, leader_id, name, address, lat, lng, opens, closes, created_at, h3_r9, h3_r8, h3_r7,
		receiving_from, receiving_until) FROM STDIN`)
	if err != nil {
		return nil, err
	}
	codes := make([]string, len(points))
	for i, p := range points {
		pt := p.Point
		codes[i] = pt.Code
		cells, err := geo.CellsAt(pt.Lat, pt.Lng)
		if err != nil {
			return nil, err
		}
		if _, err := pts.ExecContext(ctx, pt.Code, pt.WarehouseID, leaderOf[p.LeaderPhone], pt.Name, pt.Address,
			pt.Lat, pt.Lng, pt.Opens, pt.Closes, now, int64(cells.R9), int64(cells.R8), int64(cells.R7),
			pt.ReceivingFrom, pt.ReceivingUntil); err != nil {
			return nil, err
		}
	}
	if _, err := pts.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("copy pickup points: %w", err)
	}
	pts.Close()
	var stored []Point
	if err := sqlx.SelectContext(ctx, tx, &stored, `SELECT `+pointCols+` FROM pickup_points WHERE code = ANY($1)`, pq.Array(codes)); err != nil {
		return nil, err
	}
	byCode := make(map[string]Point, len(stored))
	for _, p := range stored {
		byCode[p.Code] = p
	}
	out := make([]Point, len(points))
	for i, c := range codes {
		out[i] = byCode[c]
	}
	return out, nil
}

// CopyResidents loads many new residents inside tx with COPY and returns
// their ids in input order; (point, phone) must be new.
func CopyResidents(ctx context.Context, tx *sqlx.Tx, people []NewResident, now time.Time) ([]int64, error) {
	if len(people) == 0 {
		return nil, nil
	}
	st, err := tx.PrepareContext(ctx, `COPY residents (phone, name, pickup_point_id, created_at) FROM STDIN`)
	if err != nil {
		return nil, err
	}
	phones, points := make([]string, len(people)), make([]int64, len(people))
	for i, p := range people {
		phones[i], points[i] = p.Phone, p.PointID
		if _, err := st.ExecContext(ctx, p.Phone, p.Name, p.PointID, now); err != nil {
			return nil, err
		}
	}
	if _, err := st.ExecContext(ctx); err != nil {
		return nil, fmt.Errorf("copy residents: %w", err)
	}
	st.Close()
	var rows []Resident
	if err := sqlx.SelectContext(ctx, tx, &rows, `SELECT r.id, r.phone, r.name, r.pickup_point_id FROM residents r
		JOIN unnest($1::bigint[], $2::text[]) AS t(point, phone) ON r.pickup_point_id = t.point AND r.phone = t.phone`,
		pq.Array(points), pq.Array(phones)); err != nil {
		return nil, err
	}
	idOf := make(map[ResidentKey]int64, len(rows))
	for _, r := range rows {
		idOf[ResidentKey{r.PickupPointID, r.Phone}] = r.ID
	}
	out := make([]int64, len(people))
	for i, p := range people {
		out[i] = idOf[ResidentKey{p.PointID, p.Phone}]
	}
	return out, nil
}
