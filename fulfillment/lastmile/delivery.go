// Package lastmile owns what happens after the warehouse: deliveries and
// their lines (dispatch, arrival, the leader's receipt 签收), the parcel
// lines residents collect at the pickup desk (核销), the reminders, and the
// return of what nobody collected. The night's ready stage makes the
// deliveries (MakeDeliveries); lastmile never imports night. It reads the
// night's bags and sort lines and the route plan in SQL, and changes waves,
// routes, refunds and the commission ledger through their packages.
package lastmile

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// DeliveryState is where one leader's delivery stands.
type DeliveryState string

// Delivery states, in order.
const (
	DeliveryPending    DeliveryState = "pending"    // planned, truck not gone
	DeliveryDispatched DeliveryState = "dispatched" // on the truck
	DeliveryArrived    DeliveryState = "arrived"    // the driver marked the stop
	DeliveryReceived   DeliveryState = "received"   // the leader confirmed what came (签收)
)

// Errors of dispatch and delivery.
var (
	ErrStopNotFound     = apperr.Errorf(apperr.NotFound, "stop_not_found", "the route has no such stop")
	ErrDeliveryNotFound = apperr.Errorf(apperr.NotFound, "delivery_not_found", "delivery not found")
	ErrWaveNotReady     = apperr.Errorf(apperr.Conflict, "wave_not_ready", "the wave is not ready for dispatch")
	ErrNotDispatched    = apperr.Errorf(apperr.Conflict, "not_dispatched", "the route has not been dispatched yet")
)

// Service runs the deliveries' commands, one transaction each.
type Service struct {
	db      *sqlx.DB
	clock   clock.Clock
	metrics refund.Metrics
}

// NewService returns the deliveries' commands over db; m counts the refunds
// and notices of receipts (nil fields: nothing).
func NewService(db *sqlx.DB, clock clock.Clock, m refund.Metrics) *Service {
	return &Service{db: db, clock: clock, metrics: m}
}

// MakeDeliveries gives every pickup point with bags in the wave its delivery,
// on the route stop that serves it (none for a point the plan left
// unserved). Part of the ready stage; rerunning adds nothing twice.
//
// The points and the stops are read apart and matched here. Joined in one
// statement, a wave newer than the statistics of bags was estimated at one
// point, and the planner compared every point with every stop of the wave:
// 150-190 ms of a 0.7 s ready stage after a month with autovacuum on.
func MakeDeliveries(ctx context.Context, tx *sqlx.Tx, waveID int64) error {
	var points []int64
	if err := tx.SelectContext(ctx, &points, `SELECT DISTINCT pickup_point_id FROM bags WHERE wave_id = $1 ORDER BY 1`, waveID); err != nil {
		return err
	}
	var stops []struct {
		Point int64 `db:"pickup_point_id"`
		Route int64 `db:"route_id"`
		Seq   int64 `db:"seq"`
	}
	if err := tx.SelectContext(ctx, &stops, `SELECT rs.pickup_point_id, rs.route_id, rs.seq
		FROM routes r JOIN route_stops rs ON rs.route_id = r.id WHERE r.wave_id = $1`, waveID); err != nil {
		return err
	}
	type stop struct{ route, seq int64 }
	at := make(map[int64]stop, len(stops))
	for _, s := range stops {
		at[s.Point] = stop{s.Route, s.Seq}
	}
	routes, seqs := make([]int64, len(points)), make([]int64, len(points))
	for i, p := range points {
		routes[i], seqs[i] = at[p].route, at[p].seq // 0: a point the plan left unserved
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO deliveries (wave_id, pickup_point_id, route_id, seq)
		SELECT $1, p, nullif(r, 0), nullif(s, 0) FROM unnest($2::bigint[], $3::bigint[], $4::int[]) WITH ORDINALITY AS t(p, r, s, i)
		ORDER BY i
		ON CONFLICT (wave_id, pickup_point_id) DO NOTHING`, waveID, pq.Array(points), pq.Array(routes), pq.Array(seqs))
	return err
}

// Dispatch sends routes of a ready (or dispatched) wave on their way: one
// route, or every route when routeID is 0. The wave becomes dispatched with
// its first truck. Dispatching a dispatched route changes nothing. The
// whole wave's dispatch sends the bags of points no route serves too (picked
// and labelled "--", they go however ops send them), so their leaders can
// receive them, and what never comes is refunded as missing.
func (s *Service) Dispatch(ctx context.Context, waveID, routeID int64) (wave.Wave, error) {
	var out wave.Wave
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		now := s.clock.Now()
		w, err := wave.Lock(ctx, tx, waveID)
		if err != nil {
			return err
		}
		if state := w.State; state != wave.Ready && state != wave.Dispatched && state != wave.Delivered {
			return ErrWaveNotReady
		}
		// routeID 0 sends every route of the wave.
		sent, err := routeplan.Dispatch(ctx, tx, waveID, routeID, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries d SET state = 'dispatched', dispatched_at = $3
			WHERE d.wave_id = $1 AND d.state = 'pending' AND (d.route_id IN (SELECT id FROM routes WHERE wave_id = $1 AND ($2::bigint = 0 OR id = $2))
				OR d.route_id IS NULL AND $2::bigint = 0)`,
			waveID, routeID, now); err != nil {
			return err
		}
		if err := wave.MarkDispatched(ctx, tx, waveID, now); err != nil {
			return err
		}
		if sent > 0 { // the timeline tells when trucks left, once each
			if err := wave.Record(ctx, tx, waveID, wave.EventRoutesDispatched, "", routeDetail(routeID), now); err != nil {
				return err
			}
		}
		out, err = wave.Get(ctx, tx, waveID)
		return err
	})
	return out, err
}

// Arrive records that a route's truck reached its stop seq. The stop's
// delivery becomes arrived; when every routed stop of the wave has arrived,
// the wave is delivered. Arriving twice keeps the first time.
func (s *Service) Arrive(ctx context.Context, routeID int64, seq int) (Delivery, error) {
	var out Delivery
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		id, err := arrive(ctx, tx, routeID, seq, s.clock.Now())
		if err != nil {
			return err
		}
		out, err = getDelivery(ctx, tx, id)
		return err
	})
	return out, err
}

// arrive marks stop seq of a route reached at now inside tx and returns its
// delivery's id.
func arrive(ctx context.Context, tx *sqlx.Tx, routeID int64, seq int, now time.Time) (int64, error) {
	r, err := routeplan.GetRoute(ctx, tx, routeID)
	if err != nil {
		return 0, err
	}
	// The wave row first, as every command on a wave locks it first; the
	// route read again after it, as a dispatch this waited for changed it.
	if _, err := wave.Lock(ctx, tx, r.WaveID); err != nil {
		return 0, err
	}
	if r, err = routeplan.GetRoute(ctx, tx, routeID); err != nil {
		return 0, err
	}
	if r.DispatchedAt == nil {
		return 0, ErrNotDispatched
	}
	found, err := routeplan.Arrive(ctx, tx, routeID, seq, now)
	if err != nil {
		return 0, err
	}
	if !found {
		return 0, ErrStopNotFound
	}
	var id int64
	if err := tx.GetContext(ctx, &id, `UPDATE deliveries SET state = CASE WHEN state = 'received' THEN state ELSE 'arrived' END,
		arrived_at = coalesce(arrived_at, $3) WHERE route_id = $1 AND seq = $2 RETURNING id`, routeID, seq, now); err != nil {
		return 0, err
	}
	return id, markDeliveredIfDone(ctx, tx, r.WaveID, now)
}

// markDeliveredIfDone moves a dispatched wave to delivered once no routed
// delivery is still on its way.
func markDeliveredIfDone(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time) error {
	var onTheWay bool
	if err := tx.GetContext(ctx, &onTheWay, `SELECT EXISTS (SELECT 1 FROM deliveries WHERE wave_id = $1 AND route_id IS NOT NULL
		AND state IN ('pending', 'dispatched'))`, waveID); err != nil || onTheWay {
		return err
	}
	return wave.MarkDelivered(ctx, tx, waveID, now)
}

// Delivery is what one leader receives from one wave: the bags, and per SKU
// what was sent and what the leader confirmed.
type Delivery struct {
	ID            int64            `db:"id" json:"id"`
	WaveID        int64            `db:"wave_id" json:"wave_id"`
	DeliveryDate  fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	PickupPointID int64            `db:"pickup_point_id" json:"pickup_point_id"`
	State         DeliveryState    `db:"state" json:"state"`
	RouteCode     *string          `db:"route_code" json:"route_code"`
	Seq           *int             `db:"seq" json:"seq"`
	ETA           *time.Time       `db:"eta" json:"eta,omitempty"`
	DispatchedAt  *time.Time       `db:"dispatched_at" json:"dispatched_at,omitempty"`
	ArrivedAt     *time.Time       `db:"arrived_at" json:"arrived_at,omitempty"`
	ReceivedAt    *time.Time       `db:"received_at" json:"received_at,omitempty"`
	HandedOverAt  *time.Time       `db:"handed_over_at" json:"handed_over_at,omitempty" doc:"When the driver handed the bags over."`
	Bags          []DeliveryBag    `db:"-" json:"bags,omitempty"`
	Lines         []DeliveryLine   `db:"-" json:"lines,omitempty"`
}

// DeliveryBag is one bag (pickup point × temperature zone) of a delivery.
type DeliveryBag struct {
	ID       int64            `db:"id" json:"id"`
	Zone     fulfillment.Zone `db:"zone" json:"zone"`
	Units    int64            `db:"units" json:"units"`
	SKUs     int64            `db:"skus" json:"skus"`
	WeightG  int64            `db:"weight_g" json:"weight_g"`
	VolumeML int64            `db:"volume_ml" json:"volume_ml"`
}

// DeliveryLine is one SKU of a delivery: expected from the sort plan; the
// rest once the leader has received it.
type DeliveryLine struct {
	SaleItemID int64            `db:"sale_item_id" json:"sale_item_id"`
	SKU        string           `db:"sku" json:"sku"`
	Name       string           `db:"name" json:"name"`
	Unit       string           `db:"unit" json:"unit"`
	Zone       fulfillment.Zone `db:"zone" json:"zone"`
	Expected   int64            `db:"expected" json:"expected"`
	Received   *int64           `db:"received" json:"received"`
	Missing    *int64           `db:"missing" json:"missing"`
	Damaged    *int64           `db:"damaged" json:"damaged"`
}

const deliverySelect = `SELECT d.id, d.wave_id, w.delivery_date, d.pickup_point_id, d.state, r.code AS route_code, d.seq,
	rs.arrival_at AS eta, d.dispatched_at, d.arrived_at, d.received_at, d.handed_over_at
	FROM deliveries d JOIN waves w ON w.id = d.wave_id
	LEFT JOIN routes r ON r.id = d.route_id
	LEFT JOIN route_stops rs ON rs.route_id = d.route_id AND rs.seq = d.seq`

func getDelivery(ctx context.Context, q sqlx.QueryerContext, id int64) (Delivery, error) {
	d, err := pg.GetOne[Delivery](ctx, q, ErrDeliveryNotFound, deliverySelect+` WHERE d.id = $1`, id)
	if err != nil {
		return d, err
	}
	return d, withDeliveryDetail(ctx, q, &d)
}

func withDeliveryDetail(ctx context.Context, q sqlx.QueryerContext, d *Delivery) error {
	d.Bags, d.Lines = []DeliveryBag{}, []DeliveryLine{}
	if err := sqlx.SelectContext(ctx, q, &d.Bags, `SELECT id, zone, units, skus, weight_g, volume_ml FROM bags
		WHERE wave_id = $1 AND pickup_point_id = $2 ORDER BY zone`, d.WaveID, d.PickupPointID); err != nil {
		return err
	}
	return sqlx.SelectContext(ctx, q, &d.Lines, `SELECT s.sale_item_id, p.sku, p.name, p.unit, s.zone, s.quantity AS expected,
		dl.received, dl.missing, dl.damaged
		FROM sort_line_skus s JOIN sale_items si ON si.id = s.sale_item_id JOIN products p ON p.id = si.product_id
		LEFT JOIN delivery_lines dl ON dl.delivery_id = $3 AND dl.sale_item_id = s.sale_item_id
		WHERE s.wave_id = $1 AND s.pickup_point_id = $2 ORDER BY s.zone, p.bin, p.sku`, d.WaveID, d.PickupPointID, d.ID)
}

// LeaderDeliveries lists what arrives on a date at the point the leader runs.
func (s *Service) LeaderDeliveries(ctx context.Context, leaderID int64, date fulfillment.Date) ([]Delivery, error) {
	pointID, err := pickup.PointOfLeader(ctx, s.db, leaderID)
	if err != nil {
		return nil, err
	}
	out := []Delivery{}
	if err := sqlx.SelectContext(ctx, s.db, &out, deliverySelect+` WHERE d.pickup_point_id = $1 AND w.delivery_date = $2 ORDER BY d.id`,
		pointID, date); err != nil {
		return nil, err
	}
	for i := range out {
		if err := withDeliveryDetail(ctx, s.db, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RouteOfWave tells which wave a route belongs to.
func (s *Service) RouteOfWave(ctx context.Context, routeID int64) (int64, error) {
	return routeplan.RouteOfWave(ctx, s.db, routeID)
}

// WaveDeliveries lists a wave's deliveries with their states, by route and stop.
func (s *Service) WaveDeliveries(ctx context.Context, waveID int64) ([]Delivery, error) {
	return WaveDeliveries(ctx, s.db, waveID)
}

// WaveDeliveries lists a wave's deliveries with their states, by route and stop.
func WaveDeliveries(ctx context.Context, q sqlx.QueryerContext, waveID int64) ([]Delivery, error) {
	if _, err := wave.Get(ctx, q, waveID); err != nil {
		return nil, err
	}
	out := []Delivery{}
	err := sqlx.SelectContext(ctx, q, &out, deliverySelect+` WHERE d.wave_id = $1 ORDER BY r.code NULLS LAST, d.seq, d.pickup_point_id`, waveID)
	return out, err
}

// routeDetail names what a dispatch sent in the wave's timeline.
func routeDetail(routeID int64) string {
	if routeID == 0 {
		return "every route"
	}
	return fmt.Sprintf("route %d", routeID)
}
