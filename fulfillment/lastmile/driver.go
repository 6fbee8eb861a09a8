package lastmile

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// Errors of the driver's pass.
var (
	ErrNoDriverPass  = apperr.Errorf(apperr.Unauthorized, "driver_pass_missing", "send the route's pass (from the QR code on its route sheet) in X-Driver-Pass")
	ErrBadDriverPass = apperr.Errorf(apperr.Forbidden, "driver_pass_invalid", "this pass is not for this route, or it has expired")
)

// DriverPass signs and checks the pass a driver's page carries: one route,
// until an expiry (the end of its delivery day). It is no API token: it
// opens that route's page and its stops' buttons, nothing else.
type DriverPass struct{ key []byte }

// NewDriverPass returns passes signed with a key derived from secret, so
// the secret that signs bag labels can serve without the two ever matching.
func NewDriverPass(secret []byte) DriverPass {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte("groupbuy driver pass v1"))
	return DriverPass{key: h.Sum(nil)}
}

// Token is the pass of a route until expires: "route.expiry.check".
func (p DriverPass) Token(routeID int64, expires time.Time) string {
	body := fmt.Sprintf("%d.%d", routeID, expires.Unix())
	return body + "." + p.check(body)
}

func (p DriverPass) check(body string) string {
	h := hmac.New(sha256.New, p.key)
	h.Write([]byte(body))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:16])
}

// Check lets a pass through for routeID at now.
func (p DriverPass) Check(token string, routeID int64, now time.Time) error {
	if token == "" {
		return ErrNoDriverPass
	}
	i := strings.LastIndexByte(token, '.')
	if i < 0 || !hmac.Equal([]byte(token[i+1:]), []byte(p.check(token[:i]))) {
		return ErrBadDriverPass
	}
	route, expiry, ok := strings.Cut(token[:i], ".")
	id, err1 := strconv.ParseInt(route, 10, 64)
	exp, err2 := strconv.ParseInt(expiry, 10, 64)
	if !ok || err1 != nil || err2 != nil || id != routeID || !now.Before(time.Unix(exp, 0)) {
		return ErrBadDriverPass
	}
	return nil
}

// DriverRoute is a route as its driver sees it: the stops in order, where
// they are, and how far the truck has got.
type DriverRoute struct {
	ID           int64            `db:"id" json:"id"`
	Code         string           `db:"code" json:"code"`
	Vehicle      string           `db:"vehicle" json:"vehicle"`
	DeliveryDate fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	TimeZone     string           `db:"time_zone" json:"time_zone"`
	DispatchedAt *time.Time       `db:"dispatched_at" json:"dispatched_at,omitempty"`
	Stops        []DriverStop     `db:"-" json:"stops"`
}

// DriverStop is one stop of a driver's route.
type DriverStop struct {
	Seq          int            `db:"seq" json:"seq"`
	Name         string         `db:"name" json:"name"`
	Address      string         `db:"address" json:"address"`
	Lat          float64        `db:"lat" json:"lat"`
	Lng          float64        `db:"lng" json:"lng"`
	ETA          time.Time      `db:"eta" json:"eta"`
	Bags         int64          `db:"bags" json:"bags"`
	State        *DeliveryState `db:"state" json:"state,omitempty" doc:"The stop's delivery; absent before the wave is ready."`
	ArrivedAt    *time.Time     `db:"arrived_at" json:"arrived_at,omitempty"`
	HandedOverAt *time.Time     `db:"handed_over_at" json:"handed_over_at,omitempty"`
}

// DriverRoute loads a route for its driver's page.
func (s *Service) DriverRoute(ctx context.Context, routeID int64) (DriverRoute, error) {
	return driverRoute(ctx, s.db, routeID)
}

func driverRoute(ctx context.Context, q sqlx.QueryerContext, routeID int64) (DriverRoute, error) {
	r, err := pg.GetOne[DriverRoute](ctx, q, routeplan.ErrRouteNotFound, `SELECT r.id, r.code, v.name AS vehicle, w.delivery_date,
			h.time_zone, r.dispatched_at
		FROM routes r JOIN vehicle_types v ON v.id = r.vehicle_type_id JOIN waves w ON w.id = r.wave_id
		JOIN warehouses h ON h.id = w.warehouse_id WHERE r.id = $1`, routeID)
	if err != nil {
		return r, err
	}
	r.Stops = []DriverStop{}
	err = sqlx.SelectContext(ctx, q, &r.Stops, `SELECT rs.seq, p.name, p.address, p.lat, p.lng, rs.arrival_at AS eta, rs.bags,
			d.state, d.arrived_at, d.handed_over_at
		FROM route_stops rs JOIN pickup_points p ON p.id = rs.pickup_point_id
		LEFT JOIN deliveries d ON d.route_id = rs.route_id AND d.seq = rs.seq
		WHERE rs.route_id = $1 ORDER BY rs.seq`, routeID)
	return r, err
}

// HandOver records that the driver handed a stop's bags over: the stop is
// reached too, if it was not marked so. Doing it twice keeps the first time.
func (s *Service) HandOver(ctx context.Context, routeID int64, seq int) (Delivery, error) {
	var out Delivery
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		now := s.clock.Now()
		id, err := arrive(ctx, tx, routeID, seq, now)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET handed_over_at = coalesce(handed_over_at, $2) WHERE id = $1`, id, now); err != nil {
			return err
		}
		out, err = getDelivery(ctx, tx, id)
		return err
	})
	return out, err
}
