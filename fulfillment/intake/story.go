package intake

import (
	"context"
	"database/sql"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
)

// The states an order passes through in the night, beyond the stored
// placed and cancelled (statusOf derives them on every read).
const (
	Confirmed       OrderStatus = "confirmed"        // ordering closed at cutoff; the warehouse works on it
	ShortShipped    OrderStatus = "short_shipped"    // allocation cut units the warehouse did not receive
	Delivered       OrderStatus = "delivered"        // the truck reached the pickup point
	ReadyForPickup  OrderStatus = "ready_for_pickup" // the leader received it; the resident may collect
	Collected       OrderStatus = "collected"        // the resident collected everything that came
	PartlyCollected OrderStatus = "partly_collected" // collected in part; the rest waits or went back
	Returned        OrderStatus = "returned"         // nobody collected it in time; sent back and refunded
)

// Units are units of an order line with their value, and when and why
// they came to be what they are.
type Units struct {
	Units     int64      `json:"units"`
	AmountFen int64      `json:"amount_fen"`
	Reason    string     `json:"reason,omitempty"` // a refund reason's code
	Why       string     `json:"why,omitempty"`    // the reason as the resident reads it
	At        *time.Time `json:"at,omitempty"`     // when
	State     string     `json:"state,omitempty"`  // a refund's payment state
}

// LineRefund is one refund of the line, with where its payment stands.
type LineRefund struct {
	ID        int64                    `db:"id" json:"id"`
	LineID    int64                    `db:"order_line_id" json:"-"`
	Reason    fulfillment.RefundReason `db:"reason" json:"reason"`
	Units     int64                    `db:"quantity" json:"units"`
	AmountFen int64                    `db:"amount_fen" json:"amount_fen"`
	State     fulfillment.RefundState  `db:"state" json:"state"`
	CreatedAt time.Time                `db:"created_at" json:"created_at"`
	PaidAt    *time.Time               `db:"paid_at" json:"paid_at,omitempty"`
}

// LineStory is what became of an order line: ordered, cut for shortage,
// missing or damaged at receipt, returned uncollected, refunded after
// sale, and what was ready and collected; each with its amount, reason and
// time. Absent parts did not happen.
type LineStory struct {
	Ordered   Units        `json:"ordered"`
	Cut       *Units       `json:"cut,omitempty"`
	Missing   *Units       `json:"missing,omitempty"`
	Damaged   *Units       `json:"damaged,omitempty"`
	Returned  *Units       `json:"returned,omitempty"`
	AfterSale *Units       `json:"after_sale,omitempty"`
	Ready     *Units       `json:"ready,omitempty"`
	Collected *Units       `json:"collected,omitempty"`
	Refunded  Units        `json:"refunded"` // every refund of the line together
	Refunds   []LineRefund `json:"refunds"`
}

// lineFacts are one line's rows in the night's tables: the shortage cut
// (night's line_cuts) and its parcel (lastmile's parcel_lines).
type lineFacts struct {
	LineID      int64          `db:"line_id"`
	Cut         int64          `db:"cut"`
	Ready       sql.NullInt64  `db:"ready"`
	ParcelState sql.NullString `db:"parcel_state"`
	ReadyAt     *time.Time     `db:"ready_at"`
	CollectedAt *time.Time     `db:"collected_at"`
	ReturnedAt  *time.Time     `db:"returned_at"`
}

// orderFacts are where an order's wave and delivery stand.
type orderFacts struct {
	OrderID       int64          `db:"order_id"`
	WaveState     sql.NullString `db:"wave_state"`
	DeliveryState sql.NullString `db:"delivery_state"`
}

// tellStories fills in each order's status and each line's story, in three
// read-only queries over the tables of the night (waves, deliveries,
// line_cuts, parcel_lines, refunds), whichever package owns them: the
// order's view is the one place that reads them together.
func tellStories(ctx context.Context, q sqlx.QueryerContext, orders []Order) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]int64, len(orders))
	var lineIDs []int64
	for i, o := range orders {
		ids[i] = o.ID
		for _, l := range o.Lines {
			lineIDs = append(lineIDs, l.ID)
		}
	}
	var of []orderFacts
	if err := sqlx.SelectContext(ctx, q, &of, `SELECT o.id AS order_id, w.state AS wave_state, d.state AS delivery_state
		FROM orders o LEFT JOIN waves w ON w.warehouse_id = o.warehouse_id AND w.delivery_date = o.delivery_date
		LEFT JOIN deliveries d ON d.wave_id = w.id AND d.pickup_point_id = o.pickup_point_id
		WHERE o.id = ANY($1)`, pq.Array(ids)); err != nil {
		return err
	}
	var lf []lineFacts
	if err := sqlx.SelectContext(ctx, q, &lf, `SELECT l.id AS line_id, coalesce(c.cut, 0) AS cut, p.ready, p.state AS parcel_state,
			p.ready_at, p.collected_at, p.returned_at
		FROM unnest($1::bigint[]) AS l(id) LEFT JOIN line_cuts c ON c.order_line_id = l.id
		LEFT JOIN parcel_lines p ON p.order_line_id = l.id AND p.delivery_date = ANY($2::date[])`, pq.Array(lineIDs), nightsOf(orders)); err != nil {
		return err
	}
	var refunds []LineRefund
	if err := sqlx.SelectContext(ctx, q, &refunds, `SELECT id, order_line_id, reason, quantity, amount_fen, state, created_at, paid_at
		FROM refunds WHERE order_line_id = ANY($1) ORDER BY id`, pq.Array(lineIDs)); err != nil {
		return err
	}
	orderOf := make(map[int64]orderFacts, len(of))
	for _, f := range of {
		orderOf[f.OrderID] = f
	}
	factsOf := make(map[int64]lineFacts, len(lf))
	for _, f := range lf {
		factsOf[f.LineID] = f
	}
	refundsOf := map[int64][]LineRefund{}
	for _, r := range refunds {
		r.CreatedAt = r.CreatedAt.UTC()
		refundsOf[r.LineID] = append(refundsOf[r.LineID], r)
	}
	for i := range orders {
		o := &orders[i]
		facts := make([]lineFacts, len(o.Lines))
		for j := range o.Lines {
			l := &o.Lines[j]
			facts[j] = factsOf[l.ID]
			l.Story = storyOf(*l, o.CreatedAt, facts[j], refundsOf[l.ID])
		}
		o.Status = statusOf(o.Status, orderOf[o.ID], facts)
	}
	return nil
}

// storyOf tells one line's story from its facts and refunds.
func storyOf(l OrderLine, ordered time.Time, f lineFacts, refunds []LineRefund) *LineStory {
	at := func(t time.Time) *time.Time { t = t.UTC(); return &t }
	s := &LineStory{Ordered: Units{Units: l.Quantity, AmountFen: l.AmountFen, At: at(ordered)}, Refunds: refunds}
	if s.Refunds == nil {
		s.Refunds = []LineRefund{}
	}
	for _, r := range refunds {
		u := &Units{Units: r.Units, AmountFen: r.AmountFen, Reason: string(r.Reason), Why: r.Reason.Text(), At: at(r.CreatedAt), State: string(r.State)}
		switch r.Reason {
		case fulfillment.ReasonShortage:
			s.Cut = u
		case fulfillment.ReasonMissing:
			s.Missing = u
		case fulfillment.ReasonDamaged:
			s.Damaged = u
		case fulfillment.ReasonReturned:
			s.Returned = u
		case fulfillment.ReasonAfterSale:
			s.AfterSale = u
		}
		s.Refunded.Units += r.Units
		s.Refunded.AmountFen += r.AmountFen
	}
	if f.Cut > 0 && s.Cut == nil {
		// Cut but not refunded yet: the allocation's own row says so.
		s.Cut = &Units{Units: f.Cut, AmountFen: f.Cut * l.PriceFen, Reason: string(fulfillment.ReasonShortage),
			Why: fulfillment.ReasonShortage.Text()}
	}
	if f.Ready.Valid {
		s.Ready = &Units{Units: f.Ready.Int64, AmountFen: f.Ready.Int64 * l.PriceFen, At: f.ReadyAt}
		if f.ParcelState.String == "collected" {
			s.Collected = &Units{Units: f.Ready.Int64, AmountFen: f.Ready.Int64 * l.PriceFen, At: f.CollectedAt}
		}
	}
	return s
}

// statusOf is where an order stands in the night: its stored status until
// the wave closes, then what the wave, the delivery to its point and its
// parcels say.
func statusOf(stored OrderStatus, o orderFacts, lines []lineFacts) OrderStatus {
	if stored == Cancelled || !o.WaveState.Valid || o.WaveState.String == "open" {
		return stored
	}
	status := Confirmed
	for _, l := range lines {
		if l.Cut > 0 {
			status = ShortShipped
		}
	}
	switch o.DeliveryState.String {
	case "arrived":
		return Delivered
	case "received":
	default:
		return status
	}
	var ready, collected, returned int
	for _, l := range lines {
		switch l.ParcelState.String {
		case "ready":
			ready++
		case "collected":
			collected++
		case "returned":
			returned++
		}
	}
	switch {
	case collected > 0 && ready+returned > 0:
		return PartlyCollected
	case collected > 0:
		return Collected
	case returned > 0 && ready == 0:
		return Returned
	case ready > 0:
		return ReadyForPickup
	}
	return Delivered // received, but every unit was lost on the way
}
