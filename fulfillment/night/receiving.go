package night

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/wave"
)

// storeReceipts writes what a wave has of its sale items (ids[i] has qty[i]),
// replacing what was there.
func storeReceipts(ctx context.Context, tx *sqlx.Tx, waveID int64, ids, qty []int64, now time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO wave_receipts (wave_id, sale_item_id, received, recorded_at)
		SELECT $1, i, q, $4 FROM unnest($2::bigint[], $3::int[]) AS t(i, q)
		ON CONFLICT (wave_id, sale_item_id) DO UPDATE SET received = EXCLUDED.received, recorded_at = EXCLUDED.recorded_at`,
		waveID, pq.Array(ids), pq.Array(qty), now)
	return err
}

// receiptsFromStock makes a wave's final receipts from receiving: each sale
// item bought by purchase order has the stock on hand still usable on the
// delivery date, which holds what the dock accepted for it (package
// supply). Items not bought so keep any receipts typed for them, or count
// as received in full.
func receiptsFromStock(ctx context.Context, tx *sqlx.Tx, w wave.Wave, now time.Time) error {
	avail, err := stock.Available(ctx, tx, w)
	if err != nil {
		return err
	}
	var ids, qty []int64
	for item, n := range avail {
		ids, qty = append(ids, item), append(qty, n)
	}
	if err := storeReceipts(ctx, tx, w.ID, ids, qty, now); err != nil {
		return err
	}
	return wave.SetReceipts(ctx, tx, w.ID, "", true, now)
}

// takeFromStock takes out of stock what the allocation hands out of the
// products bought by purchase order: the units sold less those cut, per
// sale item (cutOf). What stays is stock for the next sale.
func takeFromStock(ctx context.Context, tx *sqlx.Tx, w wave.Wave, cutOf map[int64]int64, now time.Time) error {
	items, err := catalog.ListSaleItems(ctx, tx, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return err
	}
	kept := make(map[int64]int64, len(items))
	for _, it := range items {
		kept[it.ID] = it.Sold - cutOf[it.ID]
	}
	return stock.Allocate(ctx, tx, w, kept, now)
}

// receiptsJSON is receipts as the override's audit keeps them.
func receiptsJSON(rs []Receipt) string {
	if len(rs) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(rs)
	return string(b)
}
