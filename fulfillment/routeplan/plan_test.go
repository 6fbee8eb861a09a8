package routeplan_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
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

// fleetAndStops gives the city's warehouse a fleet and returns its wave and
// one stop per point, of weightG grams and as many millilitres, with the
// point's receiving hours as the night reads them.
func fleetAndStops(t *testing.T, c *fulfillmenttest.City, weightG int64, vans ...routeplan.VehicleType) (wave.Wave, []routeplan.StopDemand) {
	t.Helper()
	ctx := context.Background()
	fleet := routeplan.NewService(c.DB, clock.NewManual(fulfillmenttest.Now))
	for _, v := range vans {
		v.WarehouseID = c.Warehouse
		if _, err := fleet.SaveVehicleType(ctx, v); err != nil {
			t.Fatal(err)
		}
	}
	w, err := wave.Get(ctx, c.DB, c.Wave())
	if err != nil {
		t.Fatal(err)
	}
	var stops []routeplan.StopDemand
	if err := c.DB.Select(&stops, `SELECT id AS pickup_point_id, lat, lng, $1::bigint AS weight_g, $1::bigint AS volume_ml, 1 AS bags,
			receiving_from, receiving_until FROM pickup_points WHERE warehouse_id = $2 ORDER BY id`, weightG, c.Warehouse); err != nil {
		t.Fatal(err)
	}
	return w, stops
}

// planAndRead plans a wave, writes the plan and reads it back as the API does.
func planAndRead(t *testing.T, c *fulfillmenttest.City, w wave.Wave, stops []routeplan.StopDemand, budget time.Duration) routeplan.WaveRoutes {
	t.Helper()
	ctx := context.Background()
	planner := routeplan.NewPlanner(c.DB, slog.New(slog.DiscardHandler), routeplan.Options{Budget: budget, Threads: 1})
	plan, err := planner.Plan(ctx, routeplan.Request{Wave: w, Stops: stops, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		_, _, err := plan.Write(ctx, tx, w.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	out, err := routeplan.NewService(c.DB, clock.NewManual(fulfillmenttest.Now)).WaveRoutes(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var van = routeplan.VehicleType{Code: "VAN", Name: "面包车", Count: 3, CapacityG: 50_000, CapacityML: 100_000,
	ShiftStart: clock.NewTimeOfDay(6, 0), ShiftEnd: clock.NewTimeOfDay(14, 0)}

// TestPointReceivingHoursNarrowTheStopWindow: each stop is served within
// its point's receiving hours and the warehouse's delivery window (07:00–
// 11:00 in Shanghai); a point whose hours miss that window is unserved with
// both windows in its reason, not dropped in silence. The route API shows
// each stop's window.
func TestPointReceivingHoursNarrowTheStopWindow(t *testing.T) {
	c := fulfillmenttest.New(t, 6)
	hours := map[int64][2]string{
		c.Points[0].ID: {"09:30", "10:00"}, // inside the delivery window
		c.Points[1].ID: {"06:00", "07:20"}, // overlaps its start: 07:00–07:20
		c.Points[2].ID: {"12:00", "13:00"}, // after it
	}
	for id, h := range hours {
		c.Exec(`UPDATE pickup_points SET receiving_from = $2, receiving_until = $3 WHERE id = $1`, id, h[0], h[1])
	}
	w, stops := fleetAndStops(t, c, 2000, van)
	got := planAndRead(t, c, w, stops, 2*time.Second)
	shanghai, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	local := func(ts time.Time) string { return ts.In(shanghai).Format("15:04") }
	served := 0
	for _, r := range got.Routes {
		for _, s := range r.Stops {
			served++
			from, until := "07:00", "11:00"
			if h, ok := hours[s.PickupPointID]; ok {
				from, until = max(from, h[0]), min(until, h[1])
			}
			if at := local(s.StartAt); at < from || at > until {
				t.Errorf("point %d served from %s, outside %s–%s", s.PickupPointID, at, from, until)
			}
			// The route API shows the window each stop was planned in.
			if s.WindowStart == nil || s.WindowEnd == nil || local(*s.WindowStart) != from || local(*s.WindowEnd) != until {
				t.Errorf("point %d: window %v–%v in the answer, want %s–%s", s.PickupPointID, s.WindowStart, s.WindowEnd, from, until)
			}
		}
	}
	if served != 5 || len(got.Unserved) != 1 {
		t.Fatalf("served %d, unserved %+v; want 5 served and point %d unserved", served, got.Unserved, c.Points[2].ID)
	}
	u := got.Unserved[0]
	if u.PickupPointID != c.Points[2].ID || !strings.Contains(u.Reason, "12:00–13:00") || !strings.Contains(u.Reason, "07:00–11:00") {
		t.Fatalf("unserved %+v: want point %d with its hours 12:00–13:00 and the window 07:00–11:00", u, c.Points[2].ID)
	}
}

// TestRoutesOfADayWhoseMidnightIsSkipped: in Santiago the clocks go from
// 23:59 to 01:00 on 2026-09-06. The morning of that delivery day was placed
// on the day before (Go put the skipped midnight at 23:00 on 09-05), and
// every stop came out unserved.
func TestRoutesOfADayWhoseMidnightIsSkipped(t *testing.T) {
	c := fulfillmenttest.New(t, 4)
	c.Exec(`UPDATE warehouses SET time_zone = 'America/Santiago' WHERE id = $1`, c.Warehouse)
	w, stops := fleetAndStops(t, c, 2000, van)
	day := fulfillment.Date{Time: time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC)}
	c.Exec(`UPDATE waves SET delivery_date = $2 WHERE id = $1`, w.ID, day)
	w.DeliveryDate = day
	got := planAndRead(t, c, w, stops, 2*time.Second)
	scl, err := time.LoadLocation("America/Santiago")
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, r := range got.Routes {
		for _, s := range r.Stops {
			served++
			at := s.StartAt.In(scl)
			if d, hm := at.Format(time.DateOnly), at.Format("15:04"); d != "2026-09-06" || hm < "07:00" || hm > "11:00" {
				t.Errorf("point %d served at %s, outside 2026-09-06 07:00-11:00", s.PickupPointID, at.Format("2006-01-02 15:04 MST"))
			}
		}
	}
	if served != len(stops) {
		t.Errorf("served %d of %d stops; unserved %+v", served, len(stops), got.Unserved)
	}
}
