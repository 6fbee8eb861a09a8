package supply

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
)

// RejectReason is why the dock refused units (拒收).
type RejectReason string

// Reasons for rejecting units at the dock.
const (
	RejectQuality        RejectReason = "quality"
	RejectDamage         RejectReason = "damage"
	RejectWrongItem      RejectReason = "wrong_item"
	RejectShortShelfLife RejectReason = "short_shelf_life"
)

func (r RejectReason) Valid() bool {
	switch r {
	case RejectQuality, RejectDamage, RejectWrongItem, RejectShortShelfLife:
		return true
	}
	return false
}

// Scan is one scan at the dock on a purchase-order line: units arrived,
// accepted into stock and rejected with a reason; chilled and frozen goods
// name their lot and expiry date. A correction is another scan with
// negative or adjusting quantities.
type Scan struct {
	ScanID    string            `json:"scan_id" max:"100" doc:"The scanner's id of this scan; the same scan sent twice counts once."`
	Arrived   int64             `json:"arrived" doc:"Units that came off the truck: accepted + rejected. Negative corrects an earlier scan."`
	Accepted  int64             `json:"accepted"`
	Rejected  int64             `json:"rejected"`
	Reason    RejectReason      `json:"reason,omitempty" enum:"quality,damage,wrong_item,short_shelf_life" doc:"Why units were rejected; required when rejected is not 0."`
	Lot       string            `json:"lot,omitempty" max:"40" doc:"The lot (批次); required for chilled and frozen goods accepted."`
	ExpiresOn *fulfillment.Date `json:"expires_on,omitempty" doc:"The lot's expiry date; required for chilled and frozen goods accepted."`
}

// Validate checks a receipt on its own.
func (r *Scan) Validate() error {
	lim := int64(fulfillment.MaxStockCap)
	switch {
	case !input.Printable(r.ScanID, 100):
		return apperr.InvalidField("scan_id", "scan_id is required: up to 100 printable characters")
	case r.Arrived < -lim || r.Arrived > lim:
		return apperr.InvalidField("arrived", "arrived must be between %d and %d", -lim, lim)
	case r.Accepted < -lim || r.Accepted > lim:
		return apperr.InvalidField("accepted", "accepted must be between %d and %d", -lim, lim)
	case r.Rejected < -lim || r.Rejected > lim:
		return apperr.InvalidField("rejected", "rejected must be between %d and %d", -lim, lim)
	case r.Arrived != r.Accepted+r.Rejected:
		return apperr.InvalidField("arrived", "arrived (%d) must be accepted (%d) + rejected (%d)", r.Arrived, r.Accepted, r.Rejected)
	case r.Arrived == 0 && r.Accepted == 0:
		return apperr.InvalidField("arrived", "a scan records some units")
	case r.Rejected != 0 && !r.Reason.Valid():
		return apperr.InvalidField("reason", "rejected units need a reason: quality, damage, wrong_item or short_shelf_life")
	case r.Rejected == 0 && r.Reason != "":
		return apperr.InvalidField("reason", "a reason goes with rejected units only")
	case !input.OptionalPrintable(r.Lot, 40):
		return apperr.InvalidField("lot", "lot may hold up to 40 printable characters")
	}
	return nil
}

// ScanRecord is a stored scan with the totals of its line after it.
type ScanRecord struct {
	ScanEntry
	Line      PurchaseOrderLine `db:"-" json:"line" doc:"The line's totals after this scan."`
	Tolerance int64             `db:"tolerance" json:"tolerance" doc:"Units the line may accept beyond what was ordered."`
}

// ScanEntry is one scan as the dock recorded it (append-only).
type ScanEntry struct {
	ID         int64             `db:"id" json:"id"`
	ScanID     string            `db:"scan_id" json:"scan_id"`
	LineID     int64             `db:"purchase_order_line_id" json:"purchase_order_line_id"`
	Arrived    int64             `db:"arrived" json:"arrived"`
	Accepted   int64             `db:"accepted" json:"accepted"`
	Rejected   int64             `db:"rejected" json:"rejected"`
	Reason     RejectReason      `db:"reason" json:"reason,omitempty"`
	Lot        string            `db:"lot" json:"lot,omitempty"`
	ExpiresOn  *fulfillment.Date `db:"expires_on" json:"expires_on,omitempty"`
	RecordedBy string            `db:"recorded_by" json:"recorded_by"`
	RecordedAt time.Time         `db:"recorded_at" json:"recorded_at"`
}

const recordCols = `id, scan_id, purchase_order_line_id, arrived, accepted, rejected, reason, lot, expires_on, recorded_by, recorded_at`

// Receive records one scan on a purchase-order line in one transaction:
// the units counted, the accepted ones into stock under their lot. The same
// scan id again answers the first record (replayed true) and counts nothing;
// with other quantities it is 409. On a closed order it is 409; accepting
// beyond the order and its tolerance is 422.
//
// The transaction is one statement, supply_receive (migration 00061): the
// dock's scans come in bursts from several scanners, and a round trip per
// step was most of a scan's time on a busy machine. The rules checked under
// the line's lock live there; Receive turns its answer into errors.
func (s *Service) Receive(ctx context.Context, lineID int64, r Scan, by string) (ScanRecord, bool, error) {
	if err := r.Validate(); err != nil {
		return ScanRecord{}, false, err
	}
	var out struct {
		Outcome string `db:"outcome"`
		ScanRecord
		Line PurchaseOrderLine `db:"line"`
	}
	if err := s.db.GetContext(ctx, &out, receiveQuery, r.ScanID, lineID, r.Arrived, r.Accepted, r.Rejected, r.Reason,
		r.Lot, r.ExpiresOn, by, s.clock.Now(), s.opt.OverPercent, s.opt.OverCases); err != nil {
		return ScanRecord{}, false, err
	}
	rec, line := out.ScanRecord, out.Line
	rec.Line = line
	switch out.Outcome {
	case "recorded":
		return rec, false, nil
	case "replayed":
		if !rec.same(lineID, r) {
			return ScanRecord{}, false, ErrScanConflict
		}
		return rec, true, nil
	case "conflict":
		return ScanRecord{}, false, ErrScanConflict
	case "no_line":
		return ScanRecord{}, false, ErrLineNotFound
	case "closed":
		return ScanRecord{}, false, ErrClosed
	case "superseded":
		return ScanRecord{}, false, ErrSuperseded
	case "need_lot":
		return ScanRecord{}, false, apperr.InvalidField("lot", "%s goods need their lot", line.Zone)
	case "need_expiry":
		return ScanRecord{}, false, apperr.InvalidField("expires_on", "%s goods need their expiry date", line.Zone)
	case "below_zero":
		return ScanRecord{}, false, ErrBelowZero.With("line", line)
	case "expired":
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrExpiredOnArrival.Code,
			"lot %q of %s expires on %s, before the delivery date: reject the units as short_shelf_life", r.Lot, line.SKU, r.ExpiresOn)
	case "not_in_lot":
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrNotInLot.Code,
			"line %d did not put %d units into lot %q with this expiry: a correction takes units out of the lot they went into", lineID, -r.Accepted, r.Lot)
	case "beyond_stock":
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrCorrectionSpent.Code,
			"lot %q of %s no longer holds the %d units the correction takes out: they were allocated or returned", r.Lot, line.SKU, -r.Accepted)
	case "returned":
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrCorrectionSpent.Code,
			"line %d's rejected units have gone back to the supplier: %d cannot be taken back", lineID, -r.Rejected)
	case "over":
		allowed := line.Quantity + rec.Tolerance
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrOverDelivery.Code,
			"line %d ordered %d units and may accept up to %d; %d accepted with this scan", lineID, line.Quantity, allowed,
			line.Accepted+r.Accepted).With("allowed", allowed)
	}
	// An outcome a later schema added, met by this older server during a
	// rolling deploy: a refusal that names it, not a 500.
	return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrScanRefused.Code, "the scan was refused: %s", out.Outcome)
}

// receiveQuery calls supply_receive and names its answer for ScanRecord; a
// refused scan has no record, and no line when the line is unknown.
const receiveQuery = `SELECT outcome, coalesce(r_id, 0) AS id, coalesce(r_scan, '') AS scan_id,
		coalesce(r_line, 0) AS purchase_order_line_id, coalesce(r_arrived, 0) AS arrived, coalesce(r_accepted, 0) AS accepted,
		coalesce(r_rejected, 0) AS rejected, coalesce(r_reason, '') AS reason, coalesce(r_lot, '') AS lot, r_expires AS expires_on,
		coalesce(r_by, '') AS recorded_by, coalesce(r_at, 'epoch') AS recorded_at, coalesce(l_tolerance, 0) AS tolerance,
		coalesce(l_id, 0) AS "line.id", coalesce(l_product, 0) AS "line.product_id", coalesce(l_sku, '') AS "line.sku",
		coalesce(l_name, '') AS "line.name", coalesce(l_unit, '') AS "line.unit", coalesce(l_zone, '') AS "line.zone",
		coalesce(l_case_pack, 0) AS "line.case_pack", coalesce(l_cases, 0) AS "line.cases", coalesce(l_quantity, 0) AS "line.quantity",
		coalesce(l_price, 0) AS "line.price_fen", coalesce(l_amount, 0) AS "line.amount_fen", coalesce(l_arrived, 0) AS "line.arrived",
		coalesce(l_accepted, 0) AS "line.accepted", coalesce(l_rejected, 0) AS "line.rejected"
	FROM supply_receive($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// same reports whether a stored scan says what r says on line.
func (p ScanRecord) same(line int64, r Scan) bool {
	sameDate := (p.ExpiresOn == nil) == (r.ExpiresOn == nil) && (p.ExpiresOn == nil || p.ExpiresOn.Equal(r.ExpiresOn.Time))
	return p.LineID == line && p.Arrived == r.Arrived && p.Accepted == r.Accepted && p.Rejected == r.Rejected &&
		p.Reason == r.Reason && p.Lot == r.Lot && sameDate
}

// ListScans returns the scans of a purchase order, in the order recorded.
func ListScans(ctx context.Context, q sqlx.QueryerContext, poID int64) ([]ScanEntry, error) {
	out := []ScanEntry{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT r.`+recordCols[len("id, "):]+`, r.id FROM receiving_records r
		JOIN purchase_order_lines l ON l.id = r.purchase_order_line_id WHERE l.purchase_order_id = $1 ORDER BY r.id`, poID)
	if err != nil {
		return nil, fmt.Errorf("list receipts: %w", err)
	}
	return out, nil
}
