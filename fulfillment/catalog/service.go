package catalog

import (
	"context"
	"errors"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/retention"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"io"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
)

// Service runs the catalog's commands, one transaction each.
type Service struct {
	db    *sqlx.DB
	clock clock.Clock
}

// NewService returns the catalog's commands over db.
func NewService(db *sqlx.DB, clock clock.Clock) *Service {
	return &Service{db: db, clock: clock}
}

// SaveProducts creates or updates products by SKU.
func (s *Service) SaveProducts(ctx context.Context, ps []Product) ([]Product, error) {
	var out []Product
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = SaveProductsTx(ctx, tx, ps, s.clock.Now())
		return err
	})
	return out, err
}

// SaveProductsTx validates and upserts products by SKU inside tx.
func SaveProductsTx(ctx context.Context, tx *sqlx.Tx, ps []Product, now time.Time) ([]Product, error) {
	seen := map[string]bool{}
	for i := range ps {
		if err := ps[i].Validate(); err != nil {
			return nil, err
		}
		if seen[ps[i].SKU] {
			return nil, apperr.InvalidField("sku", "sku %q appears twice", ps[i].SKU)
		}
		seen[ps[i].SKU] = true
	}
	return upsertProducts(ctx, tx, ps, now)
}

// ProductCSVColumns are the columns a product import must have; category
// may follow.
var ProductCSVColumns = []string{"sku", "name", "unit", "weight_g", "volume_ml", "zone", "bin"}

var productCSV = csvio.Columns{Required: ProductCSVColumns, Optional: []string{"category"}}

// ImportProducts creates or updates products from CSV, all or nothing.
func (s *Service) ImportProducts(ctx context.Context, r io.Reader) ([]Product, error) {
	ps, err := ParseProductCSV(r)
	if err != nil {
		return nil, err
	}
	return s.SaveProducts(ctx, ps)
}

// ParseProductCSV reads and validates a product import without storing it:
// the products in file order, or the first bad row's error naming its line.
func ParseProductCSV(r io.Reader) ([]Product, error) {
	rows, err := csvio.Read(r, productCSV)
	if err != nil {
		return nil, err
	}
	ps := make([]Product, len(rows))
	seen := map[string]int{}
	for i, row := range rows {
		w, err := row.Int("weight_g")
		if err != nil {
			return nil, err
		}
		v, err := row.Int("volume_ml")
		if err != nil {
			return nil, err
		}
		p := Product{SKU: row.Get("sku"), Name: row.Get("name"), Unit: row.Get("unit"), WeightG: w, VolumeML: v,
			Zone: fulfillment.Zone(row.Get("zone")), Bin: row.Get("bin"), Category: row.Get("category")}
		if err := p.Validate(); err != nil {
			return nil, csvio.AtLine(row.Line, err)
		}
		if first, dup := seen[p.SKU]; dup {
			return nil, row.Errorf("sku", "sku %q already appears on line %d", p.SKU, first)
		}
		seen[p.SKU] = row.Line
		ps[i] = p
	}
	return ps, nil
}

// Publish puts products on sale at a warehouse for a delivery date from the
// warehouse's today to MaxSaleDaysAhead days later.
func (s *Service) Publish(ctx context.Context, warehouseID int64, date fulfillment.Date, offers []Offer) ([]SaleItem, error) {
	// A date within the sale's reach gets its night's partitions first, in
	// a short transaction of their own (see retention.EnsureNight):
	// usually they exist and this only looks.
	if warehouseID > 0 {
		w, err := pickup.GetWarehouse(ctx, s.db, warehouseID)
		if err != nil {
			return nil, err
		}
		if err := checkSaleDate(w, date, s.clock.Now()); err != nil {
			return nil, err
		}
		if _, err := retention.EnsureNight(ctx, s.db, date); err != nil {
			return nil, err
		}
	}
	var out []SaleItem
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = PublishTx(ctx, tx, warehouseID, date, offers, s.clock.Now())
		return err
	})
	return out, err
}

// PublishTx validates offers and upserts them as sale items inside tx.
func PublishTx(ctx context.Context, tx *sqlx.Tx, warehouseID int64, date fulfillment.Date, offers []Offer, now time.Time) ([]SaleItem, error) {
	if warehouseID <= 0 {
		return nil, apperr.InvalidField("warehouse_id", "warehouse_id is required")
	}
	if len(offers) == 0 || len(offers) > 5000 {
		return nil, apperr.InvalidField("items", "items must hold 1 to 5000 offers")
	}
	seen := map[string]bool{}
	for i, o := range offers {
		field := func(name string) string { return fulfillment.Field("items", i, name) }
		switch {
		case o.ProductID < 0 || (o.ProductID == 0 && o.SKU == ""):
			return nil, apperr.InvalidField(field("product_id"), "each item needs a product_id or a sku")
		case o.PriceFen < 0 || o.PriceFen > fulfillment.MaxPriceFen:
			return nil, apperr.InvalidField(field("price_fen"), "price_fen must be between 0 and %d", fulfillment.MaxPriceFen)
		case o.StockCap < 0 || o.StockCap > fulfillment.MaxStockCap:
			return nil, apperr.InvalidField(field("stock_cap"), "stock_cap must be between 0 and %d", fulfillment.MaxStockCap)
		}
		k := o.SKU + "#" + strconv.FormatInt(o.ProductID, 10)
		if seen[k] {
			return nil, apperr.InvalidField(field("product_id"), "the product appears twice")
		}
		seen[k] = true
	}
	w, err := pickup.GetWarehouse(ctx, tx, warehouseID)
	if err != nil {
		return nil, err
	}
	if err := wave.Ensure(ctx, tx, w, date, now); err != nil {
		return nil, err
	}
	if err := wave.LockOpen(ctx, tx, warehouseID, date); err != nil {
		return nil, err
	}
	return publish(ctx, tx, warehouseID, date, offers, now)
}

// SetCap changes a sale item's stock cap; it cannot go below what is sold.
func (s *Service) SetCap(ctx context.Context, id, cap int64) (SaleItem, error) {
	if cap < 0 || cap > fulfillment.MaxStockCap {
		return SaleItem{}, apperr.InvalidField("stock_cap", "stock_cap must be between 0 and %d", fulfillment.MaxStockCap)
	}
	var out SaleItem
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// The sale's wave first, as intake locks it before the items.
		item, err := GetSaleItem(ctx, tx, id)
		if err != nil {
			return err
		}
		err = wave.LockOpen(ctx, tx, item.WarehouseID, item.DeliveryDate)
		if errors.Is(err, wave.ErrNotFound) {
			return ErrSaleItemNotFound
		}
		if err != nil {
			return err
		}
		out, err = setCap(ctx, tx, id, cap, s.clock.Now())
		return err
	})
	return out, err
}

// Catalog is what a leader can sell for a delivery date.
type Catalog struct {
	WarehouseID  int64            `json:"warehouse_id"`
	DeliveryDate fulfillment.Date `json:"delivery_date"`
	Cutoff       time.Time        `json:"cutoff"`
	Open         bool             `json:"open"`
	Items        []SaleItem       `json:"items"`
}

// Catalog returns the sale items of the leader's warehouse with remaining stock.
func (s *Service) Catalog(ctx context.Context, leaderID int64, date fulfillment.Date) (Catalog, error) {
	sites, err := pickup.LeaderSites(ctx, s.db, []int64{leaderID})
	if err != nil {
		return Catalog{}, err
	}
	site, ok := sites[leaderID]
	if !ok {
		return Catalog{}, pickup.ErrNoPoint
	}
	cutoff, err := site.Warehouse.Cutoff(date.Time)
	if err != nil {
		return Catalog{}, err
	}
	items, err := ListSaleItems(ctx, s.db, site.Warehouse.ID, date)
	if err != nil {
		return Catalog{}, err
	}
	open := s.clock.Now().Before(cutoff)
	// The wave, once published, is the authority: ops may close it early.
	wv, err := wave.Of(ctx, s.db, site.Warehouse.ID, date)
	if err != nil {
		return Catalog{}, err
	}
	if wv.ID != 0 {
		cutoff = wv.OrderingEnds()
		open = wv.State == wave.Open && s.clock.Now().Before(cutoff)
	}
	return Catalog{WarehouseID: site.Warehouse.ID, DeliveryDate: date, Cutoff: cutoff, Open: open, Items: items}, nil
}

// Products returns a page of products by id (see ListProducts).
func (s *Service) Products(ctx context.Context, afterID int64, limit int) (ProductPage, error) {
	return ListProducts(ctx, s.db, afterID, limit)
}

// SaleItems returns a warehouse's sale items for a delivery date, by SKU.
func (s *Service) SaleItems(ctx context.Context, warehouseID int64, date fulfillment.Date) ([]SaleItem, error) {
	return ListSaleItems(ctx, s.db, warehouseID, date)
}
