package daysummary_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/daysummary"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/lastmile/lastmiletest"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestSummaryOfASmallNight: three points order 10 units; allocation cut an
// egg; one route of 30 km costing 450 yuan reaches two stops within the
// 07:00-10:00 window and the third at 10:20; a leader finds an egg damaged;
// two of the three residents collect. Every figure of the summary is
// checked against the counts worked out by hand.
func TestSummaryOfASmallNight(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 3)
	egg := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 1000, 100)
	rice := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 4000, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 4})
	short := c.Order(1, fulfillmenttest.Line{SaleItem: egg, Quantity: 2}, fulfillmenttest.Line{SaleItem: rice, Quantity: 2})
	c.Order(2, fulfillmenttest.Line{SaleItem: rice, Quantity: 2})
	id := c.Wave()
	// The night as its stages leave it: closed with its totals, one egg cut
	// and refunded, sorted into bags, one route of three stops.
	c.Exec(`UPDATE waves SET state = 'ready', closed_at = $2, orders = 3, lines = 4, units = 10, amount_fen = 18000 WHERE id = $1`, id, fulfillmenttest.Cutoff)
	cutLine := c.ID(`SELECT id FROM order_lines WHERE order_id = $1 AND sale_item_id = $2`, short, egg)
	c.Exec(`INSERT INTO line_cuts (order_line_id, wave_id, cut) VALUES ($1, $2, 1)`, cutLine, id)
	c.Exec(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		VALUES ($1, $2, $3, $4, 'shortage', 1, 1000, $5)`, id, short, cutLine, c.Points[1].Resident, fulfillmenttest.Cutoff)
	for _, s := range []struct {
		point     int
		item, qty int64
		zone      fulfillment.Zone
	}{{0, egg, 4, fulfillment.Chilled}, {1, egg, 1, fulfillment.Chilled}, {1, rice, 2, fulfillment.Ambient}, {2, rice, 2, fulfillment.Ambient}} {
		c.Exec(`INSERT INTO sort_lines (wave_id, pickup_point_id, zone, sale_item_ids, quantities, delivery_date)
			VALUES ($1, $3, $4, ARRAY[$2::bigint], ARRAY[$5::int], $6)`,
			id, s.item, c.Points[s.point].ID, s.zone, s.qty, fulfillmenttest.Date)
		c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, $3, $4, 1, 500, 500)
			ON CONFLICT (wave_id, pickup_point_id, zone) DO NOTHING`, id, c.Points[s.point].ID, s.zone, s.qty)
	}
	van := c.Van()
	// 07:00-10:00 in Shanghai on the delivery date.
	local := func(hh, mm int) time.Time { return time.Date(2026, 12, 1, hh-8, mm, 0, 0, time.UTC) }
	route := c.ID(`INSERT INTO routes (wave_id, route_no, code, vehicle_type_id, stops, weight_g, volume_ml, distance_m, departure_at, return_at, cost_fen)
		VALUES ($1, 1, 'R01', $2, 3, 3000, 3000, 30000, $3, $4, 45000) RETURNING id`, id, van, local(6, 30), local(11, 0))
	for i, p := range c.Points {
		planned := local(7, 30+40*i)
		c.Exec(`INSERT INTO route_stops (route_id, seq, pickup_point_id, arrival_at, start_at, departure_at, weight_g, volume_ml, bags,
			window_start, window_end) VALUES ($1, $2, $3, $4, $4, $5, 1000, 1000, 1, $6, $7)`,
			route, i+1, p.ID, planned, planned.Add(5*time.Minute), local(7, 0), local(10, 0))
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { return lastmile.MakeDeliveries(ctx, tx, id) }); err != nil {
		t.Fatal(err)
	}

	clk := clock.NewManual(local(5, 0))
	svc := lastmile.NewService(c.DB, clk, refund.Metrics{})
	// Dispatching again, the wave or its route, sends no truck twice, and
	// the timeline says once that the trucks left.
	for _, r := range []int64{0, 0, route} {
		if _, err := svc.Dispatch(ctx, id, r); err != nil {
			t.Fatal(err)
		}
	}
	if n := c.Count(`SELECT count(*) FROM wave_events WHERE wave_id = $1 AND kind = 'routes_dispatched'`, id); n != 1 {
		t.Fatalf("%d routes_dispatched events for one dispatch", n)
	}
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	for i, arrive := range []time.Time{local(7, 25), local(9, 50), local(10, 20)} {
		clk.Set(arrive)
		d, err := svc.Arrive(ctx, route, i+1)
		if err != nil {
			t.Fatal(err)
		}
		var req lastmile.ReceiveRequest
		if i == 0 {
			req.Lines = []lastmile.ReceiptLine{{SaleItemID: egg, Damaged: 1}}
		}
		clk.Set(arrive.Add(10 * time.Minute))
		if _, err := svc.Receive(ctx, c.Points[i].Leader, d.ID, req); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(local(11, 0))
	for _, i := range []int{0, 2} {
		code, err := pickup.ResidentCode(ctx, c.DB, c.Points[i].ID, fulfillmenttest.Date.Time, c.Points[i].Resident)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := desk.Collect(ctx, c.Points[i].Leader, code, nil); err != nil {
			t.Fatal(err)
		}
	}

	s, err := daysummary.Of(ctx, c.DB, id)
	if err != nil {
		t.Fatal(err)
	}
	// Received in good order: 3 eggs at point 0, 1 egg and 2 rice at 1, 2 rice at 2.
	want := daysummary.Summary{WaveID: id, WarehouseID: c.Warehouse, DeliveryDate: fulfillmenttest.Date, State: "delivered",
		Orders: 3, Lines: 4, UnitsOrdered: 10, UnitsCut: 1,
		FillRate: 0.8, CutRate: 0.1, OnTimeRate: 0.6667, KmPerOrder: 10, CostPerOrderFen: 15000, CollectionRate: 0.625,
		Driving: routeplan.Driving{Routes: 1, DistanceM: 30000, CostFen: 45000, Stops: 3, StopsReached: 3, StopsOnTime: 2},
		Points: lastmile.Outcome{Deliveries: 3, Received: 3, UnitsExpected: 9, UnitsReceived: 8, UnitsDamaged: 1,
			UnitsReady: 8, UnitsCollected: 5, Residents: 3, ResidentsCollected: 2}}
	if s != want {
		t.Fatalf("summary\n got %+v\nwant %+v", s, want)
	}
	if _, err := daysummary.Of(ctx, c.DB, id+1000); err == nil {
		t.Fatal("the summary of a wave that does not exist")
	}
}
