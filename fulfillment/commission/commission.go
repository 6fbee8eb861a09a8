// Package commission owns the leader commission: the rates (commission_rates)
// and the append-only ledger (commission_entries) of accruals on collected
// lines and reversals by after-sale refunds, with the leader's listing and
// monthly statement. It reads the order lines and parcel lines it books on
// (intake's and lastmile's tables); the after-sale refund row goes through
// package refund.
package commission

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
)

// A leader (团长) earns a share, in basis points, of
// what residents collect at their pickup point. The ledger is only appended
// to: an accrual when a line is collected, a negative reversal when ops grant
// an after-sale refund on it.

// CommissionScope says what a commission rate applies to.
type CommissionScope string

// The scopes of a rate; the most specific one applies to a line.
const (
	ScopeDefault  CommissionScope = "default"
	ScopeCategory CommissionScope = "category"
	ScopeProduct  CommissionScope = "product"
)

// MaxRateBP is a rate of 100 %.
const MaxRateBP = 10_000

// CommissionKind tells an accrual from a reversal in the ledger.
type CommissionKind string

// The kinds of ledger entries.
const (
	CommissionAccrual  CommissionKind = "accrual"
	CommissionReversal CommissionKind = "reversal"
)

// SourceCollect is the source of every accrual; a reversal's source is
// "refund:<refund id>".
const SourceCollect = "collect"

// MaxCommissionDays bounds the date range a leader may ask for at once.
const MaxCommissionDays = 366

// Errors of commission and after-sale refunds.
var (
	ErrOrderLineNotFound = apperr.Errorf(apperr.NotFound, "order_line_not_found", "order line not found")
	ErrNotCollected      = apperr.Errorf(apperr.Conflict, "not_collected", "the line has not been collected; after-sale refunds are for collected lines")
	ErrAlreadyRefunded   = apperr.Errorf(apperr.Conflict, "already_refunded", "this line already has an after-sale refund")
)

// CommissionRateKey names what a rate applies to: everything, a product
// category, or one product.
type CommissionRateKey struct {
	Scope     CommissionScope
	Category  string
	ProductID int64
}

// Validate checks the key's fields agree with its scope.
func (k *CommissionRateKey) Validate() error {
	k.Category = strings.TrimSpace(k.Category)
	switch k.Scope {
	case ScopeDefault:
		if k.Category != "" || k.ProductID != 0 {
			return apperr.InvalidField("scope", "the default rate takes neither category nor product_id")
		}
	case ScopeCategory:
		if !input.Printable(k.Category, 50) {
			return apperr.InvalidField("category", "category is required for scope category: up to 50 printable characters")
		}
		if k.ProductID != 0 {
			return apperr.InvalidField("product_id", "a category rate takes no product_id")
		}
	case ScopeProduct:
		if k.ProductID <= 0 {
			return apperr.InvalidField("product_id", "product_id is required for scope product")
		}
		if k.Category != "" {
			return apperr.InvalidField("category", "a product rate takes no category")
		}
	default:
		return apperr.InvalidField("scope", "scope must be default, category or product")
	}
	return nil
}

// CommissionRate is a rate in basis points (1 bp = 0.01 %) for a scope.
type CommissionRate struct {
	Scope     CommissionScope `db:"scope" json:"scope"`
	Category  string          `db:"category" json:"category,omitempty"`
	ProductID int64           `db:"product_id" json:"product_id,omitempty"`
	SKU       string          `db:"sku" json:"sku,omitempty"`   // of the product, for scope product
	Name      string          `db:"name" json:"name,omitempty"` // of the product, for scope product
	RateBP    int64           `db:"rate_bp" json:"rate_bp"`
	UpdatedAt time.Time       `db:"updated_at" json:"updated_at"`
}

const rateSelect = `SELECT r.scope, r.category, coalesce(r.product_id, 0) AS product_id,
	coalesce(p.sku, '') AS sku, coalesce(p.name, '') AS name, r.rate_bp, r.updated_at
	FROM commission_rates r LEFT JOIN products p ON p.id = r.product_id`

// SetCommissionRate creates or changes the rate of a key. It changes what
// later accruals earn; entries already in the ledger keep their rate.
func SetCommissionRate(ctx context.Context, q sqlx.ExtContext, key CommissionRateKey, rateBP int64, now time.Time) (CommissionRate, error) {
	if err := key.Validate(); err != nil {
		return CommissionRate{}, err
	}
	if rateBP < 0 || rateBP > MaxRateBP {
		return CommissionRate{}, apperr.InvalidField("rate_bp", "rate_bp must be between 0 and %d basis points (100 %%)", MaxRateBP)
	}
	product := sql.NullInt64{Int64: key.ProductID, Valid: key.ProductID != 0}
	const upsert = `INSERT INTO commission_rates (scope, category, product_id, rate_bp, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (scope, category, coalesce(product_id, 0)) DO UPDATE SET rate_bp = EXCLUDED.rate_bp, updated_at = EXCLUDED.updated_at
		RETURNING id`
	var id int64
	err := sqlx.GetContext(ctx, q, &id, upsert, string(key.Scope), key.Category, product, rateBP, now)
	if pg.IsForeignKeyViolation(err) {
		return CommissionRate{}, apperr.Errorf(apperr.Unprocessable, "unknown_product", "no product with id %d", key.ProductID)
	}
	if err != nil {
		return CommissionRate{}, err
	}
	var out CommissionRate
	err = sqlx.GetContext(ctx, q, &out, rateSelect+` WHERE r.id = $1`, id)
	return out, err
}

// ListCommissionRates returns every rate: the default, then categories, then
// products by SKU.
func ListCommissionRates(ctx context.Context, q sqlx.QueryerContext) ([]CommissionRate, error) {
	out := []CommissionRate{}
	err := sqlx.SelectContext(ctx, q, &out, rateSelect+`
		ORDER BY CASE r.scope WHEN 'default' THEN 0 WHEN 'category' THEN 1 ELSE 2 END, r.category, p.sku`)
	return out, err
}

// RefundedBeforeCollection joins to a parcel line pl, as af.units, the
// units that approved after-sales claims refunded before it was collected:
// the leader does not hand them over, earns no commission on them, and no
// sweep returns or refunds them again.
const RefundedBeforeCollection = `CROSS JOIN LATERAL (SELECT coalesce(sum(f.quantity), 0) AS units FROM refunds f
	WHERE f.order_line_id = pl.order_line_id AND f.reason = 'after_sale' AND (pl.collected_at IS NULL OR f.created_at <= pl.collected_at)) af`

// AccrueCommission books the accrual of each given line that is collected:
// base = ready units (less those an approved claim refunded before they were
// collected) × price, at the most specific rate now in force, the
// amount rounded down to the fen, to the leader running the line's point now
// (after a handover the new one; what was booked before stays booked). Lines not collected, and lines already
// accrued, are skipped, so calling it again books nothing. It returns the
// number of accruals booked. The collect flow calls it in its transaction.
// nights are the delivery dates of the lines: their partitions alone are
// read (by line id only, every night's were planned and scanned, some 150
// at 90 days' retention, on the morning's hot path).
func AccrueCommission(ctx context.Context, tx *sqlx.Tx, lineIDs []int64, nights []fulfillment.Date, now time.Time) (int64, error) {
	if len(lineIDs) == 0 {
		return 0, nil
	}
	// One statement for any number of lines; the rate joins hit the unique
	// key of commission_rates, so each matches at most one row.
	const q = `INSERT INTO commission_entries (leader_id, pickup_point_id, order_line_id, delivery_date, kind, source,
			quantity, base_fen, rate_bp, amount_fen, created_at)
		SELECT pp.leader_id, o.pickup_point_id, ol.id, o.delivery_date, 'accrual', 'collect',
			u.units, u.units * ol.price_fen, r.rate_bp, u.units * ol.price_fen * r.rate_bp / 10000, $2
		FROM parcel_lines pl
		JOIN order_lines ol ON ol.id = pl.order_line_id AND ol.delivery_date = pl.delivery_date AND ol.delivery_date = ANY($3::date[])
		JOIN orders o ON o.id = ol.order_id
		JOIN pickup_points pp ON pp.id = o.pickup_point_id
		JOIN sale_items si ON si.id = ol.sale_item_id
		JOIN products p ON p.id = si.product_id
		LEFT JOIN commission_rates rp ON rp.scope = 'product' AND rp.category = '' AND coalesce(rp.product_id, 0) = p.id
		LEFT JOIN commission_rates rc ON rc.scope = 'category' AND rc.category = p.category AND coalesce(rc.product_id, 0) = 0
		LEFT JOIN commission_rates rd ON rd.scope = 'default' AND rd.category = '' AND coalesce(rd.product_id, 0) = 0
		CROSS JOIN LATERAL (SELECT coalesce(rp.rate_bp, rc.rate_bp, rd.rate_bp, 0)::bigint AS rate_bp) r
		` + RefundedBeforeCollection + `
		CROSS JOIN LATERAL (SELECT pl.ready - af.units AS units) u
		WHERE pl.order_line_id = ANY($1) AND pl.delivery_date = ANY($3::date[]) AND pl.state = 'collected' AND u.units > 0
		ORDER BY ol.id
		ON CONFLICT (order_line_id, source) DO NOTHING`
	res, err := tx.ExecContext(ctx, q, pq.Array(lineIDs), now, fulfillment.Dates(nights))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CommissionEntry is one row of the commission ledger, with the order line's
// order and product.
type CommissionEntry struct {
	ID            int64            `db:"id" json:"id"`
	LeaderID      int64            `db:"leader_id" json:"leader_id"`
	PickupPointID int64            `db:"pickup_point_id" json:"pickup_point_id"`
	OrderID       int64            `db:"order_id" json:"order_id"`
	OrderLineID   int64            `db:"order_line_id" json:"order_line_id"`
	DeliveryDate  fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	Kind          CommissionKind   `db:"kind" json:"kind"`
	Source        string           `db:"source" json:"source"`
	SKU           string           `db:"sku" json:"sku"`
	Name          string           `db:"name" json:"name"`
	Quantity      int64            `db:"quantity" json:"quantity"`
	BaseFen       int64            `db:"base_fen" json:"base_fen"`
	RateBP        int64            `db:"rate_bp" json:"rate_bp"`
	AmountFen     int64            `db:"amount_fen" json:"amount_fen"` // negative for reversals
	CreatedAt     time.Time        `db:"created_at" json:"created_at"`
}

// The ledger outlives its order lines, which retention drops with their
// night: an entry of such a night keeps its amounts, with order 0 and no SKU.
const entryCols = `e.id, e.leader_id, e.pickup_point_id, coalesce(ol.order_id, 0) AS order_id, e.order_line_id, e.delivery_date,
	e.kind, e.source, coalesce(p.sku, '') AS sku, coalesce(p.name, '') AS name, e.quantity, e.base_fen, e.rate_bp, e.amount_fen, e.created_at`

const entryJoins = ` LEFT JOIN order_lines ol ON ol.id = e.order_line_id AND ol.delivery_date = e.delivery_date
	LEFT JOIN sale_items si ON si.id = ol.sale_item_id LEFT JOIN products p ON p.id = si.product_id`

// AfterSaleRefund is a refund (售后) ops granted on a collected line, with the
// commission it took back from the leader.
type AfterSaleRefund struct {
	RefundID    int64           `json:"refund_id"`
	WaveID      int64           `json:"wave_id"`
	OrderID     int64           `json:"order_id"`
	OrderLineID int64           `json:"order_line_id"`
	ResidentID  int64           `json:"resident_id"`
	SKU         string          `json:"sku"`
	Name        string          `json:"name"`
	Quantity    int64           `json:"quantity"`
	AmountFen   int64           `json:"amount_fen"`
	CreatedAt   time.Time       `json:"created_at"`
	Reversal    CommissionEntry `json:"commission_reversal"`
}

// RefundAfterSale grants an after-sale refund of quantity units of a
// collected line inside tx: the refund row, the reversal of the matching
// share of the leader's accrual (rounded so a full refund reverses it
// exactly), and the resident's refund notice; m counts the refund and the
// notice. A line gets at most one.
func RefundAfterSale(ctx context.Context, tx *sqlx.Tx, m refund.Metrics, lineID, quantity int64, now time.Time) (AfterSaleRefund, error) {
	return refundAfterSale(ctx, tx, m, lineID, quantity, now, false)
}

// RefundClaim grants the after-sale refund of a leader's claim inside tx:
// as RefundAfterSale, and also on a line received at the point but not yet
// collected. Such a line has no accrual to reverse; its accrual at
// collection leaves the refunded units out (AccrueCommission).
func RefundClaim(ctx context.Context, tx *sqlx.Tx, m refund.Metrics, lineID, quantity int64, now time.Time) (AfterSaleRefund, error) {
	return refundAfterSale(ctx, tx, m, lineID, quantity, now, true)
}

func refundAfterSale(ctx context.Context, tx *sqlx.Tx, m refund.Metrics, lineID, quantity int64, now time.Time, received bool) (AfterSaleRefund, error) {
	if quantity < 1 || quantity > fulfillment.MaxQuantity {
		return AfterSaleRefund{}, apperr.InvalidField("quantity", "quantity must be between 1 and the units collected")
	}
	var line struct {
		OrderID      int64            `db:"order_id"`
		ResidentID   int64            `db:"resident_id"`
		DeliveryDate fulfillment.Date `db:"delivery_date"`
		WaveID       sql.NullInt64    `db:"wave_id"`
		PriceFen     int64            `db:"price_fen"`
		SKU          string           `db:"sku"`
		Name         string           `db:"name"`
		State        string           `db:"state"`
		Ready        int64            `db:"ready"`
		CollectedAt  *time.Time       `db:"collected_at"`
	}
	// The parcel line's lock orders this against the collect flow and a
	// second refund of the same line, which then sees this one.
	const load = `SELECT ol.order_id, o.resident_id, o.delivery_date, w.id AS wave_id, ol.price_fen, p.sku, p.name, pl.state, pl.ready,
			pl.collected_at
		FROM parcel_lines pl JOIN order_lines ol ON ol.id = pl.order_line_id JOIN orders o ON o.id = ol.order_id
		JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id
		LEFT JOIN waves w ON w.warehouse_id = o.warehouse_id AND w.delivery_date = o.delivery_date
		WHERE pl.order_line_id = $1 FOR NO KEY UPDATE OF pl`
	err := tx.GetContext(ctx, &line, load, lineID)
	if errors.Is(err, sql.ErrNoRows) {
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM order_lines WHERE id = $1)`, lineID); err != nil {
			return AfterSaleRefund{}, err
		}
		if !exists {
			return AfterSaleRefund{}, ErrOrderLineNotFound
		}
		return AfterSaleRefund{}, ErrNotCollected
	}
	if err != nil {
		return AfterSaleRefund{}, err
	}
	collected := line.State == "collected"
	if !collected && !(received && line.State == "ready") {
		return AfterSaleRefund{}, ErrNotCollected.With("state", line.State)
	}
	if collected && line.CollectedAt != nil && !now.After(*line.CollectedAt) {
		// now was read before the lock this waited for behind the collection
		// (or on a clock behind the desk's): the refund came after it, and
		// RefundedBeforeCollection goes by the times.
		now = line.CollectedAt.Add(time.Microsecond)
	}
	if quantity > line.Ready {
		return AfterSaleRefund{}, apperr.Errorf(apperr.Unprocessable, "quantity_exceeds_collected",
			"the resident collected %d units; at most that many can be refunded", line.Ready).With("collected", line.Ready)
	}
	if !line.WaveID.Valid {
		return AfterSaleRefund{}, fmt.Errorf("order %d has no wave", line.OrderID)
	}
	refunded, err := refund.Exists(ctx, tx, lineID, fulfillment.ReasonAfterSale)
	if err != nil {
		return AfterSaleRefund{}, err
	}
	if refunded {
		return AfterSaleRefund{}, ErrAlreadyRefunded
	}
	// A line collected before its accrual was booked (or before commission
	// existed) is accrued now, so the reversal has something to reverse.
	if _, err := AccrueCommission(ctx, tx, []int64{lineID}, []fulfillment.Date{line.DeliveryDate}, now); err != nil {
		return AfterSaleRefund{}, err
	}
	out := AfterSaleRefund{WaveID: line.WaveID.Int64, OrderID: line.OrderID, OrderLineID: lineID, ResidentID: line.ResidentID,
		SKU: line.SKU, Name: line.Name, Quantity: quantity, AmountFen: quantity * line.PriceFen, CreatedAt: now}
	out.RefundID, err = refund.Add(ctx, tx, m.Refunds, refund.Row{WaveID: out.WaveID, OrderID: out.OrderID, LineID: lineID,
		ResidentID: out.ResidentID, Reason: fulfillment.ReasonAfterSale, Quantity: quantity, AmountFen: out.AmountFen}, now)
	if errors.Is(err, refund.ErrDuplicate) {
		return AfterSaleRefund{}, ErrAlreadyRefunded
	}
	if err != nil {
		return AfterSaleRefund{}, err
	}
	if collected {
		if err := reverseAccrual(ctx, tx, &out, line.PriceFen, now); err != nil {
			return AfterSaleRefund{}, err
		}
	}
	n := refund.Notice(out.ResidentID, fmt.Sprintf("refund:after_sale:%d", lineID), line.DeliveryDate, []refund.NoticeItem{{
		OrderID: out.OrderID, SKU: out.SKU, Name: out.Name, Quantity: quantity, AmountFen: out.AmountFen, Reason: fulfillment.ReasonAfterSale}})
	if _, err := notice.QueueNotices(ctx, tx, m.Notices, []notice.Notice{n}, now); err != nil {
		return AfterSaleRefund{}, err
	}
	return out, nil
}

// reverseAccrual books the reversal of an after-sale refund out of the
// line's accrual into out.Reversal.
func reverseAccrual(ctx context.Context, tx *sqlx.Tx, out *AfterSaleRefund, priceFen int64, now time.Time) error {
	// floor(accrual × quantity / accrued units): the accrual is never
	// negative, so integer division rounds down, and quantity = all units
	// gives back exactly the accrual.
	const reverse = `WITH e AS (
			INSERT INTO commission_entries (leader_id, pickup_point_id, order_line_id, delivery_date, kind, source,
				quantity, base_fen, rate_bp, amount_fen, created_at)
			SELECT leader_id, pickup_point_id, order_line_id, delivery_date, 'reversal', $2,
				$3::bigint, $4::bigint, rate_bp, -(amount_fen * $3::bigint / quantity), $5
			FROM commission_entries WHERE order_line_id = $1 AND source = 'collect'
			RETURNING *)
		SELECT ` + entryCols + ` FROM e` + entryJoins
	err := tx.GetContext(ctx, &out.Reversal, reverse, out.OrderLineID, "refund:"+strconv.FormatInt(out.RefundID, 10),
		out.Quantity, out.Quantity*priceFen, now)
	if err != nil {
		return fmt.Errorf("reverse commission of line %d: %w", out.OrderLineID, err)
	}
	return nil
}

// Service runs the commission's commands, one transaction each.
type Service struct {
	db      *sqlx.DB
	clock   clock.Clock
	metrics refund.Metrics
}

// NewService returns the commission's commands over db; m counts the
// after-sale refunds and their notices (nil fields: nothing).
func NewService(db *sqlx.DB, clock clock.Clock, m refund.Metrics) *Service {
	return &Service{db: db, clock: clock, metrics: m}
}

// Rates returns every commission rate (see ListCommissionRates).
func (s *Service) Rates(ctx context.Context) ([]CommissionRate, error) {
	return ListCommissionRates(ctx, s.db)
}

// LeaderCommissions returns a page of a leader's entries (see LeaderCommissions).
func (s *Service) LeaderCommissions(ctx context.Context, f CommissionFilter) (CommissionPage, error) {
	return LeaderCommissions(ctx, s.db, f)
}

// Statement returns a leader's monthly statement (see CommissionStatement).
func (s *Service) Statement(ctx context.Context, leaderID int64, month fulfillment.Date) (CommissionStatementDoc, error) {
	return CommissionStatement(ctx, s.db, leaderID, month)
}

// RefundAfterSale grants an after-sale refund in one transaction.
func (s *Service) RefundAfterSale(ctx context.Context, lineID, quantity int64) (AfterSaleRefund, error) {
	var out AfterSaleRefund
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = RefundAfterSale(ctx, tx, s.metrics, lineID, quantity, s.clock.Now())
		return err
	})
	return out, err
}

// SetCommissionRate creates or changes a commission rate.
func (s *Service) SetCommissionRate(ctx context.Context, key CommissionRateKey, rateBP int64) (CommissionRate, error) {
	return SetCommissionRate(ctx, s.db, key, rateBP, s.clock.Now())
}

// CommissionTotals sums ledger entries: accrued is what collections earned,
// reversed what after-sale refunds took back (zero or negative), net their sum.
type CommissionTotals struct {
	Entries     int64 `db:"entries" json:"entries"`
	AccruedFen  int64 `db:"accrued_fen" json:"accrued_fen"`
	ReversedFen int64 `db:"reversed_fen" json:"reversed_fen"`
	NetFen      int64 `db:"net_fen" json:"net_fen"`
}

const totalsCols = `count(*) AS entries,
	coalesce(sum(amount_fen) FILTER (WHERE kind = 'accrual'), 0) AS accrued_fen,
	coalesce(sum(amount_fen) FILTER (WHERE kind = 'reversal'), 0) AS reversed_fen,
	coalesce(sum(amount_fen), 0) AS net_fen`

// CommissionFilter selects a leader's entries by delivery date, inclusive,
// a page at a time.
type CommissionFilter struct {
	LeaderID int64
	From, To fulfillment.Date
	AfterID  int64 // entries with a larger id
	Limit    int   // 1..1000; 0 means 500
}

// CheckCommissionRange refuses a range that is reversed or longer than
// MaxCommissionDays.
func CheckCommissionRange(from, to fulfillment.Date) error {
	if to.Before(from.Time) {
		return apperr.InvalidField("to", "to must not be before from")
	}
	if days := int(to.Sub(from.Time).Hours()/24) + 1; days > MaxCommissionDays {
		return apperr.InvalidField("to", "the range may span at most %d days", MaxCommissionDays)
	}
	return nil
}

// CommissionPage is a page of a leader's entries, with totals over the whole range.
type CommissionPage struct {
	LeaderID int64             `json:"leader_id"`
	From     fulfillment.Date  `json:"from"`
	To       fulfillment.Date  `json:"to"`
	Totals   CommissionTotals  `json:"totals"`
	Entries  []CommissionEntry `json:"entries"`
	NextID   int64             `json:"next_after_id,omitempty"`
	HasMore  bool              `json:"has_more"`
}

// LeaderCommissions returns a leader's entries for delivery dates in
// [From, To], in ledger order, with totals over the range.
func LeaderCommissions(ctx context.Context, q sqlx.QueryerContext, f CommissionFilter) (CommissionPage, error) {
	if err := CheckCommissionRange(f.From, f.To); err != nil {
		return CommissionPage{}, err
	}
	f.Limit = fulfillment.PageSize(f.Limit, 500)
	page := CommissionPage{LeaderID: f.LeaderID, From: f.From, To: f.To, Entries: []CommissionEntry{}}
	if err := sqlx.GetContext(ctx, q, &page.Totals, `SELECT `+totalsCols+` FROM commission_entries
		WHERE leader_id = $1 AND delivery_date BETWEEN $2 AND $3`, f.LeaderID, f.From, f.To); err != nil {
		return page, err
	}
	// One more than the limit tells whether another page exists.
	if err := sqlx.SelectContext(ctx, q, &page.Entries, `SELECT `+entryCols+` FROM commission_entries e`+entryJoins+`
		WHERE e.leader_id = $1 AND e.delivery_date BETWEEN $2 AND $3 AND e.id > $4 ORDER BY e.id LIMIT $5`,
		f.LeaderID, f.From, f.To, f.AfterID, f.Limit+1); err != nil {
		return page, err
	}
	page.Entries, page.NextID, page.HasMore = fulfillment.CutPage(page.Entries, f.Limit, func(e CommissionEntry) int64 { return e.ID })
	return page, nil
}

// CommissionStatementDoc is a leader's monthly commission statement: every
// entry of the month's delivery dates and their totals.
type CommissionStatementDoc struct {
	Leader  pickup.Leader     `json:"leader"`
	Month   string            `json:"month"` // YYYY-MM
	Entries []CommissionEntry `json:"entries"`
	Totals  CommissionTotals  `json:"totals"`
}

// CommissionStatement returns a leader's statement for the month holding
// month (by delivery date), in date and ledger order.
func CommissionStatement(ctx context.Context, q sqlx.QueryerContext, leaderID int64, month fulfillment.Date) (CommissionStatementDoc, error) {
	leader, err := pickup.GetLeader(ctx, q, leaderID)
	if err != nil {
		return CommissionStatementDoc{}, err
	}
	first := time.Date(month.Year(), month.Month(), 1, 0, 0, 0, 0, time.UTC)
	from, to := fulfillment.Date{Time: first}, fulfillment.Date{Time: first.AddDate(0, 1, -1)}
	doc := CommissionStatementDoc{Leader: leader, Month: first.Format("2006-01"), Entries: []CommissionEntry{}}
	if err := sqlx.SelectContext(ctx, q, &doc.Entries, `SELECT `+entryCols+` FROM commission_entries e`+entryJoins+`
		WHERE e.leader_id = $1 AND e.delivery_date BETWEEN $2 AND $3 ORDER BY e.delivery_date, e.id`,
		leaderID, from, to); err != nil {
		return doc, err
	}
	for _, e := range doc.Entries {
		doc.Totals.Entries++
		doc.Totals.NetFen += e.AmountFen
		if e.Kind == CommissionAccrual {
			doc.Totals.AccruedFen += e.AmountFen
		} else {
			doc.Totals.ReversedFen += e.AmountFen
		}
	}
	return doc, nil
}

// StatementCSVHeader is the header row of a commission statement CSV.
var StatementCSVHeader = []string{"date", "order_id", "line_id", "sku", "name", "kind", "quantity", "base_fen", "rate_bp", "amount_fen"}

// WriteCSV writes the statement as UTF-8 CSV with a byte-order mark (so
// Excel reads the Chinese names): one row per entry, then a row "total"
// whose amount_fen is the net of the entries.
func (d CommissionStatementDoc) WriteCSV(w io.Writer) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csvio.NewWriter(w)
	if err := cw.Write(StatementCSVHeader); err != nil {
		return err
	}
	i64 := func(n int64) string { return strconv.FormatInt(n, 10) }
	for _, e := range d.Entries {
		if err := cw.Write([]string{e.DeliveryDate.String(), i64(e.OrderID), i64(e.OrderLineID), e.SKU, e.Name,
			string(e.Kind), i64(e.Quantity), i64(e.BaseFen), i64(e.RateBP), i64(e.AmountFen)}); err != nil {
			return err
		}
	}
	if err := cw.Write([]string{"total", "", "", "", "", "", "", "", "", i64(d.Totals.NetFen)}); err != nil {
		return err
	}
	return cw.Flush()
}
