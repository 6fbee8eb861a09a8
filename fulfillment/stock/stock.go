// Package stock is the stock ledger of each warehouse (stock_movements):
// units in and out by lot and expiry, once per cause; what is on hand and
// usable on a date; a wave's allocation from it, first expiry first out;
// and the write-off of expired lots. Every command that spends stock takes
// the warehouse's stock lock (LockStock), as the dock's scans do.
package stock

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// MoveKind is why units moved in or out of stock.
type MoveKind string

// Stock movements.
const (
	MoveReceived           MoveKind = "received"             // accepted at the dock (+), or a correction (−)
	MoveAllocated          MoveKind = "allocated"            // taken by a wave's allocation (−); what is left after it is leftover stock
	MoveWrittenOff         MoveKind = "written_off"          // expired (−)
	MoveReturnedToSupplier MoveKind = "returned_to_supplier" // 退供 (−)
	MoveReturnedParcel     MoveKind = "returned_parcel"      // a parcel not collected, back in (+)
)

type Movement struct {
	Warehouse, Product int64
	Lot                string
	ExpiresOn          *fulfillment.Date
	Kind               MoveKind
	Quantity           int64
	Source             string
}

// Move appends one movement to the ledger; the same cause moving the same
// lot again changes nothing.
func Move(ctx context.Context, tx *sqlx.Tx, m Movement, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO stock_movements (warehouse_id, product_id, lot, expires_on, kind, quantity, source, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING`,
		m.Warehouse, m.Product, m.Lot, m.ExpiresOn, m.Kind, m.Quantity, m.Source, now)
	return err
}

// moveAll appends movements as one statement, as Move does each: a
// night's allocation moves a lot of every SKU, and one round trip per lot
// would cost more than the rest of the stage.
func moveAll(ctx context.Context, tx *sqlx.Tx, ms []Movement, now time.Time) error {
	if len(ms) == 0 {
		return nil
	}
	var wh, product, quantity []int64
	var lot, expires, kind, source []string
	for _, m := range ms {
		wh, product, quantity = append(wh, m.Warehouse), append(product, m.Product), append(quantity, m.Quantity)
		e := ""
		if m.ExpiresOn != nil {
			e = m.ExpiresOn.String()
		}
		lot, expires, kind, source = append(lot, m.Lot), append(expires, e), append(kind, string(m.Kind)), append(source, m.Source)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO stock_movements (warehouse_id, product_id, lot, expires_on, kind, quantity, source, created_at)
		SELECT w, p, l, nullif(e, '')::date, k, q, s, $8 FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[])
			AS t(w, p, l, e, k, q, s)
		ON CONFLICT DO NOTHING`, pq.Array(wh), pq.Array(product), pq.Array(lot), pq.Array(expires), pq.Array(kind), pq.Array(quantity), pq.Array(source), now)
	return err
}

// LockStock serialises the commands that take units out of a warehouse's
// stock, so two never spend the same lot's balance. The lock's key is
// stock_lock's (migration 00086), the one supply_receive takes too.
func LockStock(ctx context.Context, tx *sqlx.Tx, warehouseID int64) error {
	_, err := tx.ExecContext(ctx, `SELECT stock_lock($1)`, warehouseID)
	return err
}

// WrittenOff is how many units of a lot were written off as expired and
// not taken back since: what a return of expired goods may still send.
func WrittenOff(ctx context.Context, q sqlx.QueryerContext, warehouseID, productID int64, lot string, expires *fulfillment.Date) (int64, error) {
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `SELECT coalesce(-sum(quantity), 0) FROM stock_movements
		WHERE warehouse_id = $1 AND product_id = $2 AND lot = $3 AND expires_on IS NOT DISTINCT FROM $4 AND kind = 'written_off'`,
		warehouseID, productID, lot, expires)
	return n, err
}

// Lot is the balance of one lot of a product at a warehouse.
type Lot struct {
	ProductID int64             `db:"product_id" json:"product_id"`
	Lot       string            `db:"lot" json:"lot"`
	ExpiresOn *fulfillment.Date `db:"expires_on" json:"expires_on,omitempty"`
	Balance   int64             `db:"balance" json:"balance"`
}

// Lots returns the lots with units of the given products (all: nil) that
// are usable on date (not expired before it; any date: the zero Date), in
// the order they are consumed: first expiry first out, lots without an
// expiry last.
func Lots(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, productIDs []int64, date fulfillment.Date) ([]Lot, error) {
	var out []Lot
	err := sqlx.SelectContext(ctx, q, &out, `SELECT product_id, lot, expires_on, sum(quantity) AS balance FROM stock_movements
		WHERE warehouse_id = $1 AND ($2::bigint[] IS NULL OR product_id = ANY($2))
		  AND ($3::date IS NULL OR expires_on IS NULL OR expires_on >= $3)
		GROUP BY product_id, lot, expires_on HAVING sum(quantity) > 0
		ORDER BY product_id, expires_on NULLS LAST, lot`, warehouseID, pqIDs(productIDs), nullDate(date))
	return out, err
}

func pqIDs(ids []int64) any {
	if ids == nil {
		return nil
	}
	return pq.Array(ids)
}

func nullDate(d fulfillment.Date) any {
	if d.IsZero() {
		return nil
	}
	return d
}

// usableStock is, per product, the units on hand still usable on date.
func usableStock(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, productIDs []int64, date fulfillment.Date) (map[int64]int64, error) {
	out := map[int64]int64{}
	if len(productIDs) == 0 {
		return out, nil
	}
	ls, err := Lots(ctx, q, warehouseID, productIDs, date)
	for _, l := range ls {
		out[l.ProductID] += l.Balance
	}
	return out, err
}

// UsableStock is, per product, the units on hand at a warehouse still
// usable on date: what ops see beside the caps they publish.
func UsableStock(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date, productIDs []int64) (map[int64]int64, error) {
	return usableStock(ctx, q, warehouseID, productIDs, date)
}

// consume plans taking want units of each product from its lots, first
// expiry first; it takes what there is when there is less.
func consume(ls []Lot, want map[int64]int64) []Lot {
	var out []Lot
	left := map[int64]int64{}
	for p, n := range want {
		left[p] = n
	}
	for _, l := range ls {
		take := min(l.Balance, left[l.ProductID])
		if take <= 0 {
			continue
		}
		left[l.ProductID] -= take
		l.Balance = take
		out = append(out, l)
	}
	return out
}

// Managed returns the products of a wave that its purchase stage reckoned
// (those with supply terms and sales), by sale item: the ones whose receipts
// come from receiving and stock rather than by hand.
func Managed(ctx context.Context, q sqlx.QueryerContext, w wave.Wave) (map[int64]int64, error) {
	items, err := catalog.ListSaleItems(ctx, q, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return nil, err
	}
	var ids []int64
	if err := sqlx.SelectContext(ctx, q, &ids, `SELECT product_id FROM purchase_needs WHERE wave_id = $1`, w.ID); err != nil {
		return nil, err
	}
	managed := map[int64]bool{}
	for _, id := range ids {
		managed[id] = true
	}
	out := map[int64]int64{}
	for _, it := range items {
		if managed[it.ProductID] {
			out[it.ID] = it.ProductID
		}
	}
	return out, nil
}

// Available is, per sale item of a wave bought by purchase order, the units
// allocation may hand out: usable stock on hand on the delivery date, which
// holds what the dock accepted for the wave.
func Available(ctx context.Context, tx *sqlx.Tx, w wave.Wave) (map[int64]int64, error) {
	items, err := Managed(ctx, tx, w)
	if err != nil || len(items) == 0 {
		return nil, err
	}
	if err := LockStock(ctx, tx, w.WarehouseID); err != nil {
		return nil, err
	}
	var ids []int64
	for _, p := range items {
		ids = append(ids, p)
	}
	stock, err := usableStock(ctx, tx, w.WarehouseID, ids, w.DeliveryDate)
	if err != nil {
		return nil, err
	}
	out := make(map[int64]int64, len(items))
	for item, p := range items {
		out[item] = min(stock[p], fulfillment.MaxStockCap)
	}
	return out, nil
}

// Allocate takes from stock what a wave's allocation hands out of the
// products bought by purchase order (kept: units per sale item after the
// cuts), first expiry first; what stays is leftover stock for the next sale.
// Inside the allocate stage's transaction; a rerun takes nothing twice.
func Allocate(ctx context.Context, tx *sqlx.Tx, w wave.Wave, kept map[int64]int64, now time.Time) error {
	items, err := Managed(ctx, tx, w)
	if err != nil || len(items) == 0 {
		return err
	}
	if err := LockStock(ctx, tx, w.WarehouseID); err != nil {
		return err
	}
	want := map[int64]int64{}
	var ids []int64
	for item, p := range items {
		want[p] += kept[item]
		ids = append(ids, p)
	}
	ls, err := Lots(ctx, tx, w.WarehouseID, ids, w.DeliveryDate)
	if err != nil {
		return err
	}
	source := "wave:" + strconv.FormatInt(w.ID, 10)
	var ms []Movement
	for _, l := range consume(ls, want) {
		ms = append(ms, Movement{Warehouse: w.WarehouseID, Product: l.ProductID, Lot: l.Lot, ExpiresOn: l.ExpiresOn,
			Kind: MoveAllocated, Quantity: -l.Balance, Source: source})
	}
	return moveAll(ctx, tx, ms, now)
}

// WriteOffExpired writes off, at every warehouse, the lots that expired
// before the warehouse's today: one movement of each lot's balance, so a
// rerun writes off nothing twice. Written-off units may still go back to
// their supplier (WrittenOff). It returns the lots written off.
func WriteOffExpired(ctx context.Context, db *sqlx.DB, clk clock.Clock) (int, error) {
	whs, err := pickup.ListWarehouses(ctx, db)
	if err != nil {
		return 0, err
	}
	var n int
	for _, wh := range whs {
		loc, err := wh.Location()
		if err != nil {
			return n, err
		}
		now := clk.Now()
		local := now.In(loc)
		today := fulfillment.Date{Time: time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)}
		err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
			if err := LockStock(ctx, tx, wh.ID); err != nil {
				return err
			}
			var expired []struct {
				ProductID int64             `db:"product_id"`
				Lot       string            `db:"lot"`
				ExpiresOn *fulfillment.Date `db:"expires_on"`
				Balance   int64             `db:"balance"`
				Moves     int64             `db:"moves"`
			}
			if err := tx.SelectContext(ctx, &expired, `SELECT product_id, lot, expires_on, sum(quantity) AS balance, count(*) AS moves
				FROM stock_movements WHERE warehouse_id = $1 AND expires_on < $2
				GROUP BY product_id, lot, expires_on HAVING sum(quantity) > 0`, wh.ID, today); err != nil {
				return err
			}
			for _, l := range expired {
				// The source names the lot's state (its movements so far):
				// units that come into an expired lot later (a parcel back)
				// are written off by a later run, not taken for a rerun.
				source := "expired:" + l.ExpiresOn.String() + ":" + strconv.FormatInt(l.Moves, 10)
				if err := Move(ctx, tx, Movement{Warehouse: wh.ID, Product: l.ProductID, Lot: l.Lot, ExpiresOn: l.ExpiresOn,
					Kind: MoveWrittenOff, Quantity: -l.Balance, Source: source}, now); err != nil {
					return err
				}
			}
			n += len(expired)
			return nil
		})
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// StockLine is a product's stock at a warehouse: on hand, usable on a
// date, and its lots.
type StockLine struct {
	ProductID int64 `json:"product_id"`
	OnHand    int64 `json:"on_hand"`
	Usable    int64 `json:"usable" doc:"On hand and not expired before the date asked about."`
	Lots      []Lot `json:"lots"`
}

// Stock is a warehouse's stock on hand.
type Stock struct {
	WarehouseID int64            `json:"warehouse_id"`
	Date        fulfillment.Date `json:"date"`
	Products    []StockLine      `json:"products"`
}

// StockOf returns a warehouse's stock on hand, usable on date, by product.
func StockOf(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date) (Stock, error) {
	out := Stock{WarehouseID: warehouseID, Date: date, Products: []StockLine{}}
	if _, err := pickup.GetWarehouse(ctx, q, warehouseID); err != nil {
		return out, err
	}
	all, err := Lots(ctx, q, warehouseID, nil, fulfillment.Date{})
	if err != nil {
		return out, err
	}
	for _, l := range all {
		if n := len(out.Products); n == 0 || out.Products[n-1].ProductID != l.ProductID {
			out.Products = append(out.Products, StockLine{ProductID: l.ProductID, Lots: []Lot{}})
		}
		p := &out.Products[len(out.Products)-1]
		p.OnHand += l.Balance
		if l.ExpiresOn == nil || !l.ExpiresOn.Before(date.Time) {
			p.Usable += l.Balance
		}
		p.Lots = append(p.Lots, l)
	}
	return out, nil
}
