package supply

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
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
	Tolerance int64             `db:"-" json:"tolerance" doc:"Units the line may accept beyond what was ordered."`
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
func (s *Service) Receive(ctx context.Context, lineID int64, r Scan, by string) (rec ScanRecord, replayed bool, err error) {
	if err := r.Validate(); err != nil {
		return rec, false, err
	}
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		rec, replayed, err = s.receive(ctx, tx, lineID, r, by)
		return err
	})
	return rec, replayed, err
}

func (s *Service) receive(ctx context.Context, tx *sqlx.Tx, lineID int64, r Scan, by string) (ScanRecord, bool, error) {
	var poID int64
	err := tx.GetContext(ctx, &poID, `SELECT purchase_order_id FROM purchase_order_lines WHERE id = $1`, lineID)
	if errors.Is(err, sql.ErrNoRows) {
		return ScanRecord{}, false, ErrLineNotFound
	}
	if err != nil {
		return ScanRecord{}, false, err
	}
	// A scan sent again is answered before any lock: its record is there.
	if prev, found, err := s.replay(ctx, tx, lineID, r); found || err != nil {
		return prev, found, err
	}
	// The order's lock puts its scans in a row, so the totals checked are the
	// totals written; a repeated scan racing the first finds it under it.
	po, lockErr := s.lockScanned(ctx, tx, poID)
	if prev, found, err := s.replay(ctx, tx, lineID, r); found || err != nil {
		return prev, found, err
	}
	if lockErr != nil {
		return ScanRecord{}, false, lockErr
	}
	var line PurchaseOrderLine
	for _, l := range po.Lines {
		if l.ID == lineID {
			line = l
		}
	}
	if line.Zone != fulfillment.Ambient && r.Accepted > 0 {
		switch {
		case r.Lot == "":
			return ScanRecord{}, false, apperr.InvalidField("lot", "%s goods need their lot", line.Zone)
		case r.ExpiresOn == nil:
			return ScanRecord{}, false, apperr.InvalidField("expires_on", "%s goods need their expiry date", line.Zone)
		}
	}
	arrived, accepted, rejected := line.Arrived+r.Arrived, line.Accepted+r.Accepted, line.Rejected+r.Rejected
	if arrived < 0 || accepted < 0 || rejected < 0 {
		return ScanRecord{}, false, ErrBelowZero.With("line", line)
	}
	allowed := line.Quantity + s.opt.allowance(line.Quantity, line.CasePack)
	if r.Accepted > 0 && accepted > allowed {
		return ScanRecord{}, false, apperr.Errorf(apperr.Unprocessable, ErrOverDelivery.Code,
			"line %d ordered %d units and may accept up to %d; %d accepted with this scan", lineID, line.Quantity, allowed, accepted).
			With("allowed", allowed)
	}
	now := s.clock.Now()
	var rec ScanRecord
	if err := tx.GetContext(ctx, &rec, `INSERT INTO receiving_records (scan_id, purchase_order_line_id, arrived, accepted, rejected, reason,
			lot, expires_on, recorded_by, recorded_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING `+recordCols,
		r.ScanID, lineID, r.Arrived, r.Accepted, r.Rejected, r.Reason, r.Lot, r.ExpiresOn, by, now); err != nil {
		if pg.IsUniqueViolation(err, "receiving_records_scan_id_key") {
			return ScanRecord{}, false, ErrScanConflict
		}
		return ScanRecord{}, false, err
	}
	if r.Accepted != 0 {
		if err := Move(ctx, tx, Movement{Warehouse: po.WarehouseID, Product: line.ProductID, Lot: r.Lot, ExpiresOn: r.ExpiresOn,
			Kind: MoveReceived, Quantity: r.Accepted, Source: "receiving:" + strconv.FormatInt(rec.ID, 10)}, now); err != nil {
			return ScanRecord{}, false, err
		}
	}
	// The line's totals after the scan are those under the lock plus it.
	line.Arrived, line.Accepted, line.Rejected = arrived, accepted, rejected
	rec.Line, rec.Tolerance = line, s.opt.allowance(line.Quantity, line.CasePack)
	return rec, false, nil
}

// replay answers a scan whose id is recorded already: the first record
// (found true), or 409 when it said something else.
func (s *Service) replay(ctx context.Context, tx *sqlx.Tx, lineID int64, r Scan) (ScanRecord, bool, error) {
	var prev ScanRecord
	err := tx.GetContext(ctx, &prev, `SELECT `+recordCols+` FROM receiving_records WHERE scan_id = $1`, r.ScanID)
	if errors.Is(err, sql.ErrNoRows) {
		return prev, false, nil
	}
	if err != nil {
		return prev, false, err
	}
	if !prev.same(lineID, r) {
		return prev, false, ErrScanConflict
	}
	prev, err = s.withLine(ctx, tx, prev)
	return prev, true, err
}

// same reports whether a stored scan says what r says on line.
func (p ScanRecord) same(line int64, r Scan) bool {
	sameDate := (p.ExpiresOn == nil) == (r.ExpiresOn == nil) && (p.ExpiresOn == nil || p.ExpiresOn.Equal(r.ExpiresOn.Time))
	return p.LineID == line && p.Arrived == r.Arrived && p.Accepted == r.Accepted && p.Rejected == r.Rejected &&
		p.Reason == r.Reason && p.Lot == r.Lot && sameDate
}

// withLine adds the line's totals and tolerance to a record.
func (s *Service) withLine(ctx context.Context, q sqlx.QueryerContext, rec ScanRecord) (ScanRecord, error) {
	err := sqlx.GetContext(ctx, q, &rec.Line, lineSelect+` WHERE l.id = $1 GROUP BY l.id`, rec.LineID)
	rec.Tolerance = s.opt.allowance(rec.Line.Quantity, rec.Line.CasePack)
	return rec, err
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
