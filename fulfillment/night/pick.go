package night

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/pg"
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

// streamedToWorker is how a stage plans a read of the night's lines that it
// groups itself: one server process streams the rows as fast as the worker
// decodes them, which is the read's bound. Parallel workers only took the
// cores it decodes on, and each built its own hash of the night's orders
// first (the pick's read: 1.1 s where one process takes 0.6 s, 1M lines).
const streamedToWorker = `SET LOCAL max_parallel_workers_per_gather = 0`

// pickWave writes the pick plan of an allocated wave inside tx: the total
// pick list (SKU per zone, bin order), bags (pickup point × zone with units,
// weight and volume) and each bag's sort lines (its SKUs and their units).
// Quantities are what allocation left: ordered minus cut. Any other state is left alone.
//
// The lines are read once, as they stand, and grouped here rather than in
// the database: a statement that writes gets no parallel workers, so the
// same grouping and the sort by bag in SQL took three times the plain
// aggregate of the lines (docs/benchmarks.md, issue 18).
func pickWave(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil {
		return stageResult{}, err
	}
	if w.State != wave.Allocated {
		return stageResult{}, nil
	}
	progress(0, 3)
	// A rerun after a failure starts from a clean slate, in the same transaction.
	for _, q := range []string{`DELETE FROM bags WHERE wave_id = $1`, `DELETE FROM pick_lines WHERE wave_id = $1`} {
		if _, err := tx.ExecContext(ctx, q, waveID); err != nil {
			return stageResult{}, err
		}
	}
	// sort_lines is partitioned by night: with its date one partition is read.
	if _, err := tx.ExecContext(ctx, `DELETE FROM sort_lines WHERE wave_id = $1 AND delivery_date = $2`, waveID, w.DeliveryDate); err != nil {
		return stageResult{}, err
	}
	if _, err := tx.ExecContext(ctx, wholeNight); err != nil {
		return stageResult{}, err
	}
	demand, err := readDemand(ctx, tx, w)
	if err != nil {
		return stageResult{}, err
	}
	progress(1, 3)
	items, err := readSaleItemProducts(ctx, tx, saleItemsOf(demand))
	if err != nil {
		return stageResult{}, err
	}
	plan, err := planPick(demand, items)
	if err != nil {
		return stageResult{}, err
	}
	progress(2, 3)
	if err := plan.write(ctx, tx, w); err != nil {
		return stageResult{}, err
	}
	progress(3, 3)
	if _, err := wave.Advance(ctx, tx, waveID, wave.Allocated, wave.Picked, now); err != nil {
		return stageResult{}, err
	}
	return movedOn(int64(plan.sortLines), int64(plan.sortLines)), nil
}

// pointItem is one sale item bound for one pickup point.
type pointItem struct{ point, saleItem int64 }

// readDemand sums the wave's order lines, less their cuts, by pickup point
// and sale item.
func readDemand(ctx context.Context, tx *sqlx.Tx, w wave.Wave) (map[pointItem]int64, error) {
	if _, err := tx.ExecContext(ctx, streamedToWorker); err != nil {
		return nil, err
	}
	// The cuts are this wave's only: line_cuts keeps every night's within the
	// retention, and the hash join would read them all.
	demand := map[pointItem]int64{}
	err := pg.EachRow(ctx, tx, func(rows *sql.Rows) error {
		var k pointItem
		var units int64
		if err := rows.Scan(&k.point, &k.saleItem, &units); err != nil {
			return err
		}
		demand[k] += units
		return nil
	}, `SELECT o.pickup_point_id, ol.sale_item_id, ol.quantity - coalesce(c.cut, 0)
		FROM orders o JOIN order_lines ol ON ol.order_id = o.id
		LEFT JOIN line_cuts c ON c.order_line_id = ol.id AND c.wave_id = $3
		WHERE o.warehouse_id = $1 AND o.delivery_date = $2 AND ol.delivery_date = $2 AND o.status = 'placed'`,
		w.WarehouseID, w.DeliveryDate, w.ID)
	return demand, err
}

// saleItemProduct is what the night's stages need of a sale item's
// product: the pick its zone, weight and volume, the refund stage's notices its
// SKU and name.
type saleItemProduct struct {
	Zone     fulfillment.Zone `db:"zone"`
	WeightG  int64            `db:"weight_g"`
	VolumeML int64            `db:"volume_ml"`
	SKU      string           `db:"sku"`
	Name     string           `db:"name"`
}

// readSaleItemProducts reads the product of each sale item in ids.
func readSaleItemProducts(ctx context.Context, tx *sqlx.Tx, ids []int64) (map[int64]saleItemProduct, error) {
	var rows []struct {
		ID int64 `db:"id"`
		saleItemProduct
	}
	if err := tx.SelectContext(ctx, &rows, `SELECT si.id, p.zone, p.weight_g, p.volume_ml, p.sku, p.name
		FROM sale_items si JOIN products p ON p.id = si.product_id WHERE si.id = ANY($1)`, pq.Array(ids)); err != nil {
		return nil, err
	}
	products := make(map[int64]saleItemProduct, len(rows))
	for _, r := range rows {
		products[r.ID] = r.saleItemProduct
	}
	return products, nil
}

// saleItemsOf lists the sale items demand names, each once.
func saleItemsOf(demand map[pointItem]int64) []int64 {
	seen := map[int64]bool{}
	var ids []int64
	for k := range demand {
		if !seen[k.saleItem] {
			seen[k.saleItem] = true
			ids = append(ids, k.saleItem)
		}
	}
	return ids
}

// bag is one pickup point's goods of one zone, with its contents by sale
// item in id order.
type bag struct {
	point             int64
	zone              fulfillment.Zone
	units             int64
	weightG, volumeML int64
	saleItemIDs       []int64
	quantities        []int64
}

// pickPlan is a wave's pick list (units per sale item) and its bags in
// (point, zone) order.
type pickPlan struct {
	picks     map[int64]int64
	bags      []*bag
	sortLines int // the (point, sale item) pairs with units left, the stage's work
}

// planPick groups demand into bags and the total pick list; pairs cut to
// nothing are left out.
func planPick(demand map[pointItem]int64, items map[int64]saleItemProduct) (pickPlan, error) {
	type bagKey struct {
		point int64
		zone  fulfillment.Zone
	}
	byKey := map[bagKey]*bag{}
	plan := pickPlan{picks: map[int64]int64{}}
	for k, units := range demand {
		if units <= 0 {
			continue
		}
		it, ok := items[k.saleItem]
		if !ok {
			return pickPlan{}, fmt.Errorf("pick: sale item %d has no product", k.saleItem)
		}
		b := byKey[bagKey{k.point, it.Zone}]
		if b == nil {
			b = &bag{point: k.point, zone: it.Zone}
			byKey[bagKey{k.point, it.Zone}] = b
			plan.bags = append(plan.bags, b)
		}
		b.units += units
		b.weightG += units * it.WeightG
		b.volumeML += units * it.VolumeML
		b.saleItemIDs = append(b.saleItemIDs, k.saleItem)
		b.quantities = append(b.quantities, units)
		plan.picks[k.saleItem] += units
		plan.sortLines++
	}
	// Bags go in in their key's order, so the index only ever appends.
	slices.SortFunc(plan.bags, func(a, b *bag) int {
		return cmp.Or(cmp.Compare(a.point, b.point), cmp.Compare(a.zone, b.zone))
	})
	for _, b := range plan.bags {
		sort.Sort(bagContents{b})
	}
	return plan, nil
}

// bagContents sorts a bag's two parallel lists by sale item.
type bagContents struct{ *bag }

func (c bagContents) Len() int           { return len(c.saleItemIDs) }
func (c bagContents) Less(i, j int) bool { return c.saleItemIDs[i] < c.saleItemIDs[j] }
func (c bagContents) Swap(i, j int) {
	c.saleItemIDs[i], c.saleItemIDs[j] = c.saleItemIDs[j], c.saleItemIDs[i]
	c.quantities[i], c.quantities[j] = c.quantities[j], c.quantities[i]
}

// write stores the plan: the bags and their sort lines by COPY, the pick
// list joined to its products for bin, SKU and name.
func (p pickPlan) write(ctx context.Context, tx *sqlx.Tx, w wave.Wave) error {
	err := pg.CopyIn(ctx, tx, "sort_lines", []string{"wave_id", "pickup_point_id", "zone", "delivery_date", "sale_item_ids", "quantities"},
		len(p.bags), func(i int) []any {
			b := p.bags[i]
			return []any{w.ID, b.point, string(b.zone), w.DeliveryDate, pq.Array(b.saleItemIDs), pq.Array(b.quantities)}
		})
	if err != nil {
		return err
	}
	err = pg.CopyIn(ctx, tx, "bags", []string{"wave_id", "pickup_point_id", "zone", "units", "skus", "weight_g", "volume_ml"},
		len(p.bags), func(i int) []any {
			b := p.bags[i]
			return []any{w.ID, b.point, string(b.zone), b.units, int64(len(b.saleItemIDs)), b.weightG, b.volumeML}
		})
	if err != nil {
		return err
	}
	ids := make([]int64, 0, len(p.picks))
	units := make([]int64, 0, len(p.picks))
	for id, n := range p.picks {
		ids = append(ids, id)
		units = append(units, n)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO pick_lines (wave_id, sale_item_id, zone, bin, sku, name, unit, quantity)
		SELECT $1, t.id, p.zone, p.bin, p.sku, p.name, p.unit, t.units
		FROM unnest($2::bigint[], $3::int[]) t(id, units)
		JOIN sale_items si ON si.id = t.id JOIN products p ON p.id = si.product_id`, w.ID, pq.Array(ids), pq.Array(units))
	return err
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
// every route, and then the points no route serves come last, without a
// route, as their units are picked all the same.
func SortPlan(ctx context.Context, q sqlx.QueryerContext, waveID int64, route string) ([]SortLine, error) {
	out := []SortLine{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT coalesce(r.code, '') AS route_code, coalesce(rs.seq, 0) AS seq,
			s.pickup_point_id, pp.name AS point_name, s.zone, p.sku, p.name, s.quantity
		FROM sort_line_skus s JOIN sale_items si ON si.id = s.sale_item_id JOIN products p ON p.id = si.product_id
		JOIN pickup_points pp ON pp.id = s.pickup_point_id
		LEFT JOIN (route_stops rs JOIN routes r ON r.id = rs.route_id AND r.wave_id = $1) ON rs.pickup_point_id = s.pickup_point_id
		WHERE s.wave_id = $1 AND ($2 = '' OR r.code = $2)
		ORDER BY r.route_no NULLS LAST, rs.seq, p.bin, p.sku`, waveID, route)
	return out, err
}
