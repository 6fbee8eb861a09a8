package lastmile

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
)

// ReceiptLine is what the leader says of one SKU of a delivery: units
// missing and damaged; received is the rest, and may be given as a check.
type ReceiptLine struct {
	SaleItemID int64  `json:"sale_item_id"`
	Received   *int64 `json:"received,omitempty"`
	Missing    int64  `json:"missing"`
	Damaged    int64  `json:"damaged"`
}

// ReceiveRequest is the body of POST /leader/deliveries/{id}/receive. SKUs
// not listed arrived complete.
type ReceiveRequest struct {
	Lines []ReceiptLine `json:"lines"`
}

// ErrNotArrived refuses a receipt of a delivery still at the warehouse.
var ErrNotArrived = apperr.Errorf(apperr.Conflict, "not_dispatched", "the delivery has not left the warehouse yet")

// receiptLine is one placed order line at the point, with the units
// allocation left it.
type receiptLine struct {
	LineID     int64  `db:"line_id"`
	OrderID    int64  `db:"order_id"`
	ResidentID int64  `db:"resident_id"`
	SaleItemID int64  `db:"sale_item_id"`
	SKU        string `db:"sku"`
	Name       string `db:"name"`
	Kept       int64  `db:"kept"`
	PriceFen   int64  `db:"price_fen"`
}

// lineLoss is what one order line lost at receipt.
type lineLoss struct{ missing, damaged int64 }

// spreadLoss decides which order lines of one SKU lose the missing and
// damaged units: the latest orders first (lines come latest first), missing
// before damaged, never more than a line kept. Stated rule: the residents
// who ordered last are the ones refunded, as with a shortage at allocation.
func spreadLoss(lines []receiptLine, missing, damaged int64) map[int64]lineLoss {
	out := map[int64]lineLoss{}
	for _, l := range lines {
		left := l.Kept
		m := min(left, missing)
		missing -= m
		left -= m
		d := min(left, damaged)
		damaged -= d
		if m+d > 0 {
			out[l.LineID] = lineLoss{m, d}
		}
	}
	return out
}

// Receive records the leader's receipt (签收) of a delivery in one
// transaction: per SKU what came, was missing or damaged; refunds for the
// lost units with a notice to each resident affected; the rest ready for
// pickup, with a pickup code and an arrival notice per resident. Receiving a
// received delivery changes nothing and answers it as recorded.
func (s *Service) Receive(ctx context.Context, leaderID, deliveryID int64, req ReceiveRequest) (Delivery, error) {
	seen := map[int64]bool{}
	for i, l := range req.Lines {
		field := func(name string) string { return fulfillment.Field("lines", i, name) }
		switch {
		case l.SaleItemID <= 0:
			return Delivery{}, apperr.InvalidField(field("sale_item_id"), "sale_item_id must be positive")
		case seen[l.SaleItemID]:
			return Delivery{}, apperr.InvalidField(field("sale_item_id"), "sale item %d appears twice", l.SaleItemID)
		case l.Missing < 0 || l.Missing > fulfillment.MaxStockCap:
			return Delivery{}, apperr.InvalidField(field("missing"), "missing must be between 0 and %d", fulfillment.MaxStockCap)
		case l.Damaged < 0 || l.Damaged > fulfillment.MaxStockCap:
			return Delivery{}, apperr.InvalidField(field("damaged"), "damaged must be between 0 and %d", fulfillment.MaxStockCap)
		case l.Received != nil && (*l.Received < 0 || *l.Received > fulfillment.MaxStockCap):
			return Delivery{}, apperr.InvalidField(field("received"), "received must be between 0 and %d", fulfillment.MaxStockCap)
		}
		seen[l.SaleItemID] = true
	}
	var out Delivery
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = receive(ctx, tx, s.metrics, leaderID, deliveryID, req, s.clock.Now())
		return err
	})
	return out, err
}

func receive(ctx context.Context, tx *sqlx.Tx, m refund.Metrics, leaderID, deliveryID int64, req ReceiveRequest, now time.Time) (Delivery, error) {
	var d struct {
		ID          int64            `db:"id"`
		WaveID      int64            `db:"wave_id"`
		PointID     int64            `db:"pickup_point_id"`
		State       DeliveryState    `db:"state"`
		RouteID     *int64           `db:"route_id"`
		Seq         *int             `db:"seq"`
		LeaderID    int64            `db:"leader_id"`
		WarehouseID int64            `db:"warehouse_id"`
		Date        fulfillment.Date `db:"delivery_date"`
	}
	// The wave's row is locked first, like every command on a wave, then the delivery's.
	err := tx.GetContext(ctx, &d, `SELECT d.id, d.wave_id, d.pickup_point_id, d.state, d.route_id, d.seq, p.leader_id, w.warehouse_id, w.delivery_date
		FROM deliveries d JOIN pickup_points p ON p.id = d.pickup_point_id JOIN waves w ON w.id = d.wave_id WHERE d.id = $1`, deliveryID)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && d.LeaderID != leaderID) {
		// Another leader's delivery is as unknown as a missing one.
		return Delivery{}, ErrDeliveryNotFound
	}
	if err != nil {
		return Delivery{}, err
	}
	// Receipts at different points write disjoint rows, so a delivery whose
	// stop the driver has marked is received under a share lock of the wave
	// and a morning's receipts go side by side; one not yet arrived may be
	// the wave's last stop and mark the wave delivered, which takes the
	// row's exclusive lock. (A delivery once arrived never goes back.)
	shared := d.State == DeliveryArrived || d.State == DeliveryReceived
	if shared {
		err = wave.LockShare(ctx, tx, d.WaveID)
	} else {
		_, err = wave.Lock(ctx, tx, d.WaveID)
	}
	if err != nil {
		return Delivery{}, err
	}
	if err := tx.GetContext(ctx, &d.State, `SELECT state FROM deliveries WHERE id = $1 FOR UPDATE`, deliveryID); err != nil {
		return Delivery{}, err
	}
	switch d.State {
	case DeliveryReceived:
		return getDelivery(ctx, tx, deliveryID)
	case DeliveryPending:
		return Delivery{}, ErrNotArrived
	}

	var expected []struct {
		SaleItemID int64 `db:"sale_item_id"`
		Quantity   int64 `db:"quantity"`
	}
	if err := tx.SelectContext(ctx, &expected, `SELECT sale_item_id, quantity FROM sort_line_skus WHERE wave_id = $1 AND pickup_point_id = $2
		ORDER BY sale_item_id`, d.WaveID, d.PointID); err != nil {
		return Delivery{}, err
	}
	said := map[int64]ReceiptLine{}
	for _, l := range req.Lines {
		said[l.SaleItemID] = l
	}
	var ids, exp, rec, mis, dam []int64
	for _, e := range expected {
		l := said[e.SaleItemID]
		delete(said, e.SaleItemID)
		got := e.Quantity - l.Missing - l.Damaged
		if got < 0 {
			return Delivery{}, apperr.Errorf(apperr.Unprocessable, "receipt_exceeds_delivery",
				"sale item %d: %d missing and %d damaged exceed the %d sent", e.SaleItemID, l.Missing, l.Damaged, e.Quantity)
		}
		if l.Received != nil && *l.Received != got {
			return Delivery{}, apperr.Errorf(apperr.Unprocessable, "receipt_mismatch",
				"sale item %d: received %d + missing %d + damaged %d must equal the %d sent", e.SaleItemID, *l.Received, l.Missing, l.Damaged, e.Quantity)
		}
		ids, exp, rec, mis, dam = append(ids, e.SaleItemID), append(exp, e.Quantity), append(rec, got), append(mis, l.Missing), append(dam, l.Damaged)
	}
	for id := range said {
		return Delivery{}, apperr.Errorf(apperr.Unprocessable, "unknown_sale_item", "sale item %d is not in this delivery", id)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO delivery_lines (delivery_id, sale_item_id, expected, received, missing, damaged)
		SELECT $1, i, e, r, m, d FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[]) AS t(i, e, r, m, d)`,
		deliveryID, pq.Array(ids), pq.Array(exp), pq.Array(rec), pq.Array(mis), pq.Array(dam)); err != nil {
		return Delivery{}, err
	}

	var lines []receiptLine
	if err := tx.SelectContext(ctx, &lines, `SELECT ol.id AS line_id, ol.order_id, o.resident_id, ol.sale_item_id, p.sku, p.name,
			ol.quantity - coalesce(c.cut, 0) AS kept, ol.price_fen
		FROM orders o JOIN order_lines ol ON ol.order_id = o.id LEFT JOIN line_cuts c ON c.order_line_id = ol.id
		JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id
		WHERE o.pickup_point_id = $1 AND o.warehouse_id = $2 AND o.delivery_date = $3 AND ol.delivery_date = $3
		  AND o.status = 'placed' AND ol.quantity > coalesce(c.cut, 0)
		ORDER BY ol.sale_item_id, o.created_at DESC, o.id DESC`, d.PointID, d.WarehouseID, d.Date); err != nil {
		return Delivery{}, err
	}
	bySKU := map[int64][]receiptLine{}
	for _, l := range lines {
		bySKU[l.SaleItemID] = append(bySKU[l.SaleItemID], l)
	}
	losses := map[int64]lineLoss{}
	for i, id := range ids {
		for line, loss := range spreadLoss(bySKU[id], mis[i], dam[i]) {
			losses[line] = loss
		}
	}

	var refunds refund.Batch
	var pLine, pResident, pReady []int64
	ready := map[int64][]refund.NoticeItem{}
	var residents []int64
	for _, l := range lines {
		loss := losses[l.LineID]
		for _, r := range []struct {
			reason fulfillment.RefundReason
			qty    int64
		}{{fulfillment.ReasonMissing, loss.missing}, {fulfillment.ReasonDamaged, loss.damaged}} {
			if r.qty > 0 {
				refunds.Add(l.OrderID, l.LineID, l.ResidentID, r.reason, r.qty, l.PriceFen, l.SKU, l.Name)
			}
		}
		if left := l.Kept - loss.missing - loss.damaged; left > 0 {
			if _, ok := ready[l.ResidentID]; !ok {
				residents = append(residents, l.ResidentID)
			}
			pLine, pResident, pReady = append(pLine, l.LineID), append(pResident, l.ResidentID), append(pReady, left)
			ready[l.ResidentID] = append(ready[l.ResidentID], refund.NoticeItem{OrderID: l.OrderID, SKU: l.SKU, Name: l.Name, Quantity: left})
		}
	}
	if err := refunds.Insert(ctx, tx, m.Refunds, d.WaveID, now); err != nil {
		return Delivery{}, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
		SELECT l, $1, $2, r, $3, q, $7 FROM unnest($4::bigint[], $5::bigint[], $6::int[]) AS t(l, r, q)
		ON CONFLICT (order_line_id, delivery_date) DO NOTHING`,
		deliveryID, d.PointID, d.Date, pq.Array(pLine), pq.Array(pResident), pq.Array(pReady), now); err != nil {
		return Delivery{}, err
	}
	codes, err := pickup.IssueCodes(ctx, tx, d.PointID, d.Date.Time, residents, now)
	if err != nil {
		return Delivery{}, err
	}
	point, err := pickup.GetPoint(ctx, tx, d.PointID)
	if err != nil {
		return Delivery{}, err
	}
	var notices []notice.Notice
	for _, r := range residents {
		notices = append(notices, arrivalNotice(point, d.Date, r, codes[r], ready[r]))
	}
	// Keyed by the delivery too: a point moved between warehouses may get two
	// deliveries of one date, and each receipt's refunds are told.
	notices = append(notices, refunds.Notices(d.Date, func(r int64) string {
		return parcelKey("refund:receipt", d.Date, d.PointID, r) + ":" + strconv.FormatInt(d.ID, 10)
	})...)
	if _, err := notice.QueueNotices(ctx, tx, m.Notices, notices, now); err != nil {
		return Delivery{}, err
	}
	// The leader holding the goods means the truck was there.
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'received', received_at = $2, arrived_at = coalesce(arrived_at, $2)
		WHERE id = $1`, deliveryID, now); err != nil {
		return Delivery{}, err
	}
	if !shared && d.RouteID != nil && d.Seq != nil {
		if _, err := routeplan.Arrive(ctx, tx, *d.RouteID, *d.Seq, now); err != nil {
			return Delivery{}, err
		}
		if err := markDeliveredIfDone(ctx, tx, d.WaveID, now); err != nil {
			return Delivery{}, err
		}
	}
	return getDelivery(ctx, tx, deliveryID)
}
