package pickup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"

	"groupbuy/pickup/geo"
)

const warehouseCols = `id, code, name, address, lat, lng, time_zone,
	to_char(cutoff_local, 'HH24:MI') AS cutoff_local,
	to_char(delivery_start, 'HH24:MI') AS delivery_start,
	to_char(delivery_end, 'HH24:MI') AS delivery_end, created_at`

const pointCols = `id, code, warehouse_id, leader_id, name, address, lat, lng,
	to_char(opens, 'HH24:MI') AS opens, to_char(closes, 'HH24:MI') AS closes,
	to_char(receiving_from, 'HH24:MI') AS receiving_from, to_char(receiving_until, 'HH24:MI') AS receiving_until,
	h3_r9 AS h3_cell, created_at`

func insertWarehouse(ctx context.Context, tx sqlx.ExtContext, w Warehouse, now time.Time) (Warehouse, error) {
	const q = `INSERT INTO warehouses (code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ` + warehouseCols
	var out Warehouse
	err := sqlx.GetContext(ctx, tx, &out, q, w.Code, w.Name, w.Address, w.Lat, w.Lng, w.TimeZone,
		w.CutoffLocal, w.DeliveryStart, w.DeliveryEnd, now)
	if pg.IsUniqueViolation(err, "") {
		return out, apperr.Errorf(apperr.Conflict, "duplicate_code", "a warehouse with code %q exists", w.Code)
	}
	return out, err
}

// GetWarehouse loads one warehouse.
func GetWarehouse(ctx context.Context, q sqlx.QueryerContext, id int64) (Warehouse, error) {
	return pg.GetOne[Warehouse](ctx, q, ErrWarehouseNotFound, `SELECT `+warehouseCols+` FROM warehouses WHERE id = $1`, id)
}

// lockWarehouse holds a warehouse's row until tx ends, so that commands
// that replace what hangs off it (its service cells) take turns. NO KEY
// UPDATE: rows that merely reference the warehouse are still written.
func lockWarehouse(ctx context.Context, tx sqlx.QueryerContext, id int64) error {
	_, err := pg.GetOne[int64](ctx, tx, ErrWarehouseNotFound, `SELECT id FROM warehouses WHERE id = $1 FOR NO KEY UPDATE`, id)
	return err
}

// WarehouseByCode loads one warehouse by its code.
func WarehouseByCode(ctx context.Context, q sqlx.QueryerContext, code string) (Warehouse, error) {
	return pg.GetOne[Warehouse](ctx, q, ErrWarehouseNotFound, `SELECT `+warehouseCols+` FROM warehouses WHERE code = $1`, code)
}

// ListWarehouses returns every warehouse by id.
func ListWarehouses(ctx context.Context, q sqlx.QueryerContext) ([]Warehouse, error) {
	out := []Warehouse{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+warehouseCols+` FROM warehouses ORDER BY id`)
	return out, err
}

// upsertLeader finds the leader with phone or creates one, returning whether
// it is new.
func upsertLeader(ctx context.Context, tx sqlx.ExtContext, l Leader, now time.Time) (Leader, bool, error) {
	const ins = `INSERT INTO leaders (name, phone, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (phone) DO NOTHING RETURNING id, name, phone, created_at`
	var out Leader
	err := sqlx.GetContext(ctx, tx, &out, ins, l.Name, l.Phone, now)
	if err == nil {
		return out, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return out, false, err
	}
	err = sqlx.GetContext(ctx, tx, &out, `UPDATE leaders SET name = $2 WHERE phone = $1 RETURNING id, name, phone, created_at`, l.Phone, l.Name)
	return out, false, err
}

// upsertPoint inserts the point or, when its code exists with the same
// leader, updates it in place. Another leader is a handover, which only
// HandOver does: the point is left alone and handover_required returned.
func upsertPoint(ctx context.Context, tx sqlx.ExtContext, p Point, now time.Time) (Point, error) {
	const q = `INSERT INTO pickup_points (code, warehouse_id, leader_id, name, address, lat, lng, opens, closes, created_at,
			h3_r9, h3_r8, h3_r7, receiving_from, receiving_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (code) DO UPDATE SET warehouse_id = EXCLUDED.warehouse_id,
			name = EXCLUDED.name, address = EXCLUDED.address, lat = EXCLUDED.lat, lng = EXCLUDED.lng,
			opens = EXCLUDED.opens, closes = EXCLUDED.closes,
			receiving_from = EXCLUDED.receiving_from, receiving_until = EXCLUDED.receiving_until,
			h3_r9 = EXCLUDED.h3_r9, h3_r8 = EXCLUDED.h3_r8, h3_r7 = EXCLUDED.h3_r7
		WHERE pickup_points.leader_id = EXCLUDED.leader_id
		RETURNING ` + pointCols
	var out Point
	cells, err := geo.CellsAt(p.Lat, p.Lng)
	if err != nil {
		return out, err
	}
	err = sqlx.GetContext(ctx, tx, &out, q, p.Code, p.WarehouseID, p.LeaderID, p.Name, p.Address, p.Lat, p.Lng, p.Opens, p.Closes, now,
		cells.R9, cells.R8, cells.R7, p.ReceivingFrom, p.ReceivingUntil)
	var pqErr *pq.Error
	switch {
	case errors.Is(err, sql.ErrNoRows): // the code exists with another leader
		cur, err := GetPointByCode(ctx, tx, p.Code)
		if err != nil {
			return out, err
		}
		return out, handoverRequired(cur)
	case pg.IsUniqueViolation(err, "pickup_points_leader_id_key"):
		return out, ErrLeaderHasPoint
	case errors.As(err, &pqErr) && pqErr.Code == "23503":
		return out, ErrWarehouseNotFound
	}
	return out, err
}

// GetPoint loads one pickup point.
func GetPoint(ctx context.Context, q sqlx.QueryerContext, id int64) (Point, error) {
	return pg.GetOne[Point](ctx, q, ErrPointNotFound, `SELECT `+pointCols+` FROM pickup_points WHERE id = $1`, id)
}

// ListPoints returns the pickup points of a warehouse (all when 0), by id.
func ListPoints(ctx context.Context, q sqlx.QueryerContext, warehouseID int64) ([]Point, error) {
	out := []Point{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+pointCols+` FROM pickup_points
		WHERE $1::bigint = 0 OR warehouse_id = $1 ORDER BY id`, warehouseID)
	return out, err
}

// PointsByID returns the pickup points of ids, by id, whichever warehouse
// serves them now.
func PointsByID(ctx context.Context, q sqlx.QueryerContext, ids []int64) ([]Point, error) {
	out := []Point{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+pointCols+` FROM pickup_points WHERE id = ANY($1) ORDER BY id`, pq.Array(ids))
	return out, err
}

// GetLeader loads one leader.
func GetLeader(ctx context.Context, q sqlx.QueryerContext, id int64) (Leader, error) {
	return pg.GetOne[Leader](ctx, q, ErrLeaderNotFound, `SELECT id, name, phone, created_at FROM leaders WHERE id = $1`, id)
}

// LeaderSites loads, for each leader, the point they run and its warehouse.
// Leaders without a point are absent from the result.
func LeaderSites(ctx context.Context, q sqlx.QueryerContext, leaderIDs []int64) (map[int64]LeaderSite, error) {
	const stmt = `SELECT l.id, l.name, l.phone, l.created_at,
		p.id, p.code, p.warehouse_id, p.leader_id, p.name, p.address, p.lat, p.lng,
		to_char(p.opens, 'HH24:MI'), to_char(p.closes, 'HH24:MI'), p.h3_r9, p.created_at,
		w.id, w.code, w.name, w.address, w.lat, w.lng, w.time_zone, to_char(w.cutoff_local, 'HH24:MI'),
		to_char(w.delivery_start, 'HH24:MI'), to_char(w.delivery_end, 'HH24:MI'), w.created_at
		FROM leaders l JOIN pickup_points p ON p.leader_id = l.id JOIN warehouses w ON w.id = p.warehouse_id
		WHERE l.id = ANY($1)`
	rows, err := q.QueryxContext(ctx, stmt, pq.Array(leaderIDs))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[int64]LeaderSite, len(leaderIDs))
	for rows.Next() {
		var s LeaderSite
		l, p, w := &s.Leader, &s.Point, &s.Warehouse
		if err := rows.Scan(&l.ID, &l.Name, &l.Phone, &l.CreatedAt,
			&p.ID, &p.Code, &p.WarehouseID, &p.LeaderID, &p.Name, &p.Address, &p.Lat, &p.Lng, &p.Opens, &p.Closes, &p.Cell, &p.CreatedAt,
			&w.ID, &w.Code, &w.Name, &w.Address, &w.Lat, &w.Lng, &w.TimeZone, &w.CutoffLocal, &w.DeliveryStart, &w.DeliveryEnd, &w.CreatedAt); err != nil {
			return nil, err
		}
		out[l.ID] = s
	}
	return out, rows.Err()
}

// NewResident names a resident to register by phone at a pickup point.
type NewResident struct {
	Phone   string
	Name    string
	PointID int64
}

// ResidentKey names a resident: a phone at a pickup point. The same phone at
// another point is another resident.
type ResidentKey struct {
	PointID int64
	Phone   string
}

// EnsureResidents returns the residents with the given phones at the given
// points, registering those not yet known there. A known resident keeps
// their name. Run it inside the caller's transaction; new rows are written
// in (point, phone) order so concurrent batches cannot deadlock.
func EnsureResidents(ctx context.Context, tx sqlx.ExtContext, people []NewResident, now time.Time) (map[ResidentKey]Resident, error) {
	// ON CONFLICT may touch a row only once per statement: pass each resident once.
	seen := make(map[ResidentKey]bool, len(people))
	phones := make([]string, 0, len(people))
	names := make([]string, 0, len(people))
	points := make([]int64, 0, len(people))
	for _, p := range people {
		if k := (ResidentKey{p.PointID, p.Phone}); !seen[k] {
			seen[k] = true
			phones, names, points = append(phones, p.Phone), append(names, p.Name), append(points, p.PointID)
		}
	}
	const q = `WITH new_residents AS (SELECT t.*, $4::timestamptz AS at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(phone, name, point)),
		` + EnsureResidentsCTE + ` SELECT id, phone, name, pickup_point_id FROM residents_ensured`
	var rows []Resident
	if err := sqlx.SelectContext(ctx, tx, &rows, q, pq.Array(phones), pq.Array(names), pq.Array(points), now); err != nil {
		return nil, err
	}
	out := make(map[ResidentKey]Resident, len(rows))
	for _, r := range rows {
		out[ResidentKey{r.PickupPointID, r.Phone}] = r
	}
	return out, nil
}

// EnsureResidentsCTE is EnsureResidents as a CTE, for a statement that
// registers residents beside other writes in one round trip: it reads a CTE
// named new_residents (phone, name, point, at), each (point, phone) once,
// that the statement defines first, and yields residents_ensured (id,
// phone, name, pickup_point_id), one row per resident.
//
// A resident the statement's snapshot already holds is only read: the
// upsert would write a new version of the row for every order placed by
// phone, dead rows that only a vacuum takes back. Only the rest go through
// the upsert, whose DO UPDATE also returns a row another transaction
// committed after the snapshot was taken (residents are never deleted).
const EnsureResidentsCTE = `residents_known AS (SELECT r.id, r.phone, r.name, r.pickup_point_id
		FROM residents r JOIN new_residents n ON r.pickup_point_id = n.point AND r.phone = n.phone),
	residents_added AS (INSERT INTO residents (phone, name, pickup_point_id, created_at)
		SELECT phone, name, point, at FROM new_residents n
		WHERE NOT EXISTS (SELECT 1 FROM residents_known k WHERE k.pickup_point_id = n.point AND k.phone = n.phone)
		ORDER BY point, phone
		ON CONFLICT (pickup_point_id, phone) DO UPDATE SET phone = EXCLUDED.phone
		RETURNING id, phone, name, pickup_point_id),
	residents_ensured AS (SELECT * FROM residents_known UNION ALL SELECT * FROM residents_added)`

// ResidentsByID loads residents by id.
func ResidentsByID(ctx context.Context, q sqlx.QueryerContext, ids []int64) (map[int64]Resident, error) {
	var rows []Resident
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, phone, name, pickup_point_id FROM residents WHERE id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	out := make(map[int64]Resident, len(rows))
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// replaceServiceCells sets a warehouse's service cells inside tx.
func replaceServiceCells(ctx context.Context, tx sqlx.ExtContext, warehouseID int64, cells []geo.CellID) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM warehouse_service_cells WHERE warehouse_id = $1`, warehouseID); err != nil {
		return err
	}
	if len(cells) == 0 {
		return nil
	}
	ids := make([]int64, len(cells))
	for i, c := range cells {
		ids[i] = int64(c)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO warehouse_service_cells (warehouse_id, cell)
		SELECT $1, c FROM unnest($2::bigint[]) AS t(c) ON CONFLICT DO NOTHING`, warehouseID, pq.Array(ids))
	return err
}

// serviceCells returns a warehouse's service cells in order.
func serviceCells(ctx context.Context, q sqlx.QueryerContext, warehouseID int64) ([]geo.CellID, error) {
	out := []geo.CellID{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT cell FROM warehouse_service_cells WHERE warehouse_id = $1 ORDER BY cell`, warehouseID)
	return out, err
}

// serviceAreasExist reports whether any warehouse has a service area.
func serviceAreasExist(ctx context.Context, q sqlx.QueryerContext) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM warehouse_service_cells)`)
	return ok, err
}

// warehousesServing returns the warehouses whose service area holds cell, by id.
func warehousesServing(ctx context.Context, q sqlx.QueryerContext, cell geo.CellID) ([]Warehouse, error) {
	out := []Warehouse{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+warehouseCols+` FROM warehouses
		WHERE id IN (SELECT warehouse_id FROM warehouse_service_cells WHERE cell = $1) ORDER BY id`, int64(cell))
	return out, err
}

// GetPointByCode loads one pickup point by its code.
func GetPointByCode(ctx context.Context, q sqlx.QueryerContext, code string) (Point, error) {
	return pg.GetOne[Point](ctx, q, ErrPointNotFound, `SELECT `+pointCols+` FROM pickup_points WHERE code = $1`, code)
}

// indexRows reads, in one snapshot, the points written by transactions with
// id ≥ since (all when full) and the snapshot's xmin: every transaction it
// could not see has an id at least that.
func indexRows(ctx context.Context, db *sqlx.DB, since uint64, full bool) ([]Point, uint64, error) {
	tx, err := db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback()
	var xminText string
	if err := tx.GetContext(ctx, &xminText, `SELECT pg_snapshot_xmin(pg_current_snapshot())::text`); err != nil {
		return nil, 0, err
	}
	xmin, err := strconv.ParseUint(xminText, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("snapshot xmin %q: %w", xminText, err)
	}
	points := []Point{}
	if full {
		err = sqlx.SelectContext(ctx, tx, &points, `SELECT `+pointCols+` FROM pickup_points ORDER BY id`)
	} else {
		err = sqlx.SelectContext(ctx, tx, &points, `SELECT `+pointCols+` FROM pickup_points
			WHERE written_xid >= $1::text::xid8 ORDER BY id`, strconv.FormatUint(since, 10))
	}
	if err != nil {
		return nil, 0, err
	}
	return points, xmin, tx.Commit()
}

// backfillCells stores the cells of points that have none (rows written
// before migration 00004 or by an older binary), setting them in points too.
func backfillCells(ctx context.Context, db *sqlx.DB, points []Point) error {
	var ids, r9, r8, r7 []int64
	for i := range points {
		p := &points[i]
		if p.Cell != 0 {
			continue
		}
		cells, err := geo.CellsAt(p.Lat, p.Lng)
		if err != nil {
			return err
		}
		p.Cell = cells.R9
		ids, r9, r8, r7 = append(ids, p.ID), append(r9, int64(cells.R9)), append(r8, int64(cells.R8)), append(r7, int64(cells.R7))
	}
	if len(ids) == 0 {
		return nil
	}
	_, err := db.ExecContext(ctx, `UPDATE pickup_points p SET h3_r9 = t.r9, h3_r8 = t.r8, h3_r7 = t.r7
		FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[]) AS t(id, r9, r8, r7)
		WHERE p.id = t.id AND p.h3_r9 IS NULL`, pq.Array(ids), pq.Array(r9), pq.Array(r8), pq.Array(r7))
	return err
}

// PointOfLeader returns the id of the pickup point a leader runs.
func PointOfLeader(ctx context.Context, q sqlx.QueryerContext, leaderID int64) (int64, error) {
	return pg.GetOne[int64](ctx, q, ErrNoPoint, `SELECT id FROM pickup_points WHERE leader_id = $1`, leaderID)
}
