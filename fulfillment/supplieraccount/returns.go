package supplieraccount

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// Returns to supplier (退供): goods going back to the supplier they came
// from, on one numbered document per supplier. A line returns either units
// the dock rejected on a purchase-order line (they never entered stock, so
// the ledger does not move; they are worth what the order priced them at)
// or units of a lot in stock (expired, damaged: the ledger moves them out
// as returned_to_supplier, worth the supplier's price for the product).

// ReturnReason is why goods go back: a reason the dock rejects for, or expired.
type ReturnReason string

// ReturnExpired is stock that passed its expiry date going back.
const ReturnExpired ReturnReason = "expired"

func (r ReturnReason) valid() bool { return r == ReturnExpired || supply.RejectReason(r).Valid() }

// Where a return line's units come from.
const (
	ReturnFromRejected = "rejected"
	ReturnFromStock    = "stock"
)

// ReturnLineInput is one line of a return as ops write it: a purchase-order
// line's rejected units, or a product's lot in stock.
type ReturnLineInput struct {
	PurchaseOrderLineID int64             `json:"purchase_order_line_id,omitempty" doc:"Return units the dock rejected on this purchase-order line."`
	ProductID           int64             `json:"product_id,omitempty" doc:"Return units of this product from stock (with lot and expires_on)."`
	Lot                 string            `json:"lot,omitempty" max:"40" doc:"For stock: the lot; \"\" for goods without one."`
	ExpiresOn           *fulfillment.Date `json:"expires_on,omitempty" doc:"For stock: the lot's expiry date, if it has one."`
	Reason              ReturnReason      `json:"reason,omitempty" enum:"quality,damage,wrong_item,short_shelf_life,expired" doc:"Required for stock; for rejected units the reason most of them were rejected for when omitted."`
	Quantity            int64             `json:"quantity" doc:"Units going back, at least 1."`
}

// ReturnInput is a return to one supplier from one warehouse.
type ReturnInput struct {
	RequestID   string            `json:"request_id" max:"100" doc:"The caller's id of this return: sending it again answers the return it made; sent with another return, 409 request_id_conflict."`
	SupplierID  int64             `json:"supplier_id"`
	WarehouseID int64             `json:"warehouse_id"`
	Note        string            `json:"note,omitempty" max:"200"`
	Lines       []ReturnLineInput `json:"lines" doc:"1 to 500 lines."`
}

// Validate checks a return on its own.
func (in *ReturnInput) Validate() error {
	switch {
	case !input.Printable(in.RequestID, 100):
		return apperr.InvalidField("request_id", "request_id is required: up to 100 printable characters")
	case in.SupplierID <= 0:
		return apperr.InvalidField("supplier_id", "supplier_id must be positive")
	case in.WarehouseID <= 0:
		return apperr.InvalidField("warehouse_id", "warehouse_id must be positive")
	case !input.OptionalPrintable(in.Note, 200):
		return apperr.InvalidField("note", "note may hold up to 200 printable characters")
	case len(in.Lines) == 0 || len(in.Lines) > 500:
		return apperr.InvalidField("lines", "a return has 1 to 500 lines")
	}
	for i, l := range in.Lines {
		f := func(name string) string { return fulfillment.Field("lines", i, name) }
		switch {
		case (l.PurchaseOrderLineID > 0) == (l.ProductID > 0) || l.PurchaseOrderLineID < 0 || l.ProductID < 0:
			return apperr.InvalidField(f("purchase_order_line_id"), "a line names a purchase_order_line_id (rejected units) or a product_id (stock), not both")
		case l.Quantity < 1 || l.Quantity > fulfillment.MaxStockCap:
			return apperr.InvalidField(f("quantity"), "quantity must be between 1 and %d", fulfillment.MaxStockCap)
		case l.Reason != "" && !l.Reason.valid():
			return apperr.InvalidField(f("reason"), "reason must be quality, damage, wrong_item, short_shelf_life or expired")
		case l.ProductID > 0 && l.Reason == "":
			return apperr.InvalidField(f("reason"), "stock going back needs a reason")
		case l.PurchaseOrderLineID > 0 && (l.Lot != "" || l.ExpiresOn != nil):
			return apperr.InvalidField(f("lot"), "rejected units have no lot: they never entered stock")
		case !input.OptionalPrintable(l.Lot, 40):
			return apperr.InvalidField(f("lot"), "lot may hold up to 40 printable characters")
		}
	}
	return nil
}

// SupplierReturn is a return document as stored.
type SupplierReturn struct {
	ID           int64                `db:"id" json:"id"`
	Number       string               `db:"number" json:"number"`
	RequestID    string               `db:"request_key" json:"request_id"`
	WarehouseID  int64                `db:"warehouse_id" json:"warehouse_id"`
	SupplierID   int64                `db:"supplier_id" json:"supplier_id"`
	SupplierName string               `db:"supplier_name" json:"supplier_name"`
	Note         string               `db:"note" json:"note"`
	Units        int64                `db:"units" json:"units"`
	AmountFen    int64                `db:"amount_fen" json:"amount_fen"`
	CreatedBy    string               `db:"created_by" json:"created_by"`
	CreatedAt    time.Time            `db:"created_at" json:"created_at"`
	Lines        []SupplierReturnLine `db:"-" json:"lines"`
}

// SupplierReturnLine is one line of a return.
type SupplierReturnLine struct {
	ID                  int64             `db:"id" json:"id"`
	Source              string            `db:"source" json:"source" enum:"rejected,stock"`
	PurchaseOrderLineID *int64            `db:"purchase_order_line_id" json:"purchase_order_line_id,omitempty"`
	PurchaseOrder       string            `db:"purchase_order" json:"purchase_order,omitempty" doc:"The number of the purchase order the rejected units came on."`
	ProductID           int64             `db:"product_id" json:"product_id"`
	SKU                 string            `db:"sku" json:"sku"`
	Name                string            `db:"name" json:"name"`
	Unit                string            `db:"unit" json:"unit"`
	Reason              ReturnReason      `db:"reason" json:"reason"`
	Lot                 string            `db:"lot" json:"lot"`
	ExpiresOn           *fulfillment.Date `db:"expires_on" json:"expires_on,omitempty"`
	Quantity            int64             `db:"quantity" json:"quantity"`
	PriceFen            int64             `db:"price_fen" json:"price_fen"`
	AmountFen           int64             `db:"amount_fen" json:"amount_fen"`

	unwrite int64 // units of an expired return taken back from the lot's write-off
}

// Errors of returns.
var (
	ErrRequestReused        = apperr.Errorf(apperr.Conflict, "request_id_conflict", "this request_id was used for a different return")
	ErrReturnNotFound       = apperr.Errorf(apperr.NotFound, "supplier_return_not_found", "return to supplier not found")
	ErrReturnBeyondRejected = apperr.Errorf(apperr.Unprocessable, "return_exceeds_rejected", "more units than the dock rejected and not yet returned")
	ErrReturnBeyondStock    = apperr.Errorf(apperr.Unprocessable, "return_exceeds_stock", "more units than the lot holds")
	ErrReturnBeyondSupplied = apperr.Errorf(apperr.Unprocessable, "return_exceeds_supplied",
		"more units than this supplier delivered into the lot and has not had back")
	ErrNotSupplied   = apperr.Errorf(apperr.Unprocessable, "not_supplied", "the supplier has no supply terms for this product")
	ErrOtherSupplier = apperr.Errorf(apperr.Unprocessable, "other_supplier", "the purchase-order line belongs to another supplier or warehouse")
)

const returnSelect = `SELECT r.id, r.number, r.request_key, r.warehouse_id, r.supplier_id, s.name AS supplier_name, r.note, r.units, r.amount_fen,
	r.created_by, r.created_at FROM supplier_returns r JOIN suppliers s ON s.id = r.supplier_id`

// GetReturn loads a return with its lines.
func GetReturn(ctx context.Context, q sqlx.QueryerContext, id int64) (SupplierReturn, error) {
	r, err := pg.GetOne[SupplierReturn](ctx, q, ErrReturnNotFound, returnSelect+` WHERE r.id = $1`, id)
	if err != nil {
		return r, err
	}
	r.Lines = []SupplierReturnLine{}
	err = sqlx.SelectContext(ctx, q, &r.Lines, `SELECT l.id, l.source, l.purchase_order_line_id, coalesce(o.number, '') AS purchase_order,
			l.product_id, l.sku, l.name, l.unit, l.reason, l.lot, l.expires_on, l.quantity, l.price_fen, l.amount_fen
		FROM supplier_return_lines l LEFT JOIN purchase_order_lines pl ON pl.id = l.purchase_order_line_id
		LEFT JOIN purchase_orders o ON o.id = pl.purchase_order_id WHERE l.return_id = $1 ORDER BY l.id`, id)
	return r, err
}

// ReturnList is returns to supplier, newest first, without their lines; a
// listing's page says where the next starts (its after_id).
type ReturnList struct {
	Returns []SupplierReturn `json:"returns"`
	NextID  int64            `json:"next_after_id,omitempty"`
	HasMore bool             `json:"has_more,omitempty"`
}

// ListReturns returns a page of the returns, newest first (those before
// afterID when it is not 0; at most limit, 200 when 0); of one supplier
// when supplierID is not 0.
func ListReturns(ctx context.Context, q sqlx.QueryerContext, supplierID, afterID int64, limit int) (ReturnList, error) {
	size := fulfillment.PageSize(limit, 200)
	rows := []SupplierReturn{}
	err := sqlx.SelectContext(ctx, q, &rows, returnSelect+` WHERE ($1::bigint = 0 OR r.supplier_id = $1) AND ($2::bigint = 0 OR r.id < $2)
		ORDER BY r.id DESC LIMIT $3`, supplierID, afterID, size+1)
	for i := range rows {
		rows[i].Lines = []SupplierReturnLine{}
	}
	var out ReturnList
	out.Returns, out.NextID, out.HasMore = fulfillment.CutPage(rows, size, func(r SupplierReturn) int64 { return r.ID })
	return out, err
}

// CreateReturn records a return to supplier in one transaction: the
// document, its lines, and the stock its stock lines take out. The same
// request_id again answers the return it made (replayed true).
func (s *Service) CreateReturn(ctx context.Context, in ReturnInput, by string) (out SupplierReturn, replayed bool, err error) {
	if err := in.Validate(); err != nil {
		return out, false, err
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		out, replayed, err = s.createReturn(ctx, tx, in, by, s.clock.Now())
		return err
	})
	return out, replayed, err
}

func (s *Service) createReturn(ctx context.Context, tx *sqlx.Tx, in ReturnInput, by string, now time.Time) (SupplierReturn, bool, error) {
	wh, err := pickup.GetWarehouse(ctx, tx, in.WarehouseID)
	if err != nil {
		return SupplierReturn{}, false, err
	}
	// One lock per warehouse orders every command taking units out of its
	// stock, and with it the returns' numbers and the replay check.
	if err := stock.LockStock(ctx, tx, wh.ID); err != nil {
		return SupplierReturn{}, false, err
	}
	hash := in.hash()
	if r, found, err := replay(ctx, tx, in, hash); found || err != nil {
		return r, found, err
	}
	sup, err := supply.GetSupplier(ctx, tx, in.SupplierID)
	if errors.Is(err, supply.ErrSupplierNotFound) {
		return SupplierReturn{}, false, supply.ErrUnknownSupplier
	}
	if err != nil {
		return SupplierReturn{}, false, err
	}
	lines := make([]SupplierReturnLine, 0, len(in.Lines))
	taken := map[string]int64{} // units this return already takes, per PO line or lot
	for i, l := range in.Lines {
		var line SupplierReturnLine
		var err error
		if l.PurchaseOrderLineID > 0 {
			line, err = rejectedLine(ctx, tx, sup.ID, wh.ID, l, taken)
		} else {
			line, err = stockLine(ctx, tx, sup.ID, wh.ID, l, taken)
		}
		if err != nil {
			var e *apperr.Error
			if errors.As(err, &e) && e.Field == "" {
				return SupplierReturn{}, false, e.With("line", i)
			}
			return SupplierReturn{}, false, err
		}
		line.AmountFen = line.Quantity * line.PriceFen
		lines = append(lines, line)
	}
	loc, err := wh.Location()
	if err != nil {
		return SupplierReturn{}, false, err
	}
	prefix := "RT-" + wh.Code + "-" + now.In(loc).Format("20060102") + "-"
	var seq int64
	if err := tx.GetContext(ctx, &seq, `SELECT count(*) + 1 FROM supplier_returns WHERE warehouse_id = $1 AND starts_with(number, $2)`,
		wh.ID, prefix); err != nil {
		return SupplierReturn{}, false, err
	}
	number := fmt.Sprintf("%s%03d", prefix, seq)
	var units, amount int64
	for _, l := range lines {
		units, amount = units+l.Quantity, amount+l.AmountFen
	}
	// The stock lock orders one warehouse's returns; a return of another
	// warehouse under the same request_id is met here, and waited for.
	var id int64
	err = tx.GetContext(ctx, &id, `INSERT INTO supplier_returns (number, request_key, request_hash, warehouse_id, supplier_id, note,
			units, amount_fen, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
		ON CONFLICT (request_key) DO NOTHING RETURNING id`,
		number, in.RequestID, hash, wh.ID, sup.ID, in.Note, units, amount, by, now)
	if errors.Is(err, sql.ErrNoRows) {
		r, _, err := replay(ctx, tx, in, hash)
		return r, true, err
	}
	if err != nil {
		return SupplierReturn{}, false, err
	}
	for i, l := range lines {
		if _, err := tx.ExecContext(ctx, `INSERT INTO supplier_return_lines (return_id, source, purchase_order_line_id, product_id, sku, name, unit,
				reason, lot, expires_on, quantity, price_fen, amount_fen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			id, l.Source, l.PurchaseOrderLineID, l.ProductID, l.SKU, l.Name, l.Unit, l.Reason, l.Lot, l.ExpiresOn, l.Quantity, l.PriceFen, l.AmountFen); err != nil {
			return SupplierReturn{}, false, err
		}
		if l.Source == ReturnFromStock {
			// One source per line: two lines of one lot are two movements.
			source := "return:" + number + ":" + strconv.Itoa(i)
			if l.unwrite > 0 {
				if err := stock.Move(ctx, tx, stock.Movement{Warehouse: wh.ID, Product: l.ProductID, Lot: l.Lot, ExpiresOn: l.ExpiresOn,
					Kind: stock.MoveWrittenOff, Quantity: l.unwrite, Source: source}, now); err != nil {
					return SupplierReturn{}, false, err
				}
			}
			if err := stock.Move(ctx, tx, stock.Movement{Warehouse: wh.ID, Product: l.ProductID, Lot: l.Lot, ExpiresOn: l.ExpiresOn,
				Kind: stock.MoveReturnedToSupplier, Quantity: -l.Quantity, Source: source}, now); err != nil {
				return SupplierReturn{}, false, err
			}
		}
	}
	r, err := GetReturn(ctx, tx, id)
	return r, false, err
}

// replay finds the return made under in's request_id: the same request
// again is answered with it, another request is refused. A return made
// before request hashes were kept is matched on warehouse and supplier.
func replay(ctx context.Context, tx *sqlx.Tx, in ReturnInput, hash []byte) (SupplierReturn, bool, error) {
	var prior struct {
		ID          int64  `db:"id"`
		Hash        []byte `db:"request_hash"`
		WarehouseID int64  `db:"warehouse_id"`
		SupplierID  int64  `db:"supplier_id"`
	}
	err := tx.GetContext(ctx, &prior, `SELECT id, request_hash, warehouse_id, supplier_id FROM supplier_returns WHERE request_key = $1`,
		in.RequestID)
	if errors.Is(err, sql.ErrNoRows) {
		return SupplierReturn{}, false, nil
	}
	if err != nil {
		return SupplierReturn{}, false, err
	}
	if prior.Hash != nil && !bytes.Equal(prior.Hash, hash) || prior.WarehouseID != in.WarehouseID || prior.SupplierID != in.SupplierID {
		return SupplierReturn{}, false, ErrRequestReused
	}
	r, err := GetReturn(ctx, tx, prior.ID)
	return r, true, err
}

// hash identifies the request under its request_id.
func (in ReturnInput) hash() []byte { return input.RequestHash(in) }

// rejectedLine checks a line returning rejected units: of a purchase-order
// line of this supplier and warehouse, no more than were rejected and not
// yet returned.
func rejectedLine(ctx context.Context, tx *sqlx.Tx, supplierID, warehouseID int64, in ReturnLineInput, taken map[string]int64) (SupplierReturnLine, error) {
	var row struct {
		SupplierID  int64  `db:"supplier_id"`
		WarehouseID int64  `db:"warehouse_id"`
		ProductID   int64  `db:"product_id"`
		SKU         string `db:"sku"`
		Name        string `db:"name"`
		Unit        string `db:"unit"`
		PriceFen    int64  `db:"price_fen"`
		Rejected    int64  `db:"rejected"`
		Returned    int64  `db:"returned"`
		Reason      string `db:"reason"`
	}
	err := tx.GetContext(ctx, &row, `SELECT o.supplier_id, o.warehouse_id, l.product_id, l.sku, l.name, l.unit, l.price_fen,
			(SELECT coalesce(sum(rejected), 0) FROM receiving_records WHERE purchase_order_line_id = l.id) AS rejected,
			(SELECT coalesce(sum(quantity), 0) FROM supplier_return_lines WHERE purchase_order_line_id = l.id) AS returned,
			coalesce((SELECT reason FROM receiving_records WHERE purchase_order_line_id = l.id AND reason <> ''
				GROUP BY reason ORDER BY sum(rejected) DESC, reason LIMIT 1), '') AS reason
		FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.purchase_order_id WHERE l.id = $1`, in.PurchaseOrderLineID)
	if errors.Is(err, sql.ErrNoRows) {
		return SupplierReturnLine{}, supply.ErrLineNotFound
	}
	if err != nil {
		return SupplierReturnLine{}, err
	}
	if row.SupplierID != supplierID || row.WarehouseID != warehouseID {
		return SupplierReturnLine{}, ErrOtherSupplier
	}
	key := "line:" + strconv.FormatInt(in.PurchaseOrderLineID, 10)
	left := row.Rejected - row.Returned - taken[key]
	if in.Quantity > left {
		return SupplierReturnLine{}, apperr.Errorf(apperr.Unprocessable, ErrReturnBeyondRejected.Code,
			"purchase-order line %d has %d rejected units not yet returned; %d asked", in.PurchaseOrderLineID, max(0, left), in.Quantity).
			With("left", max(0, left))
	}
	taken[key] += in.Quantity
	reason := in.Reason
	if reason == "" {
		reason = ReturnReason(row.Reason)
	}
	id := in.PurchaseOrderLineID
	return SupplierReturnLine{Source: ReturnFromRejected, PurchaseOrderLineID: &id, ProductID: row.ProductID, SKU: row.SKU, Name: row.Name,
		Unit: row.Unit, Reason: reason, Quantity: in.Quantity, PriceFen: row.PriceFen}, nil
}

// stockLine checks a line returning stock: a product the supplier has terms
// for (its price), no more units than the lot holds, nor than the supplier
// delivered into it and has not had back.
func stockLine(ctx context.Context, tx *sqlx.Tx, supplierID, warehouseID int64, in ReturnLineInput, taken map[string]int64) (SupplierReturnLine, error) {
	p, err := catalog.GetProduct(ctx, tx, in.ProductID)
	if errors.Is(err, catalog.ErrProductNotFound) {
		return SupplierReturnLine{}, apperr.Errorf(apperr.Unprocessable, "unknown_product", "no product has id %d", in.ProductID)
	}
	if err != nil {
		return SupplierReturnLine{}, err
	}
	var price int64
	err = tx.GetContext(ctx, &price, `SELECT price_fen FROM supply_terms WHERE product_id = $1 AND supplier_id = $2`, p.ID, supplierID)
	if errors.Is(err, sql.ErrNoRows) {
		return SupplierReturnLine{}, ErrNotSupplied
	}
	if err != nil {
		return SupplierReturnLine{}, err
	}
	ls, err := stock.Lots(ctx, tx, warehouseID, []int64{p.ID}, fulfillment.Date{})
	if err != nil {
		return SupplierReturnLine{}, err
	}
	var balance int64
	for _, l := range ls {
		if l.Lot == in.Lot && sameDay(l.ExpiresOn, in.ExpiresOn) {
			balance = l.Balance
		}
	}
	// Lots are shared by suppliers (ambient goods have none): what goes back
	// to this one, and is charged to it, is at most what it delivered into
	// the lot and has not had back.
	var supplied int64
	if err := tx.GetContext(ctx, &supplied, `SELECT
		coalesce((SELECT sum(r.accepted) FROM receiving_records r JOIN purchase_order_lines l ON l.id = r.purchase_order_line_id
			JOIN purchase_orders o ON o.id = l.purchase_order_id
			WHERE o.supplier_id = $1 AND o.warehouse_id = $2 AND l.product_id = $3 AND r.lot = $4 AND r.expires_on IS NOT DISTINCT FROM $5), 0)
		- coalesce((SELECT sum(x.quantity) FROM supplier_return_lines x JOIN supplier_returns t ON t.id = x.return_id
			WHERE t.supplier_id = $1 AND t.warehouse_id = $2 AND x.source = 'stock' AND x.product_id = $3 AND x.lot = $4
			AND x.expires_on IS NOT DISTINCT FROM $5), 0)`, supplierID, warehouseID, p.ID, in.Lot, in.ExpiresOn); err != nil {
		return SupplierReturnLine{}, err
	}
	// Expired goods the hourly job wrote off are still in the warehouse
	// until they go back: a return of expired goods may take them.
	var writtenOff int64
	if in.Reason == ReturnExpired {
		if writtenOff, err = stock.WrittenOff(ctx, tx, warehouseID, p.ID, in.Lot, in.ExpiresOn); err != nil {
			return SupplierReturnLine{}, err
		}
	}
	key := fmt.Sprintf("lot:%d:%s:%v", p.ID, in.Lot, in.ExpiresOn)
	left := balance + writtenOff - taken[key]
	if in.Quantity > left {
		return SupplierReturnLine{}, apperr.Errorf(apperr.Unprocessable, ErrReturnBeyondStock.Code,
			"lot %q of %s holds %d units; %d asked", in.Lot, p.SKU, max(0, left), in.Quantity).With("left", max(0, left))
	}
	if left = supplied - taken[key]; in.Quantity > left {
		return SupplierReturnLine{}, apperr.Errorf(apperr.Unprocessable, ErrReturnBeyondSupplied.Code,
			"the supplier delivered %d units of lot %q of %s not yet returned; %d asked", max(0, left), in.Lot, p.SKU, in.Quantity).
			With("left", max(0, left))
	}
	unwrite := max(0, taken[key]+in.Quantity-balance) - max(0, taken[key]-balance)
	taken[key] += in.Quantity
	return SupplierReturnLine{Source: ReturnFromStock, ProductID: p.ID, SKU: p.SKU, Name: p.Name, Unit: p.Unit, Reason: in.Reason,
		Lot: in.Lot, ExpiresOn: in.ExpiresOn, Quantity: in.Quantity, PriceFen: price, unwrite: unwrite}, nil
}

func sameDay(a, b *fulfillment.Date) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(b.Time))
}

// ReturnRejected returns every unit the dock rejected on a wave's purchase
// orders and that has not gone back yet: one return per supplier, in one
// transaction. Run again, it finds nothing left and makes nothing.
func (s *Service) ReturnRejected(ctx context.Context, waveID int64, by string) ([]SupplierReturn, error) {
	var out []SupplierReturn
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		out = []SupplierReturn{}
		w, err := wave.Get(ctx, tx, waveID)
		if err != nil {
			return err
		}
		if err := stock.LockStock(ctx, tx, w.WarehouseID); err != nil {
			return err
		}
		var left []struct {
			SupplierID int64 `db:"supplier_id"`
			LineID     int64 `db:"line_id"`
			Units      int64 `db:"units"`
		}
		if err := tx.SelectContext(ctx, &left, `SELECT o.supplier_id, l.id AS line_id,
				(SELECT coalesce(sum(rejected), 0) FROM receiving_records WHERE purchase_order_line_id = l.id)
				- (SELECT coalesce(sum(quantity), 0) FROM supplier_return_lines WHERE purchase_order_line_id = l.id) AS units
			FROM purchase_order_lines l JOIN purchase_orders o ON o.id = l.purchase_order_id
			WHERE o.wave_id = $1 ORDER BY o.supplier_id, l.id`, waveID); err != nil {
			return err
		}
		now := s.clock.Now()
		var in *ReturnInput
		flush := func() error {
			if in == nil || len(in.Lines) == 0 {
				return nil
			}
			r, _, err := s.createReturn(ctx, tx, *in, by, now)
			out = append(out, r)
			return err
		}
		for _, l := range left {
			if l.Units <= 0 {
				continue
			}
			if in == nil || in.SupplierID != l.SupplierID {
				if err := flush(); err != nil {
					return err
				}
				// What is left decides the key: a second run finds nothing,
				// a later rejection makes a new return.
				in = &ReturnInput{SupplierID: l.SupplierID, WarehouseID: w.WarehouseID, Note: fmt.Sprintf("波次 %d 拒收退回", waveID)}
			}
			in.Lines = append(in.Lines, ReturnLineInput{PurchaseOrderLineID: l.LineID, Quantity: l.Units})
			in.RequestID = fmt.Sprintf("wave:%d:supplier:%d:%s", waveID, l.SupplierID, now.Format(time.RFC3339Nano))
		}
		return flush()
	})
	return out, err
}

// returnSheet is a return as its supplier reads it.
func returnSheet(ctx context.Context, q sqlx.QueryerContext, id int64) (SupplierReturn, printout.ReturnSheet, error) {
	r, err := GetReturn(ctx, q, id)
	if err != nil {
		return r, printout.ReturnSheet{}, err
	}
	head, err := supply.DocumentHead(ctx, q, r.SupplierID, r.WarehouseID, r.Number, r.CreatedAt)
	if err != nil {
		return r, printout.ReturnSheet{}, err
	}
	s := printout.ReturnSheet{SupplierDoc: head, Note: r.Note, Units: r.Units, AmountFen: r.AmountFen}
	for _, l := range r.Lines {
		lot := l.Lot
		if l.ExpiresOn != nil {
			lot += " 至 " + l.ExpiresOn.String()
		}
		s.Lines = append(s.Lines, printout.ReturnLine{SKU: l.SKU, Name: l.Name, Unit: l.Unit, Reason: string(l.Reason), Lot: lot,
			PurchaseOrder: l.PurchaseOrder, Quantity: l.Quantity, PriceFen: l.PriceFen, AmountFen: l.AmountFen})
	}
	return r, s, nil
}

// ReturnDocument renders a return as "pdf" or "csv".
func (s *Service) ReturnDocument(ctx context.Context, id int64, format string) (SupplierReturn, []byte, error) {
	r, sheet, err := returnSheet(ctx, s.db, id)
	if err != nil {
		return r, nil, err
	}
	if format == "csv" {
		return r, sheet.CSV(), nil
	}
	f, err := s.supply.Fonts()
	if err != nil {
		return r, nil, err
	}
	b, err := sheet.PDF(f)
	return r, b, err
}
