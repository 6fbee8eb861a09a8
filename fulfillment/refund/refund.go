// Package refund owns the refunds ledger: the rows the night's allocation,
// the leader's receipt, the return of uncollected parcels and ops' after-sale
// refunds append, their totals per wave and reason, and the notice that
// tells a resident what was refunded and why; and each refund's way to the
// money (payments.go): a signed refund.created event to the operator's
// payment system, whose callback marks it paid, and only then the notice
// that it was paid back. The ledger lists and exports as CSV (ledger.go).
package refund

import (
	"context"
	"errors"
	"fmt"
	"groupbuy/fulfillment"
	"groupbuy/internal/pg"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Counter counts refund ledger rows.
type Counter interface {
	// Refunded counts committed refund rows of a reason and their units.
	Refunded(reason fulfillment.RefundReason, rows, units int64)
}

// Metrics is what a command that refunds counts, each event once its
// transaction has committed: the ledger rows and the notices they send. A
// nil field counts nothing.
type Metrics struct {
	Refunds Counter
	Notices notice.NoticeMetrics
}

// Rows gathers refund ledger rows to insert in one statement.
type Rows struct {
	order, line, resident, qty, amount []int64
	reason                             []string
}

func (r *Rows) Add(orderID, lineID, residentID int64, reason fulfillment.RefundReason, qty, amountFen int64) {
	r.order, r.line, r.resident = append(r.order, orderID), append(r.line, lineID), append(r.resident, residentID)
	r.qty, r.amount, r.reason = append(r.qty, qty), append(r.amount, amountFen), append(r.reason, string(reason))
}

// Insert appends the rows to the ledger; a (line, reason) already refunded
// is skipped, so a rerun never refunds twice. The rows added go to the
// payment system (TaskPublish, in the job outbox within tx). m (nil: nothing) counts the
// rows added once tx commits.
func (r *Rows) Insert(ctx context.Context, tx *sqlx.Tx, m Counter, waveID int64, now time.Time) error {
	if len(r.line) == 0 {
		return nil
	}
	var added []struct {
		ID       int64  `db:"id"`
		Reason   string `db:"reason"`
		Quantity int64  `db:"quantity"`
	}
	err := tx.SelectContext(ctx, &added, `INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT $1, o, l, r, why, q, a, $8
		FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::int[], $7::bigint[]) AS t(o, l, r, why, q, a)
		ON CONFLICT (order_line_id, reason) DO NOTHING
		RETURNING id, reason, quantity`,
		waveID, pq.Array(r.order), pq.Array(r.line), pq.Array(r.resident), pq.Array(r.reason), pq.Array(r.qty), pq.Array(r.amount), now)
	if err != nil || len(added) == 0 {
		return err
	}
	ids := make([]int64, len(added))
	for i, a := range added {
		ids[i] = a.ID
	}
	if err := queuePublish(ctx, tx, ids, now); err != nil {
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

// NoticeItem is one line of a notice's payload.
type NoticeItem struct {
	OrderID   int64                    `json:"order_id"`
	SKU       string                   `json:"sku"`
	Name      string                   `json:"name"`
	Quantity  int64                    `json:"quantity"`
	AmountFen int64                    `json:"amount_fen,omitempty"`
	Reason    fulfillment.RefundReason `json:"reason,omitempty"`
}

// ItemsText lists items as a resident reads them: 土鸡蛋×2、大米×1.
func ItemsText(items []NoticeItem) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = fmt.Sprintf("%s×%d", it.Name, it.Quantity)
	}
	return strings.Join(parts, "、")
}

// Notice tells a resident what was refunded and why.
func Notice(residentID int64, key string, date fulfillment.Date, items []NoticeItem) notice.Notice {
	var total int64
	var reasons []string
	for _, it := range items {
		total += it.AmountFen
		if t := it.Reason.Text(); !slices.Contains(reasons, t) {
			reasons = append(reasons, t)
		}
	}
	vars := map[string]string{"items": ItemsText(items), "amount": notify.Yuan(total), "reason": strings.Join(reasons, "、")}
	return notice.Notice{ResidentID: residentID, Kind: notify.KindRefund, Key: key,
		Payload: map[string]any{"vars": vars, "delivery_date": date.String(), "items": items, "amount_fen": total}}
}

// Batch is refunds made together: their ledger rows, and for each resident
// refunded the items of the one notice that tells them, residents in the
// order they first came.
type Batch struct {
	Rows
	items     map[int64][]NoticeItem
	residents []int64
}

// Add refunds qty units of a line sold at priceFen each, and lists them on
// the resident's notice.
func (b *Batch) Add(orderID, lineID, residentID int64, reason fulfillment.RefundReason, qty, priceFen int64, sku, name string) {
	b.Rows.Add(orderID, lineID, residentID, reason, qty, qty*priceFen)
	if b.items == nil {
		b.items = map[int64][]NoticeItem{}
	}
	if _, ok := b.items[residentID]; !ok {
		b.residents = append(b.residents, residentID)
	}
	b.items[residentID] = append(b.items[residentID], NoticeItem{OrderID: orderID, SKU: sku, Name: name,
		Quantity: qty, AmountFen: qty * priceFen, Reason: reason})
}

// Notices is one notice per resident refunded, each under key(resident).
func (b *Batch) Notices(date fulfillment.Date, key func(residentID int64) string) []notice.Notice {
	out := make([]notice.Notice, 0, len(b.residents))
	for _, r := range b.residents {
		out = append(out, Notice(r, key(r), date, b.items[r]))
	}
	return out
}

// Totals counts refund ledger rows: lines, units and value.
type Totals struct {
	Lines     int64 `db:"lines" json:"lines"`
	Units     int64 `db:"units" json:"units"`
	AmountFen int64 `db:"amount_fen" json:"amount_fen"`
}

// Summary totals a wave's refunds, in all and per reason (every
// reason, zero when it has none): the shortage refund is only what
// allocation cut.
type Summary struct {
	Totals
	ByReason map[fulfillment.RefundReason]Totals `json:"by_reason"`
}

// WaveSummary totals a wave's refunds per reason, in one query on the
// ledger's wave index.
func WaveSummary(ctx context.Context, q sqlx.QueryerContext, waveID int64) (Summary, error) {
	var rows []struct {
		Reason fulfillment.RefundReason `db:"reason"`
		Totals
	}
	err := sqlx.SelectContext(ctx, q, &rows, `SELECT reason, count(*) AS lines, sum(quantity) AS units, sum(amount_fen) AS amount_fen
		FROM refunds WHERE wave_id = $1 GROUP BY reason`, waveID)
	out := Summary{ByReason: make(map[fulfillment.RefundReason]Totals, len(fulfillment.RefundReasons))}
	for _, r := range fulfillment.RefundReasons {
		out.ByReason[r] = Totals{}
	}
	for _, r := range rows {
		out.ByReason[r.Reason] = r.Totals
		out.Lines, out.Units, out.AmountFen = out.Lines+r.Lines, out.Units+r.Units, out.AmountFen+r.AmountFen
	}
	return out, err
}

// ErrDuplicate: the line already has a refund for the reason.
var ErrDuplicate = errors.New("the line already has a refund for this reason")

// Row is one refund: units of an order line, and why.
type Row struct {
	WaveID, OrderID, LineID, ResidentID int64
	Reason                              fulfillment.RefundReason
	Quantity, AmountFen                 int64
}

// Add appends one refund to the ledger inside tx and returns its id, or
// ErrDuplicate when the line has one for the reason; the refund goes to the
// payment system as Insert's do; m (nil: nothing)
// counts it once tx commits.
func Add(ctx context.Context, tx *sqlx.Tx, m Counter, r Row, now time.Time) (int64, error) {
	var id int64
	err := tx.GetContext(ctx, &id, `INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		r.WaveID, r.OrderID, r.LineID, r.ResidentID, string(r.Reason), r.Quantity, r.AmountFen, now)
	if pg.IsUniqueViolation(err, "") {
		return 0, ErrDuplicate
	}
	if err != nil {
		return 0, err
	}
	if err := queuePublish(ctx, tx, []int64{id}, now); err != nil {
		return 0, err
	}
	if m != nil {
		pg.AfterCommit(tx, func() { m.Refunded(r.Reason, 1, r.Quantity) })
	}
	return id, nil
}

// Exists reports whether a line has a refund for the reason.
func Exists(ctx context.Context, q sqlx.QueryerContext, lineID int64, reason fulfillment.RefundReason) (bool, error) {
	var ok bool
	err := sqlx.GetContext(ctx, q, &ok, `SELECT EXISTS (SELECT 1 FROM refunds WHERE order_line_id = $1 AND reason = $2)`, lineID, string(reason))
	return ok, err
}
