package night

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"groupbuy/pickup/notify"
)

// refundRows gathers refund ledger rows to insert in one statement.
type refundRows struct {
	order, line, resident, qty, amount []int64
	reason                             []string
}

func (r *refundRows) add(orderID, lineID, residentID int64, reason fulfillment.RefundReason, qty, amountFen int64) {
	r.order, r.line, r.resident = append(r.order, orderID), append(r.line, lineID), append(r.resident, residentID)
	r.qty, r.amount, r.reason = append(r.qty, qty), append(r.amount, amountFen), append(r.reason, string(reason))
}

// insert appends the rows to the ledger; a (line, reason) already refunded
// is skipped, so a rerun never refunds twice. m (nil: nothing) counts the
// rows added once tx commits.
func (r *refundRows) insert(ctx context.Context, tx *sqlx.Tx, m RefundMetrics, waveID int64, now time.Time) error {
	if len(r.line) == 0 {
		return nil
	}
	var added []struct {
		Reason   string `db:"reason"`
		Quantity int64  `db:"quantity"`
	}
	err := tx.SelectContext(ctx, &added, `INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT $1, o, l, r, why, q, a, $8
		FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::bigint[]) AS t(o, l, r, why, q, a)
		ON CONFLICT (order_line_id, reason) DO NOTHING
		RETURNING reason, quantity`,
		waveID, pq.Array(r.order), pq.Array(r.line), pq.Array(r.resident), pq.Array(r.reason), pq.Array(r.qty), pq.Array(r.amount), now)
	if err != nil || len(added) == 0 {
		return err
	}
	// Counted once the refunds are in the ledger for good.
	if m == nil {
		return nil
	}
	pg.AfterCommit(tx, func() {
		for _, a := range added {
			m.Refunded(fulfillment.RefundReason(a.Reason), 1, a.Quantity)
		}
	})
	return nil
}

// noticeItem is one line of a notice's payload.
type noticeItem struct {
	OrderID   int64                    `json:"order_id"`
	SKU       string                   `json:"sku"`
	Name      string                   `json:"name"`
	Quantity  int64                    `json:"quantity"`
	AmountFen int64                    `json:"amount_fen,omitempty"`
	Reason    fulfillment.RefundReason `json:"reason,omitempty"`
}

// itemsText lists items as a resident reads them: 土鸡蛋×2、大米×1.
func itemsText(items []noticeItem) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s×%d", it.Name, it.Quantity)
	}
	return strings.Join(parts, "、")
}

// pointVars are the template variables naming a pickup point.
func pointVars(p pickup.Point) map[string]string {
	return map[string]string{"point": p.Name, "address": p.Address, "hours": p.Opens.String() + "-" + p.Closes.String()}
}

// parcelKey names the notices about one parcel: what a resident collects at
// one pickup point for one delivery date, e.g. arrival:2026-12-01:7:42 for
// resident 42 at point 7. The point is part of it because one person may
// collect at two points on a day, each with its own code; the resident alone
// would let the first point's notice swallow the second's.
func parcelKey(kind string, date fulfillment.Date, pointID, residentID int64) string {
	return fmt.Sprintf("%s:%s:%d:%d", kind, date, pointID, residentID)
}

// reminderKey is one evening's reminder of a parcel; the parcel sweep's
// query builds the same key in SQL to skip parcels already reminded.
func reminderKey(date fulfillment.Date, pointID, residentID int64, evening time.Time) string {
	return parcelKey("reminder", date, pointID, residentID) + ":" + evening.Format(time.DateOnly)
}

// arrivalNotice tells a resident their parcels are at the point, with the code.
func arrivalNotice(p pickup.Point, date fulfillment.Date, residentID int64, code string, items []noticeItem) pickup.Notice {
	vars := pointVars(p)
	vars["code"] = code
	return pickup.Notice{ResidentID: residentID, Kind: notify.KindArrival,
		// One arrival per parcel, however many orders and deliveries.
		Key:     parcelKey("arrival", date, p.ID, residentID),
		Payload: map[string]any{"vars": vars, "delivery_date": date.String(), "pickup_point_id": p.ID, "items": items}}
}

// refundNotice tells a resident what was refunded and why.
func refundNotice(residentID int64, key string, date fulfillment.Date, items []noticeItem) pickup.Notice {
	var total int64
	var reasons []string
	for _, it := range items {
		total += it.AmountFen
		if t := it.Reason.Text(); !slices.Contains(reasons, t) {
			reasons = append(reasons, t)
		}
	}
	vars := map[string]string{"items": itemsText(items), "amount": notify.Yuan(total), "reason": strings.Join(reasons, "、")}
	return pickup.Notice{ResidentID: residentID, Kind: notify.KindRefund, Key: key,
		Payload: map[string]any{"vars": vars, "delivery_date": date.String(), "items": items, "amount_fen": total}}
}
