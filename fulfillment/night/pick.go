package night

import (
	"context"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"time"

	"github.com/jmoiron/sqlx"
)

// wholeNight is how a stage that reads all the night's lines plans them:
// its sorts and hashes get the memory to stay off disk (a million lines
// group into hundreds of thousands of sort lines), and joins of them are
// never nested loops — a night's partition just loaded, or orders of a
// date past the statistics, look a few rows to the planner, which then
// probes an index once per order and per line. Plans costed with a path
// disabled look dear enough to be compiled (JIT), which costs about a
// second on a small night and gains nothing on a large one.
const wholeNight = `SET LOCAL work_mem = '256MB'; SET LOCAL enable_nestloop = off; SET LOCAL jit = off`

// pickWave writes the pick plan of an allocated wave inside tx: the total
// pick list (SKU per zone, bin order), bags (pickup point × zone with units,
// weight and volume) and each bag's sort lines (its SKUs and their units).
// Quantities are what allocation left: ordered minus cut. Any other state is left alone.
func pickWave(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil {
		return stageResult{}, err
	}
	if w.State != wave.Allocated {
		return stageResult{}, nil
	}
	progress(0, 2)
	// A rerun after a failure starts from a clean slate, in the same transaction.
	for _, q := range []string{`DELETE FROM bags WHERE wave_id = $1`, `DELETE FROM pick_lines WHERE wave_id = $1`,
		`DELETE FROM sort_lines WHERE wave_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, waveID); err != nil {
			return stageResult{}, err
		}
	}
	if _, err := tx.ExecContext(ctx, wholeNight); err != nil {
		return stageResult{}, err
	}
	progress(1, 2)
	// One pass over the order lines: the lines are grouped by SKU and point
	// once, kept in memory, and the pick list and the bags (each with its
	// contents, the sort lines) are summed from them there. Bags go in in
	// their key's order, so the index only ever appends.
	var rows int64
	if err := tx.GetContext(ctx, &rows, `WITH sl AS MATERIALIZED (
			SELECT t.sale_item_id, t.pickup_point_id, p.zone, t.quantity, p.weight_g, p.volume_ml
			FROM (SELECT ol.sale_item_id, o.pickup_point_id, sum(ol.quantity - coalesce(c.cut, 0)) AS quantity
			      FROM orders o JOIN order_lines ol ON ol.order_id = o.id
			      LEFT JOIN line_cuts c ON c.order_line_id = ol.id
			      WHERE o.warehouse_id = $2 AND o.delivery_date = $3 AND ol.delivery_date = $3 AND o.status = 'placed'
			      GROUP BY 1, 2) t
			JOIN sale_items si ON si.id = t.sale_item_id JOIN products p ON p.id = si.product_id
			WHERE t.quantity > 0
		), bag AS MATERIALIZED (
			SELECT pickup_point_id, zone, sum(quantity) AS units, count(*) AS skus,
				sum(quantity::bigint * weight_g) AS weight_g, sum(quantity::bigint * volume_ml) AS volume_ml,
				array_agg(sale_item_id ORDER BY sale_item_id) AS sale_item_ids, array_agg(quantity ORDER BY sale_item_id) AS quantities
			FROM sl GROUP BY pickup_point_id, zone
		), sorted AS (
			INSERT INTO sort_lines (wave_id, pickup_point_id, zone, delivery_date, sale_item_ids, quantities)
			SELECT $1, pickup_point_id, zone, $3, sale_item_ids, quantities FROM bag ORDER BY pickup_point_id, zone
		), picked AS (
			INSERT INTO pick_lines (wave_id, sale_item_id, zone, bin, sku, name, unit, quantity)
			SELECT $1, t.sale_item_id, p.zone, p.bin, p.sku, p.name, p.unit, t.quantity
			FROM (SELECT sale_item_id, sum(quantity) AS quantity FROM sl GROUP BY 1) t
			JOIN sale_items si ON si.id = t.sale_item_id JOIN products p ON p.id = si.product_id
		), bagged AS (
			INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml)
			SELECT $1, pickup_point_id, zone, units, skus, weight_g, volume_ml FROM bag ORDER BY pickup_point_id, zone
		)
		SELECT count(*) FROM sl`, waveID, w.WarehouseID, w.DeliveryDate); err != nil {
		return stageResult{}, err
	}
	progress(2, 2)
	if _, err := wave.Advance(ctx, tx, waveID, wave.Allocated, wave.Picked, now); err != nil {
		return stageResult{}, err
	}
	return movedOn(rows, rows), nil
}

// PickLine is one line of the total pick list.
type PickLine struct {
	Zone       fulfillment.Zone `db:"zone" json:"zone"`
	Bin        string           `db:"bin" json:"bin"`
	SaleItemID int64            `db:"sale_item_id" json:"sale_item_id"`
	SKU        string           `db:"sku" json:"sku"`
	Name       string           `db:"name" json:"name"`
	Unit       string           `db:"unit" json:"unit"`
	Quantity   int64            `db:"quantity" json:"quantity"`
}

// PickList returns a wave's total pick list in walking order: by zone, then
// bin; zone "" means every zone.
func PickList(ctx context.Context, q sqlx.QueryerContext, waveID int64, zone fulfillment.Zone) ([]PickLine, error) {
	out := []PickLine{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT zone, bin, sale_item_id, sku, name, unit, quantity FROM pick_lines
		WHERE wave_id = $1 AND ($2 = '' OR zone = $2) ORDER BY zone, bin, sku`, waveID, string(zone))
	return out, err
}

// SortLine is how many units of a SKU go into one stop's bag on one route.
type SortLine struct {
	RouteCode     string           `db:"route_code" json:"route_code"` // "" before the route stage
	Seq           int              `db:"seq" json:"seq"`
	PickupPointID int64            `db:"pickup_point_id" json:"pickup_point_id"`
	PointName     string           `db:"point_name" json:"point_name"`
	Zone          fulfillment.Zone `db:"zone" json:"zone"`
	SKU           string           `db:"sku" json:"sku"`
	Name          string           `db:"name" json:"name"`
	Quantity      int64            `db:"quantity" json:"quantity"`
}

// SortPlan returns the sorting plan of a wave: SKU × route × stop, in route
// and stop order so a sorter fills one route's bags at a time; route "" means
// every route.
func SortPlan(ctx context.Context, q sqlx.QueryerContext, waveID int64, route string) ([]SortLine, error) {
	out := []SortLine{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT coalesce(r.code, '') AS route_code, coalesce(rs.seq, 0) AS seq,
			s.pickup_point_id, pp.name AS point_name, s.zone, p.sku, p.name, s.quantity
		FROM sort_line_skus s JOIN sale_items si ON si.id = s.sale_item_id JOIN products p ON p.id = si.product_id
		JOIN pickup_points pp ON pp.id = s.pickup_point_id
		LEFT JOIN routes r ON r.wave_id = s.wave_id
		LEFT JOIN route_stops rs ON rs.route_id = r.id AND rs.pickup_point_id = s.pickup_point_id
		WHERE s.wave_id = $1 AND (r.id IS NULL OR rs.route_id IS NOT NULL) AND ($2 = '' OR r.code = $2)
		ORDER BY r.route_no NULLS LAST, rs.seq, p.bin, p.sku`, waveID, route)
	return out, err
}
