package lastmile

import (
	"context"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
)

// Outcome is what a wave's deliveries came to at the pickup points: the
// leaders' receipts, and the residents' collections of what was received.
type Outcome struct {
	Deliveries int64 `db:"deliveries" json:"deliveries"`
	Received   int64 `db:"received" json:"received" doc:"Deliveries the leaders have received."`
	// Units the leaders counted, of the deliveries received.
	UnitsExpected int64 `db:"units_expected" json:"units_expected"`
	UnitsReceived int64 `db:"units_received" json:"units_received"`
	UnitsMissing  int64 `db:"units_missing" json:"units_missing"`
	UnitsDamaged  int64 `db:"units_damaged" json:"units_damaged"`
	// Parcel units ready for the residents (less what an after-sales claim
	// refunded before collection), and what became of them.
	UnitsReady     int64 `db:"units_ready" json:"units_ready"`
	UnitsCollected int64 `db:"units_collected" json:"units_collected"`
	UnitsReturned  int64 `db:"units_returned" json:"units_returned"`
	Residents      int64 `db:"residents" json:"residents" doc:"Residents with a parcel."`
	// ResidentsCollected took all or part of their parcel.
	ResidentsCollected int64 `db:"residents_collected" json:"residents_collected"`
}

// WaveOutcome totals a wave's deliveries, receipts and parcels.
func WaveOutcome(ctx context.Context, q sqlx.QueryerContext, waveID int64, date fulfillment.Date) (Outcome, error) {
	var o Outcome
	err := sqlx.GetContext(ctx, q, &o, `SELECT
		(SELECT count(*) FROM deliveries WHERE wave_id = $1) AS deliveries,
		(SELECT count(*) FROM deliveries WHERE wave_id = $1 AND state = 'received') AS received,
		coalesce(sum(dl.expected), 0) AS units_expected, coalesce(sum(dl.received), 0) AS units_received,
		coalesce(sum(dl.missing), 0) AS units_missing, coalesce(sum(dl.damaged), 0) AS units_damaged
		FROM delivery_lines dl JOIN deliveries d ON d.id = dl.delivery_id WHERE d.wave_id = $1`, waveID)
	if err != nil {
		return o, err
	}
	// Only the parcels' columns: o keeps the receipts' totals. Units an
	// after-sales claim refunded before collection were never to be handed
	// over. The delivery date prunes parcel_lines' partitions to the night's.
	err = sqlx.GetContext(ctx, q, &o, `SELECT coalesce(sum(pl.ready - af.units), 0) AS units_ready,
		coalesce(sum(pl.ready - af.units) FILTER (WHERE pl.state = 'collected'), 0) AS units_collected,
		coalesce(sum(pl.ready - af.units) FILTER (WHERE pl.state = 'returned'), 0) AS units_returned,
		count(DISTINCT pl.resident_id) AS residents,
		count(DISTINCT pl.resident_id) FILTER (WHERE pl.state = 'collected') AS residents_collected
		FROM parcel_lines pl `+commission.RefundedBeforeCollection+` JOIN deliveries d ON d.id = pl.delivery_id
		WHERE d.wave_id = $1 AND pl.delivery_date = $2`, waveID, date)
	return o, err
}
