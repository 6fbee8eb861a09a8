package routeplan_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
)

// TestMaxRouteMinutesBoundsEveryRoute: a vehicle type's maximum route
// duration holds for every route from departure to return; the point whose
// round trip alone outlasts it is unserved, with the numbers; the cap is
// 0 to 1440 minutes.
func TestMaxRouteMinutesBoundsEveryRoute(t *testing.T) {
	c := fulfillmenttest.New(t, 7) // the farthest point is about 8.7 km by road, 21 min each way
	short := van
	short.MaxRouteMinutes = 45
	w, stops := fleetAndStops(t, c, 2000, short)
	got := planAndRead(t, c, w, stops, time.Second)
	served := 0
	for _, r := range got.Routes {
		served += len(r.Stops)
		if d := r.ReturnAt.Sub(r.DepartureAt); d > 45*time.Minute {
			t.Errorf("route %s lasts %s, more than 45 min", r.Code, d)
		}
	}
	if served != 6 || len(got.Unserved) != 1 || got.Unserved[0].PickupPointID != c.Points[6].ID ||
		!strings.Contains(got.Unserved[0].Reason, "longer than any vehicle may drive (longest 45 min)") {
		t.Fatalf("served %d, unserved %+v; want 6 and point %d for its round trip", served, got.Unserved, c.Points[6].ID)
	}
	fleet := routeplan.NewService(c.DB, clock.NewManual(fulfillmenttest.Now))
	short.WarehouseID = c.Warehouse
	var e *apperr.Error
	for _, bad := range []int64{-1, 1441} {
		short.MaxRouteMinutes = bad
		if _, err := fleet.SaveVehicleType(context.Background(), short); !errors.As(err, &e) || e.Field != "max_route_minutes" {
			t.Errorf("max_route_minutes %d: %v", bad, err)
		}
	}
}
