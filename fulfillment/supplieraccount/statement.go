package supplieraccount

import (
	"context"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/apperr"
	"groupbuy/pickup/notify"
)

// A supplier's statement (对账单) for a period is what the warehouse owes it:
// the units accepted at the dock on purchase orders delivered in the period,
// at the orders' prices, less the stock returned to it in the period (by the
// return's local date) at the return's price. Rejected units returned are
// listed by the returns, not here: they were never accepted, so never owed.

// Period is a span of days, both ends included.
type Period struct {
	From fulfillment.Date `json:"from"`
	To   fulfillment.Date `json:"to"`
}

// MaxStatementDays is the longest period a statement covers.
const MaxStatementDays = 366

// PeriodOf is a period given as a month, or else as from and to dates.
func PeriodOf(month fulfillment.Month, from, to time.Time) (Period, error) {
	if !month.IsZero() {
		return Period{From: month.Date, To: fulfillment.Date{Time: month.AddDate(0, 1, -1)}}, nil
	}
	switch {
	case from.IsZero() || to.IsZero():
		return Period{}, apperr.InvalidField("from", "give a month, or from and to dates")
	case to.Before(from):
		return Period{}, apperr.InvalidField("to", "to is before from")
	case to.Sub(from) >= MaxStatementDays*24*time.Hour:
		return Period{}, apperr.InvalidField("to", "a statement covers at most %d days", MaxStatementDays)
	}
	day := func(t time.Time) fulfillment.Date {
		return fulfillment.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
	}
	return Period{From: day(from), To: day(to)}, nil
}

// StatementLine is one product's part of a statement.
type StatementLine struct {
	ProductID     int64  `db:"product_id" json:"product_id"`
	SKU           string `db:"sku" json:"sku"`
	Name          string `db:"name" json:"name"`
	Unit          string `db:"unit" json:"unit"`
	AcceptedUnits int64  `db:"accepted_units" json:"accepted_units"`
	AcceptedFen   int64  `db:"accepted_fen" json:"accepted_fen"`
	ReturnedUnits int64  `db:"returned_units" json:"returned_units"`
	ReturnedFen   int64  `db:"returned_fen" json:"returned_fen"`
	NetFen        int64  `db:"-" json:"net_fen" doc:"accepted_fen − returned_fen."`
}

// Statement is what the warehouse owes a supplier for a period.
type Statement struct {
	SupplierID    int64           `json:"supplier_id"`
	SupplierCode  string          `json:"supplier_code"`
	SupplierName  string          `json:"supplier_name"`
	Period        Period          `json:"period"`
	Lines         []StatementLine `json:"lines"`
	AcceptedUnits int64           `json:"accepted_units"`
	AcceptedFen   int64           `json:"accepted_fen"`
	ReturnedUnits int64           `json:"returned_units"`
	ReturnedFen   int64           `json:"returned_fen"`
	NetFen        int64           `json:"net_fen"`
}

// StatementOf returns a supplier's statement for a period, by product.
func StatementOf(ctx context.Context, q sqlx.QueryerContext, supplierID int64, p Period) (Statement, error) {
	sup, err := supply.GetSupplier(ctx, q, supplierID)
	if err != nil {
		return Statement{}, err
	}
	out := Statement{SupplierID: sup.ID, SupplierCode: sup.Code, SupplierName: sup.Name, Period: p, Lines: []StatementLine{}}
	// One line per product, named as the catalog names it now: the
	// documents of the period may carry an older name or unit, and summing
	// by those would split a product or, joined, count it twice.
	err = sqlx.SelectContext(ctx, q, &out.Lines, `WITH accepted AS (
			SELECT l.product_id, sum(r.accepted) AS units, sum(r.accepted * l.price_fen) AS fen
			FROM purchase_orders o JOIN purchase_order_lines l ON l.purchase_order_id = o.id
			JOIN receiving_records r ON r.purchase_order_line_id = l.id
			WHERE o.supplier_id = $1 AND o.delivery_date BETWEEN $2 AND $3
			GROUP BY l.product_id),
		returned AS (
			SELECT l.product_id, sum(l.quantity) AS units, sum(l.amount_fen) AS fen
			FROM supplier_returns t JOIN warehouses w ON w.id = t.warehouse_id
			JOIN supplier_return_lines l ON l.return_id = t.id
			WHERE t.supplier_id = $1 AND l.source = 'stock' AND (t.created_at AT TIME ZONE w.time_zone)::date BETWEEN $2 AND $3
			GROUP BY l.product_id)
		SELECT p.id AS product_id, p.sku, p.name, p.unit, coalesce(a.units, 0) AS accepted_units, coalesce(a.fen, 0) AS accepted_fen,
			coalesce(t.units, 0) AS returned_units, coalesce(t.fen, 0) AS returned_fen
		FROM accepted a FULL JOIN returned t ON t.product_id = a.product_id
		JOIN products p ON p.id = coalesce(a.product_id, t.product_id)
		WHERE coalesce(a.units, 0) <> 0 OR coalesce(t.units, 0) <> 0 ORDER BY p.sku, p.id`,
		sup.ID, p.From, p.To)
	for i := range out.Lines {
		l := &out.Lines[i]
		l.NetFen = l.AcceptedFen - l.ReturnedFen
		out.AcceptedUnits, out.AcceptedFen = out.AcceptedUnits+l.AcceptedUnits, out.AcceptedFen+l.AcceptedFen
		out.ReturnedUnits, out.ReturnedFen = out.ReturnedUnits+l.ReturnedUnits, out.ReturnedFen+l.ReturnedFen
	}
	out.NetFen = out.AcceptedFen - out.ReturnedFen
	return out, err
}

// CSV is the statement for the supplier's spreadsheet, in Chinese, with a
// total row; amounts in yuan.
func (s Statement) CSV() []byte {
	period := s.Period.From.String() + "~" + s.Period.To.String()
	rows := make([][]string, 0, len(s.Lines)+1)
	for _, l := range s.Lines {
		rows = append(rows, []string{s.SupplierCode, s.SupplierName, period, l.SKU, l.Name, l.Unit, strconv.FormatInt(l.AcceptedUnits, 10), notify.Yuan(l.AcceptedFen),
			strconv.FormatInt(l.ReturnedUnits, 10), notify.Yuan(l.ReturnedFen), notify.Yuan(l.NetFen)})
	}
	rows = append(rows, []string{s.SupplierCode, s.SupplierName, period, "合计", "", "", strconv.FormatInt(s.AcceptedUnits, 10), notify.Yuan(s.AcceptedFen),
		strconv.FormatInt(s.ReturnedUnits, 10), notify.Yuan(s.ReturnedFen), notify.Yuan(s.NetFen)})
	return printout.SupplierCSV([]string{"供应商编码", "供应商", "期间", "SKU", "商品名称", "单位", "验收数量", "验收金额(元)", "退供数量", "退供金额(元)", "应付金额(元)"}, rows)
}
