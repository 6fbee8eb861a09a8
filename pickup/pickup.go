// Package pickup owns the map of the business: warehouses, pickup points
// (自提点), the group leaders (团长) who run them, and the residents who
// collect there.
package pickup

import (
	"math"
	"regexp"
	"strings"
	"time"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/input"

	"groupbuy/pickup/geo"
)

// Warehouse is a city warehouse with its own time zone, nightly cutoff and
// morning delivery window.
type Warehouse struct {
	ID            int64           `db:"id" json:"id"`
	Code          string          `db:"code" json:"code"`
	Name          string          `db:"name" json:"name"`
	Address       string          `db:"address" json:"address"`
	Lat           float64         `db:"lat" json:"lat"`
	Lng           float64         `db:"lng" json:"lng"`
	TimeZone      string          `db:"time_zone" json:"time_zone"`
	CutoffLocal   clock.TimeOfDay `db:"cutoff_local" json:"cutoff_local"`     // on the day before delivery
	DeliveryStart clock.TimeOfDay `db:"delivery_start" json:"delivery_start"` // on the delivery day
	DeliveryEnd   clock.TimeOfDay `db:"delivery_end" json:"delivery_end"`
	CreatedAt     time.Time       `db:"created_at" json:"created_at"`
}

// Location returns the warehouse's time zone.
func (w Warehouse) Location() (*time.Location, error) {
	return time.LoadLocation(w.TimeZone)
}

// Cutoff returns the instant orders for delivery date d close: the
// warehouse's cutoff local time on the day before d, in its own time zone.
func (w Warehouse) Cutoff(d time.Time) (time.Time, error) {
	loc, err := w.Location()
	if err != nil {
		return time.Time{}, err
	}
	return w.CutoffLocal.On(d.AddDate(0, 0, -1), loc), nil
}

// Leader is a group leader (团长) who runs one pickup point.
type Leader struct {
	ID        int64     `db:"id" json:"id"`
	Name      string    `db:"name" json:"name"`
	Phone     string    `db:"phone" json:"phone"`
	CreatedAt time.Time `db:"created_at" json:"created_at"`
}

// Point is a pickup point (自提点) run by one leader and served by one warehouse.
type Point struct {
	ID          int64           `db:"id" json:"id"`
	Code        string          `db:"code" json:"code"`
	WarehouseID int64           `db:"warehouse_id" json:"warehouse_id"`
	LeaderID    int64           `db:"leader_id" json:"leader_id"`
	Name        string          `db:"name" json:"name"`
	Address     string          `db:"address" json:"address"`
	Lat         float64         `db:"lat" json:"lat"`
	Lng         float64         `db:"lng" json:"lng"`
	Opens       clock.TimeOfDay `db:"opens" json:"opens"` // local
	Closes      clock.TimeOfDay `db:"closes" json:"closes"`
	// ReceivingFrom and ReceivingUntil bound when the point can take the
	// morning's delivery (local); both zero: whenever the warehouse delivers.
	ReceivingFrom  clock.TimeOfDay `db:"receiving_from" json:"receiving_from,omitzero"`
	ReceivingUntil clock.TimeOfDay `db:"receiving_until" json:"receiving_until,omitzero"`
	// Cell is the point's H3 cell at geo.PointRes; its cells at geo.AreaRes and
	// geo.SearchRes are stored beside it.
	Cell      geo.CellID `db:"h3_cell" json:"h3_cell"`
	CreatedAt time.Time  `db:"created_at" json:"created_at"`
}

// Resident is a person who orders through a leader and collects at a
// point, as that point knows them: a phone is one resident per point, and
// another point's resident is no business of this point's leader.
type Resident struct {
	ID            int64  `db:"id" json:"id"`
	Phone         string `db:"phone" json:"phone"`
	Name          string `db:"name" json:"name"`
	PickupPointID int64  `db:"pickup_point_id" json:"pickup_point_id"`
}

// LeaderSite is a leader with the point they run and the warehouse serving it:
// what order intake needs to know about the caller.
type LeaderSite struct {
	Leader    Leader
	Point     Point
	Warehouse Warehouse
}

// Errors.
var (
	ErrWarehouseNotFound = apperr.Errorf(apperr.NotFound, "warehouse_not_found", "warehouse not found")
	ErrPointNotFound     = apperr.Errorf(apperr.NotFound, "pickup_point_not_found", "pickup point not found")
	ErrLeaderNotFound    = apperr.Errorf(apperr.NotFound, "leader_not_found", "leader not found")
	ErrNoPoint           = apperr.Errorf(apperr.Forbidden, "no_pickup_point", "this leader runs no pickup point")
)

var (
	codeRe  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$`)
	phoneRe = regexp.MustCompile(`^\+?[0-9]{5,20}$`)
)

func checkCode(field, s string) error {
	if !codeRe.MatchString(s) {
		return apperr.InvalidField(field, "%s must be 1-40 letters, digits, '_', '.' or '-', got %q", field, s)
	}
	return nil
}

// CheckPhone validates a phone number (digits, optional leading +).
func CheckPhone(field, s string) error {
	if !phoneRe.MatchString(s) {
		return apperr.InvalidField(field, "%s must be a phone number of 5-20 digits, got %q", field, s)
	}
	return nil
}

// CheckName validates a person's or place's display name.
func CheckName(field, s string) error { return input.CheckText(field, s, 100) }

// checkAddress validates an address: optional, and printed on route sheets
// and sent in SMS, so under the text rule too.
func checkAddress(s string) error { return input.CheckOptionalText("address", s, 300) }

func checkLatLng(prefix string, lat, lng float64) error {
	if math.IsNaN(lat) || lat < -90 || lat > 90 {
		return apperr.InvalidField(prefix+"lat", "latitude must be within [-90, 90]")
	}
	if math.IsNaN(lng) || lng < -180 || lng > 180 {
		return apperr.InvalidField(prefix+"lng", "longitude must be within [-180, 180]")
	}
	return nil
}

// Validate checks a warehouse before it is stored.
func (w *Warehouse) Validate() error {
	w.Code, w.Name = strings.TrimSpace(w.Code), strings.TrimSpace(w.Name)
	if err := checkCode("code", w.Code); err != nil {
		return err
	}
	if err := CheckName("name", w.Name); err != nil {
		return err
	}
	if err := checkAddress(w.Address); err != nil {
		return err
	}
	if err := checkLatLng("", w.Lat, w.Lng); err != nil {
		return err
	}
	if w.TimeZone == "" {
		return apperr.InvalidField("time_zone", "time_zone is required (an IANA name such as Asia/Shanghai)")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil || w.TimeZone == "Local" {
		return apperr.InvalidField("time_zone", "unknown time zone %q", w.TimeZone)
	}
	for _, f := range []struct {
		name string
		v    clock.TimeOfDay
	}{{"cutoff_local", w.CutoffLocal}, {"delivery_start", w.DeliveryStart}, {"delivery_end", w.DeliveryEnd}} {
		if err := f.v.Require(f.name); err != nil {
			return err
		}
	}
	if !w.DeliveryStart.Before(w.DeliveryEnd) {
		return apperr.InvalidField("delivery_end", "delivery_end must be after delivery_start")
	}
	return nil
}

// Validate checks a pickup point before it is stored.
func (p *Point) Validate() error {
	p.Code, p.Name = strings.TrimSpace(p.Code), strings.TrimSpace(p.Name)
	if err := checkCode("code", p.Code); err != nil {
		return err
	}
	if p.WarehouseID < 0 {
		// 0 asks for the warehouse whose service area holds the point (servicearea.go).
		return apperr.InvalidField("warehouse_id", "warehouse_id must be a positive integer")
	}
	if err := CheckName("name", p.Name); err != nil {
		return err
	}
	if err := checkAddress(p.Address); err != nil {
		return err
	}
	if err := checkLatLng("", p.Lat, p.Lng); err != nil {
		return err
	}
	if err := p.Opens.Require("opens"); err != nil {
		return err
	}
	if err := p.Closes.Require("closes"); err != nil {
		return err
	}
	if !p.Opens.Before(p.Closes) {
		return apperr.InvalidField("closes", "closes must be after opens")
	}
	switch {
	case p.ReceivingFrom.IsZero() != p.ReceivingUntil.IsZero():
		return apperr.InvalidField("receiving_until", "receiving_from and receiving_until go together: set both (HH:MM) or neither")
	case !p.ReceivingFrom.IsZero() && !p.ReceivingFrom.Before(p.ReceivingUntil):
		return apperr.InvalidField("receiving_until", "receiving_until must be after receiving_from")
	}
	return nil
}
