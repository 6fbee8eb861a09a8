package supply

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/printout"
	"groupbuy/internal/apperr"
	"groupbuy/pickup"
)

// The supply side's documents: a purchase order as its supplier gets it
// (PDF and CSV, also sent with it), and the receiving sheets of a wave for
// the dock. They are rendered when asked: a purchase order never changes
// (a revision is a new order), so its bytes are the same each time; a
// receiving sheet shows the scans so far.

// Fonts returns the printouts' fonts, or 503 when they are not installed.
func (s *Service) Fonts() (*printout.Fonts, error) {
	f, err := s.opt.Fonts()
	if err != nil {
		return nil, apperr.Errorf(apperr.Unavailable, "fonts_missing", "printouts are unavailable: %v", err)
	}
	return f, nil
}

// place is where a supply document is addressed: the supplier, and the
// warehouse in its time zone.
type place struct {
	sup Supplier
	wh  pickup.Warehouse
	loc *time.Location
}

func placeOf(ctx context.Context, q sqlx.QueryerContext, supplierID, warehouseID int64) (place, error) {
	var p place
	var err error
	if p.sup, err = GetSupplier(ctx, q, supplierID); err != nil {
		return p, err
	}
	if p.wh, err = pickup.GetWarehouse(ctx, q, warehouseID); err != nil {
		return p, err
	}
	p.loc, err = p.wh.Location()
	return p, err
}

// doc is the head of a document about a wave's delivery date, numbered.
func (p place) doc(number string, version, waveID int64, date string, at time.Time) printout.SupplierDoc {
	return printout.SupplierDoc{Header: printout.Header{Warehouse: p.wh.Name, Date: date, WaveID: waveID, PrintedAt: at.In(p.loc)},
		Number: number, Version: version, Supplier: p.sup.Name, Contact: p.sup.Contact, Address: p.wh.Address}
}

// DocumentHead is the head of a document to a supplier that no wave
// dates (a return): numbered and dated when it was made, in the
// warehouse's time zone.
func DocumentHead(ctx context.Context, q sqlx.QueryerContext, supplierID, warehouseID int64, number string, at time.Time) (printout.SupplierDoc, error) {
	p, err := placeOf(ctx, q, supplierID, warehouseID)
	if err != nil {
		return printout.SupplierDoc{}, err
	}
	return p.doc(number, 0, 0, at.In(p.loc).Format(time.DateOnly), at), nil
}

// purchaseSheet is a purchase order as its supplier reads it; it is dated
// when the order was made, so every rendering is the same bytes.
func purchaseSheet(po PurchaseOrder, p place) printout.PurchaseSheet {
	s := printout.PurchaseSheet{SupplierDoc: p.doc(po.Number, po.Version, po.WaveID, po.DeliveryDate.String(), po.CreatedAt),
		ExpectedAt: po.ExpectedAt.In(p.loc), Units: po.Units, AmountFen: po.AmountFen}
	for _, l := range po.Lines {
		s.Lines = append(s.Lines, printout.PurchaseLine{SKU: l.SKU, Name: l.Name, Unit: l.Unit, CasePack: l.CasePack, Cases: l.Cases,
			Quantity: l.Quantity, PriceFen: l.PriceFen, AmountFen: l.AmountFen})
	}
	return s
}

// orderSheet loads a purchase order and its document.
func orderSheet(ctx context.Context, q sqlx.QueryerContext, id int64) (PurchaseOrder, printout.PurchaseSheet, error) {
	po, err := GetPurchaseOrder(ctx, q, id)
	if err != nil {
		return po, printout.PurchaseSheet{}, err
	}
	p, err := placeOf(ctx, q, po.SupplierID, po.WarehouseID)
	if err != nil {
		return po, printout.PurchaseSheet{}, err
	}
	return po, purchaseSheet(po, p), nil
}

// OrderDocument is a purchase order's CSV as its supplier gets it.
func OrderDocument(ctx context.Context, q sqlx.QueryerContext, id int64) (PurchaseOrder, []byte, error) {
	po, s, err := orderSheet(ctx, q, id)
	if err != nil {
		return po, nil, err
	}
	return po, s.CSV(), nil
}

// OrderPDF is a purchase order's PDF as its supplier gets it.
func (s *Service) OrderPDF(ctx context.Context, id int64) (PurchaseOrder, []byte, error) {
	po, sheet, err := orderSheet(ctx, s.db, id)
	if err != nil {
		return po, nil, err
	}
	f, err := s.Fonts()
	if err != nil {
		return po, nil, err
	}
	b, err := sheet.PDF(f)
	return po, b, err
}

// ReceivingSheets returns the dock's receiving sheets of a wave: one per
// supplier's latest purchase order (only supplierID's when not 0), each line
// with the scans' totals, rejection reasons and lots so far.
func (s *Service) ReceivingSheets(ctx context.Context, waveID, supplierID int64) ([]printout.ReceivingSheet, error) {
	wo, err := ListPurchaseOrders(ctx, s.db, waveID)
	if err != nil {
		return nil, err
	}
	reasons, lots, err := scanNotes(ctx, s.db, waveID)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	sheets := []printout.ReceivingSheet{}
	for _, po := range wo.Orders {
		if !po.Latest || (supplierID != 0 && po.SupplierID != supplierID) {
			continue
		}
		p, err := placeOf(ctx, s.db, po.SupplierID, po.WarehouseID)
		if err != nil {
			return nil, err
		}
		sh := printout.ReceivingSheet{SupplierDoc: p.doc(po.Number, po.Version, waveID, po.DeliveryDate.String(), now),
			ExpectedAt: po.ExpectedAt.In(p.loc), State: string(po.State)}
		for _, l := range po.Lines {
			sh.Lines = append(sh.Lines, printout.ReceivingLine{LineID: l.ID, SKU: l.SKU, Name: l.Name, Unit: l.Unit, Zone: string(l.Zone),
				Expected: l.Quantity, Arrived: l.Arrived, Accepted: l.Accepted, Rejected: l.Rejected,
				Reasons: strings.Join(reasons[l.ID], "; "), Lots: strings.Join(lots[l.ID], "; ")})
		}
		sheets = append(sheets, sh)
	}
	return sheets, nil
}

// ReceivingPDF renders receiving sheets into one document.
func (s *Service) ReceivingPDF(sheets []printout.ReceivingSheet) ([]byte, error) {
	f, err := s.Fonts()
	if err != nil {
		return nil, err
	}
	return printout.ReceivingSheets(f, s.clock.Now(), sheets)
}

// scanNotes sums a wave's scans per purchase-order line into the words the
// receiving sheet prints: units rejected per reason ("破损 2"), units
// accepted per lot ("E-1201 至 2026-12-11 ×12").
func scanNotes(ctx context.Context, q sqlx.QueryerContext, waveID int64) (reasons, lots map[int64][]string, err error) {
	const from = ` FROM receiving_records r JOIN purchase_order_lines l ON l.id = r.purchase_order_line_id
		JOIN purchase_orders o ON o.id = l.purchase_order_id WHERE o.wave_id = $1`
	var rows []struct {
		Line  int64  `db:"line"`
		Key   string `db:"key"`
		Units int64  `db:"units"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT r.purchase_order_line_id AS line, r.reason AS key, sum(r.rejected) AS units`+from+`
		AND r.reason <> '' GROUP BY 1, 2 HAVING sum(r.rejected) <> 0 ORDER BY 1, 2`, waveID); err != nil {
		return nil, nil, err
	}
	reasons = map[int64][]string{}
	for _, r := range rows {
		reasons[r.Line] = append(reasons[r.Line], fmt.Sprintf("%s %d", printout.RejectReasonName(r.Key), r.Units))
	}
	rows = rows[:0]
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT r.purchase_order_line_id AS line,
			trim(r.lot || coalesce(' 至 ' || to_char(r.expires_on, 'YYYY-MM-DD'), '')) AS key, sum(r.accepted) AS units`+from+`
		AND (r.lot <> '' OR r.expires_on IS NOT NULL) GROUP BY 1, r.lot, r.expires_on HAVING sum(r.accepted) <> 0
		ORDER BY 1, r.expires_on NULLS LAST, r.lot`, waveID); err != nil {
		return nil, nil, err
	}
	lots = map[int64][]string{}
	for _, r := range rows {
		lots[r.Line] = append(lots[r.Line], fmt.Sprintf("%s ×%d", r.Key, r.Units))
	}
	return reasons, lots, nil
}
