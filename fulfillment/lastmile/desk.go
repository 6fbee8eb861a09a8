package lastmile

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/ratelimit"
	"groupbuy/pickup"
)

// Desk is the pickup desk, where residents collect their parcels (核销): leaders verify
// pickup codes and mark lines collected; the evening sweep reminds and,
// after a few days, returns what nobody collected.
type Desk struct {
	db      *sqlx.DB
	clock   clock.Clock
	limiter *ratelimit.Limiter
	log     *slog.Logger
	opt     DeskOptions
	codes   *pickup.Codes
	parcels *pg.Prepared
}

// DefaultReturnAfterDays is DeskOptions.ReturnAfterDays when none is given.
const DefaultReturnAfterDays = 3

// DeskOptions tune reminders and returns.
type DeskOptions struct {
	// ReturnAfterDays: parcels still waiting at the end of the Nth day after
	// delivery go back to the warehouse and are refunded
	// (DefaultReturnAfterDays).
	ReturnAfterDays int
	// RemindAt is the local time of the evening reminder (default 19:00);
	// reminders go out during the two hours after it.
	RemindAt clock.TimeOfDay
	// Metrics counts the returns' refunds and the notices; nil fields: nothing.
	Metrics refund.Metrics
}

// NewDesk returns the pickup desk; limiter counts wrong codes per leader.
func NewDesk(db *sqlx.DB, clk clock.Clock, limiter *ratelimit.Limiter, log *slog.Logger, opt DeskOptions) *Desk {
	if opt.ReturnAfterDays <= 0 {
		opt.ReturnAfterDays = DefaultReturnAfterDays
	}
	if opt.RemindAt.IsZero() {
		opt.RemindAt = clock.NewTimeOfDay(19, 0)
	}
	return &Desk{db: db, clock: clk, limiter: limiter, log: log, opt: opt, codes: pickup.NewCodes(db),
		parcels: pg.NewPrepared(db, parcelSelect+` ORDER BY pl.delivery_date, pl.order_line_id`)}
}

// ParcelState is where one parcel line stands.
type ParcelState string

// Parcel line states.
const (
	ParcelReady     ParcelState = "ready"
	ParcelCollected ParcelState = "collected"
	ParcelReturned  ParcelState = "returned"
)

// Parcel is what one resident collects at a point for one delivery date.
type Parcel struct {
	ResidentID   int64            `json:"resident_id"`
	ResidentName string           `json:"resident_name"`
	Phone        string           `json:"phone"` // masked: 138****5678
	DeliveryDate fulfillment.Date `json:"delivery_date"`
	Lines        []ParcelLine     `json:"lines"`
}

// ParcelLine is one order line of a parcel.
type ParcelLine struct {
	OrderLineID  int64            `db:"order_line_id" json:"order_line_id"`
	OrderID      int64            `db:"order_id" json:"order_id"`
	ResidentID   int64            `db:"resident_id" json:"-"`
	DeliveryDate fulfillment.Date `db:"delivery_date" json:"-"`
	SKU          string           `db:"sku" json:"sku"`
	Name         string           `db:"name" json:"name"`
	Unit         string           `db:"unit" json:"unit"`
	Quantity     int64            `db:"ready" json:"quantity" doc:"Units to hand over (or handed over): delivered, less those refunded after sale before collection."`
	Refunded     int64            `db:"refunded" json:"refunded_after_sale,omitempty" doc:"Units an approved after-sales claim refunded before collection: the resident does not get them."`
	State        ParcelState      `db:"state" json:"state"`
	CollectedAt  *time.Time       `db:"collected_at" json:"collected_at,omitempty"`
}

// Errors of pickup.
var (
	ErrUnknownCode    = apperr.Errorf(apperr.NotFound, "unknown_code", "no parcel at this pickup point has this code")
	ErrUnknownLine    = apperr.Errorf(apperr.Unprocessable, "unknown_line", "the order line is not in this code's parcels")
	ErrParcelReturned = apperr.Errorf(apperr.Conflict, "parcel_returned", "the parcel was returned to the warehouse and refunded")
	ErrCodeAmbiguous  = apperr.Errorf(apperr.Conflict, "code_ambiguous",
		"the code opens parcels of more than one resident: check the resident's name and phone and name the order_line_ids to collect")
)

// maskPhone shows a leader enough of a phone to recognise the resident.
func maskPhone(p string) string {
	if len(p) < 7 {
		return p
	}
	return p[:3] + "****" + p[len(p)-4:]
}

// holders resolves a code at the leader's point, counting a wrong code
// against the leader's limit. Every attempt is counted before the lookup and
// a right code's attempt is given back, so a leader past the limit is
// refused before the lookup, even with many requests at once, and codes
// cannot be guessed by trying them all.
func (p *Desk) holders(ctx context.Context, q sqlx.QueryerContext, leaderID int64, code string) ([]pickup.CodeHolder, error) {
	if !pickup.ValidCodeFormat(code) {
		return nil, apperr.InvalidField("code", "code must be 6 digits")
	}
	key := strconv.FormatInt(leaderID, 10)
	now := p.clock.Now()
	if ok, retry := p.limiter.Take(ctx, key, now); !ok {
		return nil, ratelimit.ErrRateLimited.With("retry_after_s", int64(retry/time.Second)+1)
	}
	hs, err := p.codes.Holders(ctx, q, leaderID, code, now)
	if err == nil && len(hs) == 0 {
		return nil, ErrUnknownCode
	}
	p.limiter.Give(ctx, key, now) // a right code, or a lookup that failed: no wrong code
	return hs, err
}

// parcelSelect loads the parcel lines of the holders' residents and dates;
// the pairs are matched in Go, which keeps the plan simple and cheap.
const parcelSelect = `SELECT pl.order_line_id, ol.order_id, pl.resident_id, pl.delivery_date, p.sku, p.name, p.unit,
	pl.ready - af.units AS ready, af.units AS refunded, pl.state, pl.collected_at
	FROM parcel_lines pl ` + commission.RefundedBeforeCollection + `
	JOIN order_lines ol ON ol.id = pl.order_line_id AND ol.delivery_date = pl.delivery_date AND ol.delivery_date = ANY($3::date[])
	JOIN sale_items si ON si.id = ol.sale_item_id JOIN products p ON p.id = si.product_id
	WHERE pl.pickup_point_id = $1 AND pl.resident_id = ANY($2) AND pl.delivery_date = ANY($3::date[])`

// parcelArgs are parcelSelect's arguments: the holders' point, residents
// and nights. Every statement of the desk names the nights, so only their
// partitions are planned and read.
func parcelArgs(hs []pickup.CodeHolder) []any {
	return []any{hs[0].PointID, pq.Array(residentsOf(hs)), nightsOf(hs)}
}

func residentsOf(hs []pickup.CodeHolder) []int64 {
	rs := make([]int64, len(hs))
	for i, h := range hs {
		rs[i] = h.ResidentID
	}
	return rs
}

func nightsOf(hs []pickup.CodeHolder) fulfillment.Dates {
	ds := make(fulfillment.Dates, len(hs))
	for i, h := range hs {
		ds[i] = fulfillment.Date{Time: h.DeliveryDate}
	}
	return ds
}

// held reports whether line belongs to holder h.
func held(h pickup.CodeHolder, l ParcelLine) bool {
	return l.ResidentID == h.ResidentID && l.DeliveryDate.Equal(h.DeliveryDate)
}

// parcelsOf loads the parcels of the code's holders, by date.
func (p *Desk) parcelsOf(ctx context.Context, q sqlx.QueryerContext, hs []pickup.CodeHolder) ([]Parcel, error) {
	var lines []ParcelLine
	if err := p.parcels.Select(ctx, q, &lines, parcelArgs(hs)...); err != nil {
		return nil, err
	}
	out := []Parcel{}
	for _, h := range hs {
		pc := Parcel{ResidentID: h.ResidentID, ResidentName: h.Name, Phone: maskPhone(h.Phone), DeliveryDate: fulfillment.Date{Time: h.DeliveryDate}, Lines: []ParcelLine{}}
		for _, l := range lines {
			if held(h, l) {
				pc.Lines = append(pc.Lines, l)
			}
		}
		out = append(out, pc)
	}
	return out, nil
}

// Verify shows the parcels a pickup code opens at the leader's point.
func (p *Desk) Verify(ctx context.Context, leaderID int64, code string) ([]Parcel, error) {
	hs, err := p.holders(ctx, p.db, leaderID, code)
	if err != nil {
		return nil, err
	}
	return p.parcelsOf(ctx, p.db, hs)
}

// Collect marks a code's waiting parcel lines collected (all, or the lines
// named) and accrues the leader's commission on them, in one transaction.
// Lines already collected stay as they are, so a repeated confirmation
// changes nothing.
func (p *Desk) Collect(ctx context.Context, leaderID int64, code string, lineIDs []int64) ([]Parcel, error) {
	var out []Parcel
	err := pg.InTx(ctx, p.db, func(tx *sqlx.Tx) error {
		hs, err := p.holders(ctx, tx, leaderID, code)
		if err != nil {
			return err
		}
		var all []ParcelLine
		if err := tx.SelectContext(ctx, &all, parcelSelect+` ORDER BY pl.order_line_id FOR UPDATE OF pl`, parcelArgs(hs)...); err != nil {
			return err
		}
		var lines []ParcelLine
		for _, l := range all {
			if slices.ContainsFunc(hs, func(h pickup.CodeHolder) bool { return held(h, l) }) {
				lines = append(lines, l)
			}
		}
		// Codes issued before they were unique across dates may name two
		// residents: the leader then says whose lines go.
		if len(lineIDs) == 0 && slices.ContainsFunc(hs, func(h pickup.CodeHolder) bool { return h.ResidentID != hs[0].ResidentID }) {
			return ErrCodeAmbiguous
		}
		var take []int64
		for _, l := range lines {
			if l.State == ParcelReady && (len(lineIDs) == 0 || slices.Contains(lineIDs, l.OrderLineID)) {
				take = append(take, l.OrderLineID)
			}
		}
		for _, id := range lineIDs {
			i := slices.IndexFunc(lines, func(l ParcelLine) bool { return l.OrderLineID == id })
			switch {
			case i < 0:
				return ErrUnknownLine.With("order_line_id", id)
			case lines[i].State == ParcelReturned:
				return ErrParcelReturned.With("order_line_id", id)
			}
		}
		now, nights := p.clock.Now(), nightsOf(hs)
		if _, err := tx.ExecContext(ctx, `UPDATE parcel_lines SET state = 'collected', collected_at = $2
			WHERE order_line_id = ANY($1) AND delivery_date = ANY($3::date[]) AND state = 'ready'`, pq.Array(take), now, nights); err != nil {
			return err
		}
		if _, err := commission.AccrueCommission(ctx, tx, take, nights, now); err != nil {
			return err
		}
		out, err = p.parcelsOf(ctx, tx, hs)
		return err
	})
	return out, err
}
