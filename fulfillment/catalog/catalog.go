// Package catalog owns what is for sale: products, and sale items (a
// product at a warehouse for a delivery date, with a price and a stock cap
// that orders never exceed). Publishing opens the date's wave (package wave);
// the sold counters move only through TakeStock and ReturnStock, which the
// order intake calls in its transactions.
package catalog

import (
	"context"
	"errors"
	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Product is a stock-keeping unit the warehouse handles.
type Product struct {
	ID        int64            `db:"id" json:"id"`
	SKU       string           `db:"sku" json:"sku"`
	Name      string           `db:"name" json:"name"`
	Unit      string           `db:"unit" json:"unit"` // 份, 盒, 斤, kg...
	WeightG   int64            `db:"weight_g" json:"weight_g"`
	VolumeML  int64            `db:"volume_ml" json:"volume_ml"`
	Zone      fulfillment.Zone `db:"zone" json:"zone"`
	Bin       string           `db:"bin" json:"bin"` // bin location; sorting by it gives the walking order
	Category  string           `db:"category" json:"category"`
	CreatedAt time.Time        `db:"created_at" json:"created_at"`
}

// SaleItem is a product on sale at one warehouse for one delivery date, with
// a price and a stock cap that orders may never exceed.
type SaleItem struct {
	ID           int64            `db:"id" json:"id"`
	WarehouseID  int64            `db:"warehouse_id" json:"warehouse_id"`
	ProductID    int64            `db:"product_id" json:"product_id"`
	DeliveryDate fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	PriceFen     int64            `db:"price_fen" json:"price_fen"`
	StockCap     int64            `db:"stock_cap" json:"stock_cap" doc:"The stock cap: orders never take more units than this."`
	Sold         int64            `db:"sold" json:"sold" doc:"Units taken by placed orders."`
	Remaining    int64            `db:"remaining" json:"remaining" doc:"stock_cap less sold: what orders may still take."`
	SKU          string           `db:"sku" json:"sku"`
	Name         string           `db:"name" json:"name"`
	Unit         string           `db:"unit" json:"unit"`
	Zone         fulfillment.Zone `db:"zone" json:"zone"`
	Category     string           `db:"category" json:"category"`
	WeightG      int64            `db:"weight_g" json:"weight_g"`
	VolumeML     int64            `db:"volume_ml" json:"volume_ml"`
	UpdatedAt    time.Time        `db:"updated_at" json:"updated_at"`
	UsableStock  *int64           `db:"-" json:"usable_stock,omitempty" doc:"Ops' lists only: units of the product on hand at the warehouse and still usable on the delivery date, for setting the cap."`
}

// Errors.
var (
	ErrProductNotFound  = apperr.Errorf(apperr.NotFound, "product_not_found", "product not found")
	ErrSaleItemNotFound = apperr.Errorf(apperr.NotFound, "sale_item_not_found", "sale item not found")
	ErrCapBelowSold     = apperr.Errorf(apperr.Conflict, "cap_below_sold", "the stock cap cannot go below what is already sold")
)

// Validate checks a product before it is stored.
func (p *Product) Validate() error {
	p.SKU, p.Name, p.Unit, p.Bin = strings.TrimSpace(p.SKU), strings.TrimSpace(p.Name), strings.TrimSpace(p.Unit), strings.TrimSpace(p.Bin)
	if err := input.CheckCode("sku", p.SKU); err != nil {
		return err
	}
	switch {
	case !input.Printable(p.Name, 100):
		return apperr.InvalidField("name", "name is required: up to 100 printable characters")
	case !input.Printable(p.Unit, 10):
		return apperr.InvalidField("unit", "unit is required: up to 10 printable characters (e.g. 份, 盒, kg)")
	case p.WeightG <= 0 || p.WeightG > fulfillment.MaxWeightG:
		return apperr.InvalidField("weight_g", "weight_g must be between 1 and %d grams", fulfillment.MaxWeightG)
	case p.VolumeML <= 0 || p.VolumeML > fulfillment.MaxVolumeML:
		return apperr.InvalidField("volume_ml", "volume_ml must be between 1 and %d millilitres", fulfillment.MaxVolumeML)
	case !p.Zone.Valid():
		return apperr.InvalidField("zone", "zone must be ambient, chilled or frozen")
	case !input.Printable(p.Bin, 20):
		return apperr.InvalidField("bin", "bin is required: the bin location, up to 20 characters")
	case !input.OptionalPrintable(p.Category, 50):
		return apperr.InvalidField("category", "category may hold up to 50 characters, valid UTF-8 without control characters")
	}
	return nil
}

const productCols = `id, sku, name, unit, weight_g, volume_ml, zone, bin, category, created_at`

// upsertProducts stores products by SKU, updating those that exist.
func upsertProducts(ctx context.Context, tx sqlx.ExtContext, ps []Product, now time.Time) ([]Product, error) {
	cols := struct {
		sku, name, unit, zone, bin, cat []string
		w, v                            []int64
	}{}
	for _, p := range ps {
		cols.sku, cols.name, cols.unit = append(cols.sku, p.SKU), append(cols.name, p.Name), append(cols.unit, p.Unit)
		cols.zone, cols.bin, cols.cat = append(cols.zone, string(p.Zone)), append(cols.bin, p.Bin), append(cols.cat, p.Category)
		cols.w, cols.v = append(cols.w, p.WeightG), append(cols.v, p.VolumeML)
	}
	// A product the snapshot already holds as given is only read: a daily
	// import of the whole catalogue would otherwise write a new version of
	// every row, dead rows that every join to products then wades through
	// until a vacuum. The rest are upserted (a row changed since the
	// snapshot is updated like any other).
	const q = `WITH given AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[])
			WITH ORDINALITY AS g(sku, name, unit, weight_g, volume_ml, zone, bin, category, n)),
		same AS (SELECT g.n, p.id FROM given g JOIN products p ON p.sku = g.sku
			WHERE (p.name, p.unit, p.weight_g, p.volume_ml, p.zone, p.bin, p.category)
				= (g.name, g.unit, g.weight_g, g.volume_ml, g.zone, g.bin, g.category)),
		written AS (INSERT INTO products (sku, name, unit, weight_g, volume_ml, zone, bin, category, created_at)
			SELECT g.sku, g.name, g.unit, g.weight_g, g.volume_ml, g.zone, g.bin, g.category, $9::timestamptz FROM given g
			WHERE NOT EXISTS (SELECT 1 FROM same s WHERE s.n = g.n) ORDER BY g.n
			ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, unit = EXCLUDED.unit, weight_g = EXCLUDED.weight_g,
				volume_ml = EXCLUDED.volume_ml, zone = EXCLUDED.zone, bin = EXCLUDED.bin, category = EXCLUDED.category
			RETURNING ` + productCols + `)
		SELECT p.* FROM (SELECT ` + productCols + ` FROM products WHERE id IN (SELECT id FROM same)
			UNION ALL SELECT * FROM written) AS p JOIN given g ON g.sku = p.sku ORDER BY g.n`
	out := []Product{}
	err := sqlx.SelectContext(ctx, tx, &out, q, pq.Array(cols.sku), pq.Array(cols.name), pq.Array(cols.unit),
		pq.Array(cols.w), pq.Array(cols.v), pq.Array(cols.zone), pq.Array(cols.bin), pq.Array(cols.cat), now)
	return out, err
}

// ProductPage is a page of products by id.
type ProductPage struct {
	Products []Product `json:"products"`
	NextID   int64     `json:"next_after_id,omitempty"`
	HasMore  bool      `json:"has_more"`
}

// ListProducts returns the products after afterID by id: limit of them (1
// to 1000; otherwise 200), and whether more follow.
func ListProducts(ctx context.Context, q sqlx.QueryerContext, afterID int64, limit int) (ProductPage, error) {
	limit = fulfillment.PageSize(limit, 200)
	page := ProductPage{Products: []Product{}}
	// One more than the limit tells whether another page exists.
	if err := sqlx.SelectContext(ctx, q, &page.Products, `SELECT `+productCols+` FROM products WHERE id > $1 ORDER BY id LIMIT $2`,
		afterID, limit+1); err != nil {
		return page, err
	}
	page.Products, page.NextID, page.HasMore = fulfillment.CutPage(page.Products, limit, func(p Product) int64 { return p.ID })
	return page, nil
}

// productIDsBySKU maps SKUs to product ids.
func productIDsBySKU(ctx context.Context, q sqlx.QueryerContext, skus []string) (map[string]int64, error) {
	var rows []struct {
		ID  int64  `db:"id"`
		SKU string `db:"sku"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT id, sku FROM products WHERE sku = ANY($1)`, pq.Array(skus)); err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(rows))
	for _, r := range rows {
		out[r.SKU] = r.ID
	}
	return out, nil
}

const saleItemSelect = `SELECT si.id, si.warehouse_id, si.product_id, si.delivery_date, si.price_fen, si.stock_cap, si.sold,
	si.stock_cap - si.sold AS remaining, p.sku, p.name, p.unit, p.zone, p.category, p.weight_g, p.volume_ml, si.updated_at
	FROM sale_items si JOIN products p ON p.id = si.product_id`

// ListSaleItems returns a warehouse's sale items for a delivery date, by SKU.
func ListSaleItems(ctx context.Context, q sqlx.QueryerContext, warehouseID int64, date fulfillment.Date) ([]SaleItem, error) {
	out := []SaleItem{}
	err := sqlx.SelectContext(ctx, q, &out, saleItemSelect+` WHERE si.warehouse_id = $1 AND si.delivery_date = $2 ORDER BY p.sku`,
		warehouseID, date)
	return out, err
}

// GetSaleItem loads one sale item.
func GetSaleItem(ctx context.Context, q sqlx.QueryerContext, id int64) (SaleItem, error) {
	return pg.GetOne[SaleItem](ctx, q, ErrSaleItemNotFound, saleItemSelect+` WHERE si.id = $1`, id)
}

// Offer is one product to publish for sale.
type Offer struct {
	ProductID int64  `json:"product_id"`
	SKU       string `json:"sku"`
	PriceFen  int64  `json:"price_fen"`
	StockCap  int64  `json:"stock_cap"`
}

// publish upserts sale items for (warehouse, date). Republishing changes the
// price and cap; a cap below what is sold is refused.
func publish(ctx context.Context, tx *sqlx.Tx, warehouseID int64, date fulfillment.Date, offers []Offer, now time.Time) ([]SaleItem, error) {
	var skus []string
	for _, o := range offers {
		if o.ProductID == 0 {
			skus = append(skus, o.SKU)
		}
	}
	if len(skus) > 0 {
		ids, err := productIDsBySKU(ctx, tx, skus)
		if err != nil {
			return nil, err
		}
		for i := range offers {
			if offers[i].ProductID == 0 {
				id, ok := ids[offers[i].SKU]
				if !ok {
					return nil, apperr.Errorf(apperr.Unprocessable, "unknown_sku", "items[%d]: no product with sku %q", i, offers[i].SKU)
				}
				offers[i].ProductID = id
			}
		}
	}
	byProduct := make(map[int64]int, len(offers))
	for i, o := range offers {
		if j, dup := byProduct[o.ProductID]; dup {
			return nil, apperr.InvalidField("items["+strconv.Itoa(i)+"]", "items[%d] and items[%d] name the same product", j, i)
		}
		byProduct[o.ProductID] = i
	}
	pids, prices, caps := make([]int64, len(offers)), make([]int64, len(offers)), make([]int64, len(offers))
	for i, o := range offers {
		pids[i], prices[i], caps[i] = o.ProductID, o.PriceFen, o.StockCap
	}
	// The upsert locks the items it changes in the order listed; an order or
	// a cancel locks them in id order (TakeStockCTEs, ReturnStock). Taking
	// them in id order first keeps the two from deadlocking.
	if _, err := tx.ExecContext(ctx, `SELECT id FROM sale_items WHERE warehouse_id = $1 AND delivery_date = $2 AND product_id = ANY($3)
		ORDER BY id FOR NO KEY UPDATE`, warehouseID, date, pq.Array(pids)); err != nil {
		return nil, err
	}
	const q = `INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, created_at, updated_at)
		SELECT $1, pid, $2, price, cap, $6, $6 FROM unnest($3::bigint[], $4::bigint[], $5::int[]) AS t(pid, price, cap)
		ON CONFLICT (warehouse_id, delivery_date, product_id) DO UPDATE
			SET price_fen = EXCLUDED.price_fen, stock_cap = EXCLUDED.stock_cap, updated_at = EXCLUDED.updated_at
		RETURNING id`
	var ids []int64
	err := sqlx.SelectContext(ctx, tx, &ids, q, warehouseID, date, pq.Array(pids), pq.Array(prices), pq.Array(caps), now)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch {
		case pqErr.Constraint == "sale_items_within_cap":
			return nil, ErrCapBelowSold
		case pqErr.Code == "23503" && strings.Contains(pqErr.Constraint, "warehouse"):
			return nil, apperr.Errorf(apperr.NotFound, "warehouse_not_found", "warehouse %d not found", warehouseID)
		case pqErr.Code == "23503":
			return nil, apperr.Errorf(apperr.Unprocessable, "unknown_product", "a product_id names no product")
		}
	}
	if err != nil {
		return nil, err
	}
	out := []SaleItem{}
	err = sqlx.SelectContext(ctx, tx, &out, saleItemSelect+` WHERE si.id = ANY($1) ORDER BY p.sku`, pq.Array(ids))
	return out, err
}

// setCap changes a sale item's stock cap.
func setCap(ctx context.Context, tx *sqlx.Tx, id, cap int64, now time.Time) (SaleItem, error) {
	res, err := tx.ExecContext(ctx, `UPDATE sale_items SET stock_cap = $2, updated_at = $3 WHERE id = $1`, id, cap, now)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Constraint == "sale_items_within_cap" {
		return SaleItem{}, ErrCapBelowSold
	}
	if err != nil {
		return SaleItem{}, err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return SaleItem{}, ErrSaleItemNotFound
	}
	return GetSaleItem(ctx, tx, id)
}

// MaxSaleDaysAhead bounds how far ahead a sale may be published: a quarter
// is more than any group buy plans, and a typo in the year is caught.
const MaxSaleDaysAhead = 90

// checkSaleDate refuses a new sale's delivery date before the warehouse's
// today (in its time zone) or more than MaxSaleDaysAhead days after it.
func checkSaleDate(w pickup.Warehouse, date fulfillment.Date, now time.Time) error {
	loc, err := w.Location()
	if err != nil {
		return err
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	last := today.AddDate(0, 0, MaxSaleDaysAhead)
	if date.Before(today) || date.After(last) {
		return apperr.InvalidField("delivery_date", "delivery_date must be from %s (today at warehouse %s) to %s (%d days ahead), got %s",
			today.Format(time.DateOnly), w.Code, last.Format(time.DateOnly), MaxSaleDaysAhead, date)
	}
	return nil
}
