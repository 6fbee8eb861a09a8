package routeplan_test

import (
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/clock"
)

// TestFrozenBagsRideOnlyRefrigeratedTrucks: with an ambient fleet alone, the
// points with frozen or chilled bags are unserved for want of a compatible
// vehicle, with the numbers; once a refrigerated type joins, they ride it
// and only it.
func TestFrozenBagsRideOnlyRefrigeratedTrucks(t *testing.T) {
	c := fulfillmenttest.New(t, 8)
	w, stops := fleetAndStops(t, c, 2000, van)
	cold := map[int64]bool{}
	for i := range stops {
		switch i % 4 {
		case 1:
			stops[i].Frozen = true
		case 2:
			stops[i].Chilled = true
		default:
			continue
		}
		cold[stops[i].PointID] = true
	}
	got := planAndRead(t, c, w, stops, time.Second)
	if len(got.Unserved) != len(cold) {
		t.Fatalf("ambient fleet: unserved %+v, want the %d cold points", got.Unserved, len(cold))
	}
	for _, u := range got.Unserved {
		if !cold[u.PickupPointID] || !strings.HasPrefix(u.Reason, "no compatible vehicle: it requires") ||
			!strings.Contains(u.Reason, "none of the 1 vehicle types (3 vehicles)") {
			t.Errorf("unserved %+v", u)
		}
	}
	reefer := routeplan.VehicleType{Code: "REEFER", Name: "冷藏车", Count: 1, CapacityG: 30_000, CapacityML: 60_000,
		ShiftStart: clock.NewTimeOfDay(6, 0), ShiftEnd: clock.NewTimeOfDay(14, 0), FixedCostFen: 50_000, CostPerKmFen: 800,
		Chilled: true, Frozen: true}
	w, _ = fleetAndStops(t, c, 2000, reefer)
	got = planAndRead(t, c, w, stops, time.Second)
	if len(got.Unserved) != 0 {
		t.Fatalf("with a reefer: unserved %+v", got.Unserved)
	}
	onReefer := 0
	for _, r := range got.Routes {
		for _, s := range r.Stops {
			if cold[s.PickupPointID] && r.VehicleType != "REEFER" {
				t.Errorf("cold point %d rides %s", s.PickupPointID, r.VehicleType)
			}
			if r.VehicleType == "REEFER" {
				onReefer++
			}
		}
	}
	if onReefer < len(cold) {
		t.Fatalf("%d stops on the reefer, want the %d cold ones at least", onReefer, len(cold))
	}
}

// TestAStopOnlyAnAbsentTypeCarriesGetsTheSecondPass: a wave of 700 stops
// is cut in two sectors, and the fleet's one truck goes to one of them. A
// 100 kg stop in the other, more than any van carries, is judged there
// against the vans alone; the second pass, with the whole fleet left, puts
// it on the idle truck rather than leave it "exceeding every vehicle".
func TestAStopOnlyAnAbsentTypeCarriesGetsTheSecondPass(t *testing.T) {
	c := fulfillmenttest.New(t, 0)
	c.Exec(`INSERT INTO leaders (name, phone) SELECT 'L' || g, '1370' || lpad(g::text, 7, '0') FROM generate_series(1, 700) g`)
	c.Exec(`INSERT INTO pickup_points (code, warehouse_id, leader_id, name, address, lat, lng, opens, closes)
		SELECT 'RP' || l.id, $1, l.id, 'P' || l.id, 'A', 31.10, 121.40, '08:00', '21:00' FROM leaders l ORDER BY l.id`, c.Warehouse)
	shift := func(v routeplan.VehicleType) routeplan.VehicleType {
		v.ShiftStart, v.ShiftEnd = clock.NewTimeOfDay(6, 0), clock.NewTimeOfDay(14, 0)
		return v
	}
	w, stops := fleetAndStops(t, c, 0,
		shift(routeplan.VehicleType{Code: "VAN", Name: "van", Count: 40, CapacityG: 50_000, CapacityML: 100_000, FixedCostFen: 100}),
		shift(routeplan.VehicleType{Code: "TRUCK", Name: "truck", Count: 1, CapacityG: 500_000, CapacityML: 1_000_000, FixedCostFen: 100_000}))
	for i := range stops { // west of the warehouse (31.10, 121.40) the heavy stop and 349 of 1 kg; east 350 of 2 kg
		s := &stops[i]
		if i < 350 {
			s.Lat, s.Lng, s.WeightG = 31.10+float64(i%19)*0.0005, 121.35-float64(i/19)*0.0005, 1000
		} else {
			s.Lat, s.Lng, s.WeightG = 31.10+float64((i-350)%19)*0.0005, 121.45+float64((i-350)/19)*0.0005, 2000
		}
		s.VolumeML = s.WeightG
	}
	stops[0].WeightG, stops[0].VolumeML = 100_000, 100_000
	got := planAndRead(t, c, w, stops, 4*time.Second)
	for _, r := range got.Routes {
		for _, s := range r.Stops {
			if s.PickupPointID == stops[0].PointID {
				if r.VehicleType != "TRUCK" {
					t.Fatalf("the 100 kg stop rides a %s", r.VehicleType)
				}
				return
			}
		}
	}
	t.Fatalf("the 100 kg stop is not served; unserved %+v", got.Unserved)
}
