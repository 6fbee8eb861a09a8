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
