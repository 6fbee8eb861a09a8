package refund

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/csvio"
)

// State is where a refund stands (fulfillment.RefundState, the shared
// vocabulary), under the ledger's short names.
type State = fulfillment.RefundState

// Refund states.
const (
	Created   = fulfillment.RefundCreated
	Submitted = fulfillment.RefundSubmitted
	Paid      = fulfillment.RefundPaid
	Failed    = fulfillment.RefundFailed
)

// States lists every state, in order.
var States = fulfillment.RefundStates

// Refund is one row of the ledger as ops reads it: what was refunded, to
// whom, why, and where its payment stands.
type Refund struct {
	ID            int64                    `db:"id" json:"id"`
	WaveID        int64                    `db:"wave_id" json:"wave_id"`
	DeliveryDate  fulfillment.Date         `db:"delivery_date" json:"delivery_date"`
	PickupPointID int64                    `db:"pickup_point_id" json:"pickup_point_id"`
	OrderID       int64                    `db:"order_id" json:"order_id"`
	LineID        int64                    `db:"order_line_id" json:"order_line_id"`
	ResidentID    int64                    `db:"resident_id" json:"resident_id"`
	SKU           string                   `db:"sku" json:"sku"`
	Name          string                   `db:"name" json:"name"`
	Reason        fulfillment.RefundReason `db:"reason" json:"reason"`
	Quantity      int64                    `db:"quantity" json:"quantity"`
	AmountFen     int64                    `db:"amount_fen" json:"amount_fen"`
	State         State                    `db:"state" json:"state"`
	CreatedAt     time.Time                `db:"created_at" json:"created_at"`
	SubmittedAt   *time.Time               `db:"submitted_at" json:"submitted_at,omitempty"`
	PaidAt        *time.Time               `db:"paid_at" json:"paid_at,omitempty"`
	FailedAt      *time.Time               `db:"failed_at" json:"failed_at,omitempty"`
	PaymentRef    string                   `db:"payment_ref" json:"payment_ref,omitempty"`
	Failure       string                   `db:"failure" json:"failure,omitempty"`
}

// The ledger's row with what names it: the order's point and date, the
// line's product. Read-only joins on the order side's tables; the ledger
// outlives the order lines, which retention drops with their night, so a
// refund of such a night keeps its amounts without a SKU.
const refundSelect = `SELECT f.id, f.wave_id, o.delivery_date, o.pickup_point_id, f.order_id, f.order_line_id, f.resident_id,
	coalesce(p.sku, '') AS sku, coalesce(p.name, '') AS name, f.reason, f.quantity, f.amount_fen, f.state, f.created_at,
	f.submitted_at, f.paid_at, f.failed_at, f.payment_ref, f.failure
	FROM refunds f JOIN orders o ON o.id = f.order_id
	LEFT JOIN order_lines ol ON ol.id = f.order_line_id AND ol.delivery_date = o.delivery_date
	LEFT JOIN sale_items si ON si.id = ol.sale_item_id LEFT JOIN products p ON p.id = si.product_id`

// ErrNotFound: no refund has the id.
var ErrNotFound = apperr.Errorf(apperr.NotFound, "refund_not_found", "refund not found")

// Get loads one refund.
func Get(ctx context.Context, q sqlx.QueryerContext, id int64) (Refund, error) {
	var r Refund
	err := sqlx.GetContext(ctx, q, &r, refundSelect+` WHERE f.id = $1`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return r, ErrNotFound
	}
	return r, err
}

// Filter selects refunds from the ledger; zero fields select all.
type Filter struct {
	From, To time.Time // created at or after From, before To
	Reason   fulfillment.RefundReason
	PointID  int64
	State    State
	AfterID  int64 // keyset pagination: refunds after this id
	Limit    int
}

const filterWhere = ` WHERE ($1::timestamptz IS NULL OR f.created_at >= $1) AND ($2::timestamptz IS NULL OR f.created_at < $2)
	AND ($3 = '' OR f.reason = $3) AND ($4::bigint = 0 OR o.pickup_point_id = $4) AND ($5 = '' OR f.state = $5)
	AND f.id > $6`

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// List returns refunds matching f in id order, at most f.Limit.
func List(ctx context.Context, q sqlx.QueryerContext, f Filter) ([]Refund, error) {
	out := []Refund{}
	err := sqlx.SelectContext(ctx, q, &out, refundSelect+filterWhere+` ORDER BY f.id LIMIT $7`,
		nullTime(f.From), nullTime(f.To), string(f.Reason), f.PointID, string(f.State), f.AfterID, f.Limit)
	return out, err
}

// LedgerPage is one page of the refund ledger.
type LedgerPage struct {
	Refunds []Refund `json:"refunds"`
	NextID  int64    `json:"next_after_id,omitempty"`
	HasMore bool     `json:"has_more"`
}

// ListPage returns the page of refunds f asks for (at most 1000, 200 when
// f.Limit is 0) and where the next one starts.
func ListPage(ctx context.Context, q sqlx.QueryerContext, f Filter) (LedgerPage, error) {
	size := fulfillment.PageSize(f.Limit, 200)
	f.Limit = size + 1 // one more tells whether another page exists
	rows, err := List(ctx, q, f)
	if err != nil {
		return LedgerPage{}, err
	}
	var p LedgerPage
	p.Refunds, p.NextID, p.HasMore = fulfillment.CutPage(rows, size, func(r Refund) int64 { return r.ID })
	return p, nil
}

// MaxExport bounds one CSV export: a larger one asks for a narrower range.
const MaxExport = 200_000

var errExportTooLarge = apperr.Errorf(apperr.Unprocessable, "export_too_large",
	"more than %d refunds match; narrow the date range", MaxExport)

// csvHeader names the columns of the ledger's CSV.
var csvHeader = []string{"id", "created_at", "delivery_date", "pickup_point_id", "order_id", "order_line_id", "resident_id",
	"sku", "name", "reason", "quantity", "amount_fen", "state", "submitted_at", "paid_at", "failed_at", "payment_ref", "failure"}

// WriteCSV writes every refund matching f (its AfterID and Limit aside) as
// CSV, page by page.
func WriteCSV(ctx context.Context, q sqlx.QueryerContext, w io.Writer, f Filter) error {
	cw := csvio.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f.AfterID, f.Limit = 0, 5000
	for written := 0; ; {
		rows, err := List(ctx, q, f)
		if err != nil {
			return err
		}
		if written += len(rows); written > MaxExport {
			return errExportTooLarge
		}
		for _, r := range rows {
			if err := cw.Write(r.csvRow()); err != nil {
				return err
			}
		}
		if len(rows) < f.Limit {
			return cw.Flush()
		}
		f.AfterID = rows[len(rows)-1].ID
	}
}

func (r Refund) csvRow() []string {
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	}
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	return []string{id(r.ID), at(&r.CreatedAt), r.DeliveryDate.String(), id(r.PickupPointID), id(r.OrderID), id(r.LineID),
		id(r.ResidentID), r.SKU, r.Name, string(r.Reason), id(r.Quantity), id(r.AmountFen), string(r.State),
		at(r.SubmittedAt), at(r.PaidAt), at(r.FailedAt), r.PaymentRef, r.Failure}
}

// Unpaid lists refunds created before olderThan that are not paid yet,
// oldest first, at most limit, and how many there are in all.
func Unpaid(ctx context.Context, q sqlx.QueryerContext, before time.Time, limit int) ([]Refund, int64, error) {
	out := []Refund{}
	if err := sqlx.SelectContext(ctx, q, &out, refundSelect+` WHERE f.state <> 'paid' AND f.created_at < $1
		ORDER BY f.created_at, f.id LIMIT $2`, before, limit); err != nil {
		return nil, 0, err
	}
	var n int64
	err := sqlx.GetContext(ctx, q, &n, `SELECT count(*) FROM refunds WHERE state <> 'paid' AND created_at < $1`, before)
	return out, n, err
}

// byIDs loads refunds by id in a state.
func byIDs(ctx context.Context, q sqlx.QueryerContext, ids []int64, state State) ([]Refund, error) {
	var out []Refund
	err := sqlx.SelectContext(ctx, q, &out, refundSelect+` WHERE f.id = ANY($1) AND f.state = $2 ORDER BY f.id`, pq.Array(ids), string(state))
	return out, err
}
