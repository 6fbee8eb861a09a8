package lastmile_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/internal/pg"
)

// TestMakeDeliveriesOnTheirStops: every point with bags gets one delivery,
// in the order of the points, on the stop that serves it or on none when
// the plan left it unserved; running it again adds nothing.
func TestMakeDeliveriesOnTheirStops(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 3)
	wave := c.Wave()
	for _, p := range c.Points {
		c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, 'chilled', 1, 1, 500, 500)`,
			wave, p.ID)
	}
	van := c.Van()
	route := c.ID(`INSERT INTO routes (wave_id, route_no, code, vehicle_type_id, stops, weight_g, volume_ml, distance_m, departure_at, return_at, cost_fen)
		VALUES ($1, 1, 'R01', $2, 2, 1000, 1000, 1000, $3, $3, 0) RETURNING id`, wave, van, fulfillmenttest.Now)
	// The route serves the third point first and the first second; the
	// second point is left unserved.
	for seq, point := range []int{2, 0} {
		c.Exec(`INSERT INTO route_stops (route_id, seq, pickup_point_id, arrival_at, start_at, departure_at, weight_g, volume_ml, bags)
			VALUES ($1, $2, $3, $4, $4, $4, 500, 500, 1)`, route, seq+1, c.Points[point].ID, fulfillmenttest.Now)
	}
	for range 2 {
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { return lastmile.MakeDeliveries(ctx, tx, wave) }); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := c.DB.Select(&got, `SELECT pickup_point_id || ':' || coalesce(route_id::text, '-') || ':' || coalesce(seq::text, '-')
		FROM deliveries WHERE wave_id = $1 ORDER BY id`, wave); err != nil {
		t.Fatal(err)
	}
	want := []string{fmt.Sprintf("%d:%d:2", c.Points[0].ID, route), fmt.Sprintf("%d:-:-", c.Points[1].ID), fmt.Sprintf("%d:%d:1", c.Points[2].ID, route)}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("deliveries %v, want %v", got, want)
	}
}

// A truck's arrival finds its delivery by the route stop's index, however
// many nights of deliveries the table keeps: without it every arrival read
// every delivery ever made (migration 00084).
func TestArrivalFindsItsDeliveryByTheStopIndex(t *testing.T) {
	c := fulfillmenttest.New(t, 50)
	van := c.Van()
	// Sixty nights, one route a night serving the fifty points.
	c.Exec(`INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at)
		SELECT $1, $2::date + g, $3::timestamptz + g * interval '1 day', $4, $4 FROM generate_series(0, 59) g`,
		c.Warehouse, fulfillmenttest.Date, fulfillmenttest.Cutoff, fulfillmenttest.Now)
	c.Exec(`INSERT INTO routes (wave_id, route_no, code, vehicle_type_id, stops, weight_g, volume_ml, distance_m, departure_at, return_at, cost_fen)
		SELECT id, 1, 'R01', $1, 50, 1000, 1000, 1000, $2, $2, 0 FROM waves`, van, fulfillmenttest.Now)
	c.Exec(`INSERT INTO deliveries (wave_id, pickup_point_id, route_id, seq)
		SELECT r.wave_id, p.id, r.id, row_number() OVER (PARTITION BY r.id ORDER BY p.id)
		FROM routes r CROSS JOIN pickup_points p`)
	c.Exec(`ANALYZE deliveries`)
	route := c.ID(`SELECT max(id) FROM routes`)
	var plan []string
	if err := c.DB.Select(&plan, `EXPLAIN UPDATE deliveries SET arrived_at = now() WHERE route_id = $1 AND seq = $2`, route, 7); err != nil {
		t.Fatal(err)
	}
	if text := strings.Join(plan, "\n"); !strings.Contains(text, "deliveries_route_stop") {
		t.Errorf("an arrival does not find its delivery by the stop's index:\n%s", text)
	}
}
