// Package fulfillmenttest seeds a small city into a fresh migrated test
// database, so that the fulfillment subpackages' tests against PostgreSQL
// stay short: one warehouse (Asia/Shanghai, cutoff 23:00 the day before
// delivery), pickup points each with a leader and a resident, products,
// sale items and placed orders. It writes test rows with plain SQL and
// imports none of the subpackages, so each of them can use it.
package fulfillmenttest

import (
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/internal/testenv"
)

// Date is the delivery date of the city's orders, and Now a moment on the
// day before, ahead of the cutoff (2026-11-30 23:00 in Shanghai).
var (
	Date = fulfillment.Date{Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	Now  = time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
)

// Cutoff is when ordering for Date ends: 23:00 in Shanghai the day before.
var Cutoff = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)

// Point is a pickup point with its leader and one resident.
type Point struct{ ID, Leader, Resident int64 }

// City is the seeded database.
type City struct {
	T         testing.TB
	DB        *sqlx.DB
	Warehouse int64
	Points    []Point
	seq       int
}

// New makes a database with one warehouse and points pickup points.
func New(t testing.TB, points int) *City {
	t.Helper()
	c := &City{T: t, DB: testenv.DB(t)}
	c.Warehouse = c.ID(`INSERT INTO warehouses (code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
		VALUES ('WH', '测试仓', '仓库路1号', 31.10, 121.40, 'Asia/Shanghai', '23:00', '07:00', '11:00') RETURNING id`)
	for i := range points {
		var p Point
		p.Leader = c.ID(`INSERT INTO leaders (name, phone) VALUES ($1, $2) RETURNING id`, fmt.Sprintf("团长%d", i), fmt.Sprintf("1390000%04d", i))
		p.ID = c.ID(`INSERT INTO pickup_points (code, warehouse_id, leader_id, name, address, lat, lng, opens, closes)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '08:00', '21:00') RETURNING id`, fmt.Sprintf("P%d", i), c.Warehouse, p.Leader,
			fmt.Sprintf("自提点%d", i), fmt.Sprintf("小区%d号", i), 31.10+float64(i%7)*0.01, 121.40+float64(i/7)*0.01)
		p.Resident = c.ID(`INSERT INTO residents (phone, name, pickup_point_id) VALUES ($1, '居民', $2) RETURNING id`,
			fmt.Sprintf("1380000%04d", i), p.ID)
		c.Points = append(c.Points, p)
	}
	return c
}

// ID runs a statement that returns one id.
func (c *City) ID(q string, args ...any) int64 {
	c.T.Helper()
	var id int64
	if err := c.DB.Get(&id, q, args...); err != nil {
		c.T.Fatalf("%s: %v", q, err)
	}
	return id
}

// Exec runs a statement.
func (c *City) Exec(q string, args ...any) {
	c.T.Helper()
	if _, err := c.DB.Exec(q, args...); err != nil {
		c.T.Fatalf("%s: %v", q, err)
	}
}

// Count runs a statement that returns one number.
func (c *City) Count(q string, args ...any) int64 {
	c.T.Helper()
	return c.ID(q, args...)
}

// Product adds a product of a zone and category ("" for none), 500 g and
// 500 ml a unit.
func (c *City) Product(sku string, zone fulfillment.Zone, category string) int64 {
	return c.ID(`INSERT INTO products (sku, name, unit, weight_g, volume_ml, zone, bin, category, created_at)
		VALUES ($1, $2, '份', 500, 500, $3, $4, $5, $6) RETURNING id`, sku, "商品"+sku, zone, "A-"+sku, category, Now)
}

// Van adds the warehouse's vehicle type VAN (one van, 1 t and 1 m³, on
// shift 05:00-12:00) and returns its id, for routes made by hand.
func (c *City) Van() int64 {
	return c.ID(`INSERT INTO vehicle_types (warehouse_id, code, name, count, capacity_g, capacity_ml, shift_start, shift_end, created_at)
		VALUES ($1, 'VAN', '厢式车', 1, 1000000, 1000000, '05:00', '12:00', $2) RETURNING id`, c.Warehouse, Now)
}

// Wave opens the wave of Date (as publishing does) and returns its id.
func (c *City) Wave() int64 {
	c.Exec(`INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $4) ON CONFLICT (warehouse_id, delivery_date) DO NOTHING`, c.Warehouse, Date, Cutoff, Now)
	return c.ID(`SELECT id FROM waves WHERE warehouse_id = $1 AND delivery_date = $2`, c.Warehouse, Date)
}

// SaleItem puts a product on sale for Date at a price with a stock cap,
// opening the wave.
func (c *City) SaleItem(product, priceFen, stockCap int64) int64 {
	c.Wave()
	return c.ID(`INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`, c.Warehouse, product, Date, priceFen, stockCap, Now)
}

// Line is a quantity of a sale item in an order.
type Line struct{ SaleItem, Quantity int64 }

// Order places an order at a point for its resident, placed at Now plus
// its rank (so orders sort in the order made), and takes its units off the
// sale items' stock. It returns the order's id.
func (c *City) Order(point int, lines ...Line) int64 {
	c.T.Helper()
	p := c.Points[point]
	c.seq++
	at := Now.Add(time.Duration(c.seq) * time.Second)
	order := c.ID(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key,
		request_hash, total_fen, created_at) VALUES ($1, $2, $3, $4, $5, 'placed', $6, '\x00', 0, $7) RETURNING id`,
		p.Leader, p.ID, p.Resident, c.Warehouse, Date, fmt.Sprintf("seed-%d", c.seq), at)
	for _, l := range lines {
		c.Exec(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date)
			SELECT $1, id, $3, price_fen, delivery_date FROM sale_items WHERE id = $2`, order, l.SaleItem, l.Quantity)
		c.Exec(`UPDATE sale_items SET sold = sold + $2 WHERE id = $1`, l.SaleItem, l.Quantity)
	}
	c.Exec(`UPDATE orders SET total_fen = (SELECT coalesce(sum(quantity * price_fen), 0) FROM order_lines WHERE order_id = $1)
		WHERE id = $1`, order)
	return order
}
