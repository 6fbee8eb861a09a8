package intake

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/pickup"
)

// DemandByPoint is what each pickup point of a warehouse receives for a
// delivery date: grams and millilitres of placed orders. It weights the
// pickup network's delivery areas; pickup cannot ask itself, as it never
// imports fulfillment.
func DemandByPoint(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date time.Time) ([]pickup.Demand, error) {
	const stmt = `SELECT o.pickup_point_id, sum(ol.quantity::bigint * p.weight_g) AS weight_g, sum(ol.quantity::bigint * p.volume_ml) AS volume_ml
		FROM orders o
		JOIN order_lines ol ON ol.order_id = o.id AND ol.delivery_date = o.delivery_date
		JOIN sale_items si ON si.id = ol.sale_item_id
		JOIN products p ON p.id = si.product_id
		WHERE o.warehouse_id = $1 AND o.delivery_date = $2 AND o.status = 'placed'
		GROUP BY o.pickup_point_id ORDER BY o.pickup_point_id`
	var out []pickup.Demand
	err := sqlx.SelectContext(ctx, q, &out, stmt, warehouseID, date.Format(time.DateOnly))
	return out, err
}
