package intake_test

import (
	"context"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/intake"
)

// TestOrderTellsItsStory follows one order through the night with the rows
// each stage leaves: its status moves placed → confirmed → short_shipped →
// delivered → ready_for_pickup → partly_collected → collected, and each
// line tells what was cut, lost and collected, with amounts, reasons and
// times; ops find it by phone, point, order and line.
func TestOrderTellsItsStory(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	egg := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 100)
	rice := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 500, 100)
	id := c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 3}, fulfillmenttest.Line{SaleItem: rice, Quantity: 1})
	wave, p := c.Wave(), c.Points[0]
	eggLine := c.Count(`SELECT id FROM order_lines WHERE order_id = $1 AND sale_item_id = $2`, id, egg)
	riceLine := c.Count(`SELECT id FROM order_lines WHERE order_id = $1 AND sale_item_id = $2`, id, rice)
	get := func(want intake.OrderStatus) intake.Order {
		t.Helper()
		o, err := intake.GetOrder(ctx, c.DB, id)
		if err != nil || o.Status != want {
			t.Fatalf("order: %s (%v), want %s", o.Status, err, want)
		}
		return o
	}
	o := get(intake.Placed)
	if l := o.Lines[0]; l.ID != eggLine || l.Story == nil || l.Story.Ordered.Units != 3 || l.Story.Ordered.AmountFen != 300 || l.Story.Cut != nil {
		t.Fatalf("egg line while open: %+v %+v", l, l.Story)
	}
	c.Exec(`UPDATE waves SET state = 'closed', closed_at = $2 WHERE id = $1`, wave, fulfillmenttest.Cutoff)
	get(intake.Confirmed)
	// Allocation cuts an egg and refunds it.
	c.Exec(`UPDATE waves SET state = 'allocated' WHERE id = $1`, wave)
	c.Exec(`INSERT INTO line_cuts (order_line_id, wave_id, cut) VALUES ($1, $2, 1)`, eggLine, wave)
	c.Exec(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		VALUES ($1, $2, $3, $4, 'shortage', 1, 100, $5)`, wave, id, eggLine, p.Resident, fulfillmenttest.Cutoff)
	o = get(intake.ShortShipped)
	if cut := o.Lines[0].Story.Cut; cut == nil || cut.Units != 1 || cut.AmountFen != 100 || cut.Reason != "shortage" || cut.Why != "仓库缺货" ||
		cut.At == nil || !cut.At.Equal(fulfillmenttest.Cutoff) || cut.State != "created" {
		t.Fatalf("cut: %+v", cut)
	}
	delivery := c.ID(`INSERT INTO deliveries (wave_id, pickup_point_id, state, arrived_at) VALUES ($1, $2, 'arrived', $3) RETURNING id`,
		wave, p.ID, fulfillmenttest.Cutoff)
	get(intake.Delivered)
	// Receipt: one egg is missing; an egg and the rice are ready.
	c.Exec(`UPDATE deliveries SET state = 'received', received_at = $2 WHERE id = $1`, delivery, fulfillmenttest.Cutoff)
	c.Exec(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		VALUES ($1, $2, $3, $4, 'missing', 1, 100, $5)`, wave, id, eggLine, p.Resident, fulfillmenttest.Cutoff)
	for _, l := range []int64{eggLine, riceLine} {
		c.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6)`, l, delivery, p.ID, p.Resident, fulfillmenttest.Date, fulfillmenttest.Cutoff)
	}
	o = get(intake.ReadyForPickup)
	s := o.Lines[0].Story
	if s.Missing == nil || s.Missing.Units != 1 || s.Ready == nil || s.Ready.Units != 1 || s.Refunded.Units != 2 || s.Refunded.AmountFen != 200 ||
		len(s.Refunds) != 2 || s.Collected != nil {
		t.Fatalf("egg after receipt: %+v", s)
	}
	c.Exec(`UPDATE parcel_lines SET state = 'collected', collected_at = $2 WHERE order_line_id = $1`, eggLine, fulfillmenttest.Cutoff)
	get(intake.PartlyCollected)
	c.Exec(`UPDATE parcel_lines SET state = 'collected', collected_at = $2 WHERE order_line_id = $1`, riceLine, fulfillmenttest.Cutoff)
	if o = get(intake.Collected); o.Lines[1].Story.Collected == nil || o.Lines[1].Story.Collected.AmountFen != 500 {
		t.Fatalf("rice collected: %+v", o.Lines[1].Story)
	}

	var phone string
	if err := c.DB.Get(&phone, `SELECT phone FROM residents WHERE id = $1`, p.Resident); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]intake.OrderSearch{
		"phone": {Phone: phone}, "point": {PointID: p.ID}, "order": {OrderID: id}, "line": {LineID: riceLine},
	} {
		s.Limit = 10
		found, err := intake.FindOrders(ctx, c.DB, s)
		if err != nil || len(found) != 1 || found[0].ID != id || found[0].Status != intake.Collected {
			t.Errorf("by %s: %+v (%v)", name, found, err)
		}
	}
	if found, err := intake.FindOrders(ctx, c.DB, intake.OrderSearch{Phone: "13999999999", Limit: 10}); err != nil || len(found) != 0 {
		t.Errorf("another phone: %+v (%v)", found, err)
	}
}
