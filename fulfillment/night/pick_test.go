package night

import (
	"context"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/wave"
)

// TestPickPlanIsTheLinesLessTheirCuts runs the pick stage on an allocated
// wave of several points, zones and orders, with a cancelled order, a line
// cut in part and a point's only line of a SKU cut to nothing, and checks
// the bags, their sort lines and the pick list against one aggregate of the
// lines in SQL.
func TestPickPlanIsTheLinesLessTheirCuts(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 4)
	zones := []fulfillment.Zone{fulfillment.Ambient, fulfillment.Chilled, fulfillment.Frozen, fulfillment.Chilled}
	var items []int64
	for i, z := range zones {
		p := c.Product(string(rune('A'+i)), z, "")
		c.Exec(`UPDATE products SET weight_g = $2, volume_ml = $3 WHERE id = $1`, p, 100*(i+1), 70*(i+2))
		items = append(items, c.SaleItem(p, 100, 1000))
	}
	line := func(i int, q int64) fulfillmenttest.Line {
		return fulfillmenttest.Line{SaleItem: items[i], Quantity: q}
	}
	c.Order(0, line(0, 2), line(1, 3))
	c.Order(0, line(1, 4), line(3, 1), line(2, 5))
	c.Order(1, line(3, 2))
	cancelled := c.Order(1, line(0, 9))
	c.Order(2, line(2, 1), line(0, 1))
	c.Order(3, line(1, 6))
	id := c.Wave()
	c.Exec(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, cancelled)
	c.Exec(`UPDATE waves SET state = 'allocated' WHERE id = $1`, id)
	cut := func(point int, item, units int64) {
		c.Exec(`INSERT INTO line_cuts (order_line_id, wave_id, cut)
			SELECT ol.id, $3, $4 FROM order_lines ol JOIN orders o ON o.id = ol.order_id
			WHERE o.pickup_point_id = $1 AND ol.sale_item_id = $2 AND o.status = 'placed'`, c.Points[point].ID, item, id, units)
	}
	cut(3, items[1], 2) // point 3 keeps 4 of 6
	cut(2, items[2], 1) // point 2's only frozen line: nothing left, no frozen bag

	r := newTestRunner(t, c)
	if ok, err := r.RunStage(ctx, wave.StagePick, id); err != nil || !ok {
		t.Fatalf("pick: %v %v", ok, err)
	}
	// Every column of every bag and sort line, and of the pick list, against
	// the same figures summed from the lines in SQL.
	const lines = `WITH sl AS (
			SELECT o.pickup_point_id, ol.sale_item_id, sum(ol.quantity - coalesce(lc.cut, 0)) AS units
			FROM orders o JOIN order_lines ol ON ol.order_id = o.id LEFT JOIN line_cuts lc ON lc.order_line_id = ol.id
			WHERE o.status = 'placed' GROUP BY 1, 2 HAVING sum(ol.quantity - coalesce(lc.cut, 0)) > 0
		), j AS (SELECT sl.*, p.zone, p.weight_g, p.volume_ml, p.bin, p.sku, p.name, p.unit
			FROM sl JOIN sale_items si ON si.id = sl.sale_item_id JOIN products p ON p.id = si.product_id)`
	for _, q := range []struct{ what, got, want string }{
		{"bags",
			`SELECT pickup_point_id, zone, units, skus, weight_g, volume_ml FROM bags WHERE wave_id = $1`,
			`SELECT pickup_point_id, zone, sum(units), count(*), sum(units * weight_g), sum(units * volume_ml) FROM j GROUP BY 1, 2`},
		{"sort lines",
			`SELECT pickup_point_id, zone, sale_item_ids::text, quantities::text FROM sort_lines WHERE wave_id = $1`,
			`SELECT pickup_point_id, zone, array_agg(sale_item_id ORDER BY sale_item_id)::text,
				array_agg(units ORDER BY sale_item_id)::text FROM j GROUP BY 1, 2`},
		{"pick list",
			`SELECT sale_item_id, zone, bin, sku, name, unit, quantity FROM pick_lines WHERE wave_id = $1`,
			`SELECT sale_item_id, zone, bin, sku, name, unit, sum(units) FROM j GROUP BY 1, 2, 3, 4, 5, 6`},
	} {
		differ := c.Count(lines+`, got AS (`+q.got+`), want AS (`+q.want+`)
			SELECT count(*) FROM ((TABLE got EXCEPT ALL TABLE want) UNION ALL (TABLE want EXCEPT ALL TABLE got)) d`, id)
		if differ != 0 {
			t.Errorf("%s: %d rows differ from the lines less their cuts", q.what, differ)
		}
	}
	if n := c.Count(`SELECT count(*) FROM bags WHERE wave_id = $1`, id); n != 6 {
		t.Errorf("%d bags, want 6: three at point 0, one at each other point (point 2 without its frozen line, cut to nothing)", n)
	}
}
