package night

import (
	"cmp"
	"context"
	"database/sql"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// Receipt is what the warehouse received of one sale item for a wave.
type Receipt struct {
	SaleItemID int64 `db:"sale_item_id" json:"sale_item_id"`
	Received   int64 `db:"received" json:"received" doc:"Units of the sale item the warehouse received (accepted) for the wave; what it can allocate."`
}

// Errors of allocation.
var (
	ErrWaveAllocated = apperr.Errorf(apperr.Conflict, "wave_allocated", "the wave is already allocated; receipts can no longer change")
)

// shortItem is a sale item the wave received less of than it sold.
type shortItem struct {
	ID       int64 `db:"id"`
	Sold     int64 `db:"sold"`
	Received int64 `db:"received"`
}

// demandLine is one placed order line of a short SKU: what allocation needs
// to decide its cut, no more (the refund stage reads the rest of a cut line).
type demandLine struct {
	LineID, OrderID, PointID, SaleItemID, Quantity int64
	PlacedAt                                       int64 // the order's time in µs: lines are served in this order
}

// readShortLines reads the placed lines of the short sale items, by sale
// item, each in order-time order (ties by order id). They are many on a night
// when the dock rejected a little of nearly every SKU (830,000 of a million
// lines), and decoding them is most of the read's time, so the rows are
// narrow and sorted here (sorting them in the query with their products'
// names took longer than the whole pick). The wave's placed orders and the
// lines come as two plain scans joined here by order id: the database's hash
// join of them took as long again, its workers and this process on the same
// cores.
func readShortLines(ctx context.Context, tx *sqlx.Tx, w wave.Wave, short []shortItem) (map[int64][]demandLine, error) {
	if _, err := tx.ExecContext(ctx, streamedToWorker); err != nil {
		return nil, err
	}
	type placed struct{ point, at int64 }
	orders := make(map[int64]placed, w.Orders) // as many as the close counted
	err := pg.EachRow(ctx, tx, func(rows *sql.Rows) error {
		var id int64
		var o placed
		if err := rows.Scan(&id, &o.point, &o.at); err != nil {
			return err
		}
		orders[id] = o
		return nil
	}, `SELECT id, pickup_point_id, (extract(epoch FROM created_at) * 1000000)::bigint FROM orders
		WHERE warehouse_id = $1 AND delivery_date = $2 AND status = 'placed'`, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return nil, err
	}
	// Each sale item has room for as many lines as units sold, no fewer than
	// its lines (and 48 bytes a unit in all): growing 900 slices a line at a
	// time took a fifth of the read.
	bySKU := make(map[int64][]demandLine, len(short))
	ids := make([]int64, len(short))
	for i, s := range short {
		ids[i], bySKU[s.ID] = s.ID, make([]demandLine, 0, s.Sold)
	}
	err = pg.EachRow(ctx, tx, func(rows *sql.Rows) error {
		var l demandLine
		if err := rows.Scan(&l.LineID, &l.OrderID, &l.SaleItemID, &l.Quantity); err != nil {
			return err
		}
		o, ok := orders[l.OrderID]
		if !ok {
			return nil // its order was cancelled
		}
		l.PointID, l.PlacedAt = o.point, o.at
		bySKU[l.SaleItemID] = append(bySKU[l.SaleItemID], l)
		return nil
	}, `SELECT id, order_id, sale_item_id, quantity FROM order_lines WHERE sale_item_id = ANY($1) AND delivery_date = $2`,
		pq.Array(ids), w.DeliveryDate)
	if err != nil {
		return nil, err
	}
	for _, ls := range bySKU {
		slices.SortFunc(ls, func(a, b demandLine) int {
			return cmp.Or(cmp.Compare(a.PlacedAt, b.PlacedAt), cmp.Compare(a.OrderID, b.OrderID))
		})
	}
	return bySKU, nil
}

// cutLines returns the units each line loses when only received units of a
// SKU can be delivered; lines come in order-time order. Deterministic.
func cutLines(policy wave.Policy, received int64, lines []demandLine) map[int64]int64 {
	cuts := map[int64]int64{}
	fcfs := func(budget int64, ls []demandLine) {
		for _, l := range ls {
			give := min(l.Quantity, max(budget, 0))
			budget -= give
			if give < l.Quantity {
				cuts[l.LineID] = l.Quantity - give
			}
		}
	}
	if policy != wave.SpreadEvenly {
		fcfs(received, lines)
		return cuts
	}
	// Points in the order of their first order; demand per point.
	var points []int64
	byPoint := map[int64][]demandLine{}
	demand := map[int64]int64{}
	for _, l := range lines {
		if _, ok := byPoint[l.PointID]; !ok {
			points = append(points, l.PointID)
		}
		byPoint[l.PointID] = append(byPoint[l.PointID], l)
		demand[l.PointID] += l.Quantity
	}
	share := waterFill(points, demand, received)
	for _, p := range points {
		fcfs(share[p], byPoint[p])
	}
	return cuts
}

// waterFill gives each point min(demand, level) with the highest level whose
// total fits in supply; the few units left over go one each to the points
// still short, in their given order.
func waterFill(points []int64, demand map[int64]int64, supply int64) map[int64]int64 {
	total := func(level int64) int64 {
		var t int64
		for _, p := range points {
			t += min(demand[p], level)
		}
		return t
	}
	var lo, hi int64
	for _, p := range points {
		hi = max(hi, demand[p])
	}
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if total(mid) <= supply {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	share := make(map[int64]int64, len(points))
	for _, p := range points {
		share[p] = min(demand[p], lo)
	}
	// Below the top level, fewer units are left than points still short.
	left := supply - total(lo)
	for _, p := range points {
		if left > 0 && share[p] < demand[p] {
			share[p]++
			left--
		}
	}
	return share
}

// allocateWave runs the allocate stage inside tx: a closed wave whose
// receipts are final gets its cuts and becomes allocated; the refund stage
// refunds the cuts after the pick. It reports whether it allocated; any
// other state is left alone, so a duplicate or late task changes nothing.
func allocateWave(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil {
		return stageResult{}, err
	}
	if !w.ReadyToAllocate(now) {
		return stageResult{}, nil
	}
	progress(0, 3)
	if !w.ReceiptsFinal {
		// No receipts typed by hand: what the dock accepted, with the stock
		// on hand, is what the products bought by purchase order have.
		if err := receiptsFromStock(ctx, tx, w, now); err != nil {
			return stageResult{}, err
		}
	}
	var short []shortItem
	if err := tx.SelectContext(ctx, &short, `SELECT si.id, si.sold, r.received FROM wave_receipts r JOIN sale_items si ON si.id = r.sale_item_id
		WHERE r.wave_id = $1 AND r.received < si.sold ORDER BY si.id`, waveID); err != nil {
		return stageResult{}, err
	}
	var bySKU map[int64][]demandLine
	if len(short) > 0 {
		if bySKU, err = readShortLines(ctx, tx, w, short); err != nil {
			return stageResult{}, err
		}
	}
	progress(1, 3)
	var cutIDs, cutQty []int64
	cutOf := map[int64]int64{} // units cut per sale item
	for _, s := range short {
		cuts := cutLines(w.AllocationPolicy, s.Received, bySKU[s.ID])
		for _, l := range bySKU[s.ID] {
			if c := cuts[l.LineID]; c > 0 {
				cutIDs, cutQty = append(cutIDs, l.LineID), append(cutQty, c)
				cutOf[s.ID] += c
			}
		}
	}
	progress(2, 3)
	// Copied in: the wave was closed under this transaction's lock, so no
	// line has a cut yet.
	if err := pg.CopyIn(ctx, tx, "line_cuts", []string{"order_line_id", "wave_id", "cut"}, len(cutIDs), func(i int) []any {
		return []any{cutIDs[i], waveID, cutQty[i]}
	}); err != nil {
		return stageResult{}, err
	}
	if err := takeFromStock(ctx, tx, w, cutOf, now); err != nil {
		return stageResult{}, err
	}
	if _, err := wave.Advance(ctx, tx, waveID, wave.Closed, wave.Allocated, now); err != nil {
		return stageResult{}, err
	}
	var lines int64
	for _, ls := range bySKU {
		lines += int64(len(ls))
	}
	return movedOn(lines, lines), nil
}

// recordReceipts stores what the warehouse received for a wave, before it is
// allocated. Sale items must belong to the wave.
func recordReceipts(ctx context.Context, tx *sqlx.Tx, waveID int64, policy wave.Policy, final bool, receipts []Receipt, by string, now time.Time) (wave.Wave, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil {
		return w, err
	}
	if w.State != wave.Open && w.State != wave.Closed {
		return w, ErrWaveAllocated
	}
	ids, qty := make([]int64, len(receipts)), make([]int64, len(receipts))
	for i, r := range receipts {
		ids[i], qty[i] = r.SaleItemID, r.Received
	}
	var mine int
	if err := tx.GetContext(ctx, &mine, `SELECT count(*) FROM sale_items WHERE id = ANY($1) AND warehouse_id = $2 AND delivery_date = $3`,
		pq.Array(ids), w.WarehouseID, w.DeliveryDate); err != nil {
		return w, err
	}
	if mine != len(ids) {
		return w, apperr.Errorf(apperr.Unprocessable, "unknown_sale_item", "every sale item must belong to this wave's warehouse and date")
	}
	// The audit: who typed what, and what it replaced.
	if _, err := tx.ExecContext(ctx, `INSERT INTO receipt_overrides (wave_id, recorded_by, recorded_at, policy, final, items, replaced)
		SELECT $1, $2, $3, $4, $5, $6, coalesce((SELECT jsonb_agg(jsonb_build_object('sale_item_id', sale_item_id, 'received', received)
			ORDER BY sale_item_id) FROM wave_receipts WHERE wave_id = $1 AND sale_item_id = ANY($7)), '[]')`,
		waveID, by, now, string(policy), final, receiptsJSON(receipts), pq.Array(ids)); err != nil {
		return w, err
	}
	if err := storeReceipts(ctx, tx, waveID, ids, qty, now); err != nil {
		return w, err
	}
	if err := wave.SetReceipts(ctx, tx, waveID, policy, final, now); err != nil {
		return w, err
	}
	return wave.Get(ctx, tx, waveID)
}
