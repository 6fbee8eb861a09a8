package routeplan_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestPlanServesEveryStopTheSameWayForASeed plans a small wave twice with
// one seed: every stop is served within the fleet, and the plans agree.
func TestPlanServesEveryStopTheSameWayForASeed(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 8)
	fleet := routeplan.NewService(c.DB, clock.NewManual(fulfillmenttest.Now))
	if _, err := fleet.SaveVehicleType(ctx, routeplan.VehicleType{WarehouseID: c.Warehouse, Code: "VAN", Name: "面包车", Count: 2,
		CapacityG: 20_000, CapacityML: 50_000, ShiftStart: clock.NewTimeOfDay(6, 0), ShiftEnd: clock.NewTimeOfDay(12, 0)}); err != nil {
		t.Fatal(err)
	}
	id := c.Wave()
	w, err := wave.Get(ctx, c.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	var stops []routeplan.StopDemand
	for _, p := range c.Points {
		var s routeplan.StopDemand
		if err := c.DB.Get(&s, `SELECT id AS pickup_point_id, lat, lng, 3000 AS weight_g, 3000 AS volume_ml, 1 AS bags
			FROM pickup_points WHERE id = $1`, p.ID); err != nil {
			t.Fatal(err)
		}
		stops = append(stops, s)
	}
	planner := routeplan.NewPlanner(c.DB, slog.New(slog.DiscardHandler), routeplan.Options{Budget: time.Second, Threads: 1})
	var plans [2]routeplan.WaveRoutes
	for i := range plans {
		plan, err := planner.Plan(ctx, routeplan.Request{Wave: w, Stops: stops, Seed: 7})
		if err != nil {
			t.Fatal(err)
		}
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			served, total, err := plan.Write(ctx, tx, id)
			if err == nil && (served != 8 || total != 8) {
				t.Errorf("served %d of %d stops, want 8 of 8", served, total)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		if plans[i], err = fleet.WaveRoutes(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	a, b := plans[0], plans[1]
	if len(a.Routes) == 0 || len(a.Routes) > 2 || len(a.Unserved) != 0 || len(a.Routes) != len(b.Routes) {
		t.Fatalf("plans %+v and %+v: want the same 1 or 2 routes serving every stop", a, b)
	}
	for i := range a.Routes {
		if len(a.Routes[i].Stops) != len(b.Routes[i].Stops) || a.Routes[i].DistanceM != b.Routes[i].DistanceM {
			t.Fatalf("route %d differs between runs with one seed", i)
		}
	}
}
