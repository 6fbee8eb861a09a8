package night

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/wave"
	"groupbuy/pickup/notice"
)

// cutLine is a line allocation cut, with what its refund names.
type cutLine struct {
	LineID     int64 `db:"order_line_id"`
	Cut        int64 `db:"cut"`
	OrderID    int64 `db:"order_id"`
	ResidentID int64 `db:"resident_id"`
	SaleItemID int64 `db:"sale_item_id"`
	PriceFen   int64 `db:"price_fen"`
}

// pickedOrLater are the states the refund stage acts in: it moves no state,
// and a route stage run ahead of it by ops takes the wave on to routed.
var pickedOrLater = []wave.State{wave.Picked, wave.Routed, wave.Ready, wave.Dispatched, wave.Delivered}

// refundWave runs the refund stage inside tx: each line allocation cut is
// refunded (the ledger, and its payment through the refund jobs), and each
// resident refunded gets one notice of all their cut lines. It follows the
// pick, as the pick lists wait for nothing of it, and acts on a wave picked
// or later it has not refunded yet (leaving its state as it is): a
// duplicate of its task does nothing, like any other stage's. A line's
// refund and a resident's notice are each unique besides.
func refundWave(ctx context.Context, tx *sqlx.Tx, m Metrics, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil || !slices.Contains(pickedOrLater, w.State) {
		return stageResult{}, err
	}
	if at, err := wave.StageFinishedAt(ctx, tx, waveID, wave.StageRefund); err != nil || !at.IsZero() {
		return stageResult{}, err
	}
	// In the order allocation served them: by sale item, then order time.
	var cuts []cutLine
	if err := tx.SelectContext(ctx, &cuts, `SELECT c.order_line_id, c.cut, ol.order_id, o.resident_id, ol.sale_item_id, ol.price_fen
		FROM line_cuts c JOIN order_lines ol ON ol.id = c.order_line_id AND ol.delivery_date = $2
		JOIN orders o ON o.id = ol.order_id
		WHERE c.wave_id = $1 ORDER BY ol.sale_item_id, o.created_at, o.id`, waveID, w.DeliveryDate); err != nil {
		return stageResult{}, err
	}
	if len(cuts) == 0 {
		return movedOn(0, 0), nil
	}
	ids := make([]int64, 0, len(cuts))
	for i, c := range cuts {
		if i == 0 || c.SaleItemID != cuts[i-1].SaleItemID {
			ids = append(ids, c.SaleItemID)
		}
	}
	products, err := readSaleItemProducts(ctx, tx, ids)
	if err != nil {
		return stageResult{}, err
	}
	progress(1, 3)
	var refunds refund.Batch
	for _, c := range cuts {
		p := products[c.SaleItemID]
		refunds.Add(c.OrderID, c.LineID, c.ResidentID, fulfillment.ReasonShortage, c.Cut, c.PriceFen, p.SKU, p.Name)
	}
	if err := refunds.Insert(ctx, tx, m.Refunds, waveID, now); err != nil {
		return stageResult{}, err
	}
	progress(2, 3)
	notices := refunds.Notices(w.DeliveryDate, func(r int64) string { return fmt.Sprintf("refund:shortage:%d:%d", waveID, r) })
	if _, err := notice.QueueNotices(ctx, tx, m.Notices, notices, now); err != nil {
		return stageResult{}, err
	}
	return movedOn(int64(len(cuts)), int64(len(cuts))), nil
}
