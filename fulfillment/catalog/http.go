package catalog

import (
	"context"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/csvio"
	"groupbuy/internal/httpx"
)

// Handlers are the catalog's HTTP handlers: the leader's catalog, and ops'
// products and sale items. cmd/groupbuy's route table says who calls them.
type Handlers struct {
	svc *Service
	// Stock answers, per product, the units on hand at a warehouse still
	// usable on a date (the supply side's ledger), shown beside the caps
	// ops set; nil shows none.
	Stock func(ctx context.Context, warehouseID int64, date fulfillment.Date, productIDs []int64) (map[int64]int64, error)
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// LeaderCatalog answers what the calling leader can sell for a date.
func (h *Handlers) LeaderCatalog(c *gin.Context, in fulfillment.DateQuery) (Catalog, error) {
	return h.svc.Catalog(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Date)
}

// ProductInput is a product to create or update, by SKU.
type ProductInput struct {
	SKU      string           `json:"sku" doc:"The stock-keeping unit: 1 to 40 characters without spaces, commas, quotes or control characters; saving an existing SKU updates it."`
	Name     string           `json:"name"`
	Unit     string           `json:"unit" doc:"What one unit is: 份, 盒, kg…"`
	WeightG  int64            `json:"weight_g" doc:"Grams per unit."`
	VolumeML int64            `json:"volume_ml" doc:"Millilitres per unit."`
	Zone     fulfillment.Zone `json:"zone"`
	Bin      string           `json:"bin" doc:"The bin location; sorting by it gives the pickers' walking order."`
	Category string           `json:"category,omitempty" doc:"Commission rates may be set per category."`
}

// SaveProduct creates or updates one product.
func (h *Handlers) SaveProduct(c *gin.Context, in struct{ Body ProductInput }) (Product, error) {
	p := in.Body
	out, err := h.svc.SaveProducts(c.Request.Context(), []Product{{SKU: p.SKU, Name: p.Name, Unit: p.Unit,
		WeightG: p.WeightG, VolumeML: p.VolumeML, Zone: p.Zone, Bin: p.Bin, Category: p.Category}})
	if err != nil {
		return Product{}, err
	}
	return out[0], nil
}

// ProductImport is what a CSV import saved.
type ProductImport struct {
	Imported int       `json:"imported"`
	Products []Product `json:"products"`
}

// ImportProducts saves the products of a CSV file.
func (h *Handlers) ImportProducts(c *gin.Context, in csvio.Upload) (ProductImport, error) {
	out, err := h.svc.ImportProducts(c.Request.Context(), in.Limited(c.Writer))
	if err != nil {
		return ProductImport{}, err
	}
	return ProductImport{Imported: len(out), Products: out}, nil
}

// ListProducts answers a page of products by id.
func (h *Handlers) ListProducts(c *gin.Context, in httpx.Page) (ProductPage, error) {
	return h.svc.Products(c.Request.Context(), in.AfterID, in.Limit)
}

// PublishRequest puts products on sale at a warehouse for a delivery date.
type PublishRequest struct {
	WarehouseID  int64             `json:"warehouse_id"`
	DeliveryDate *fulfillment.Date `json:"delivery_date"`
	Items        []OfferInput      `json:"items"`
}

// OfferInput is one product offered: by product_id or sku, with its price
// and its stock cap (the most that orders may take).
type OfferInput struct {
	ProductID int64  `json:"product_id,omitempty"`
	SKU       string `json:"sku,omitempty"`
	PriceFen  *int64 `json:"price_fen" doc:"Price per unit in fen."`
	StockCap  *int64 `json:"stock_cap" doc:"The stock cap: orders never take more units than this."`
}

// SaleItemList is a list of sale items.
type SaleItemList struct {
	Items []SaleItem `json:"items"`
}

// Publish puts the offers on sale, opening the date's wave.
func (h *Handlers) Publish(c *gin.Context, in struct{ Body PublishRequest }) (SaleItemList, error) {
	if in.Body.DeliveryDate == nil {
		return SaleItemList{}, apperr.InvalidField("delivery_date", "delivery_date is required")
	}
	offers := make([]Offer, len(in.Body.Items))
	for i, it := range in.Body.Items {
		// A missing price would publish the item for free: both are required.
		if it.PriceFen == nil {
			return SaleItemList{}, apperr.InvalidField(fulfillment.Field("items", i, "price_fen"), "price_fen is required")
		}
		if it.StockCap == nil {
			return SaleItemList{}, apperr.InvalidField(fulfillment.Field("items", i, "stock_cap"), "stock_cap is required")
		}
		offers[i] = Offer{ProductID: it.ProductID, SKU: it.SKU, PriceFen: *it.PriceFen, StockCap: *it.StockCap}
	}
	items, err := h.svc.Publish(c.Request.Context(), in.Body.WarehouseID, *in.Body.DeliveryDate, offers)
	if err != nil {
		return SaleItemList{}, err
	}
	return h.withStock(c.Request.Context(), in.Body.WarehouseID, *in.Body.DeliveryDate, items)
}

// SaleItemsQuery selects a warehouse's sale items of a date.
type SaleItemsQuery struct {
	Date        fulfillment.Date `query:"date" required:"true" format:"date" doc:"The delivery date, YYYY-MM-DD."`
	WarehouseID int64            `query:"warehouse_id" required:"true"`
}

// ListSaleItems answers a warehouse's sale items of a date.
func (h *Handlers) ListSaleItems(c *gin.Context, in SaleItemsQuery) (SaleItemList, error) {
	items, err := h.svc.SaleItems(c.Request.Context(), in.WarehouseID, in.Date)
	if err != nil {
		return SaleItemList{}, err
	}
	return h.withStock(c.Request.Context(), in.WarehouseID, in.Date, items)
}

// withStock adds each item's usable stock on hand.
func (h *Handlers) withStock(ctx context.Context, warehouseID int64, date fulfillment.Date, items []SaleItem) (SaleItemList, error) {
	if h.Stock == nil || len(items) == 0 {
		return SaleItemList{Items: items}, nil
	}
	ids := make([]int64, len(items))
	for i, it := range items {
		ids[i] = it.ProductID
	}
	stock, err := h.Stock(ctx, warehouseID, date, ids)
	if err != nil {
		return SaleItemList{}, err
	}
	for i := range items {
		n := stock[items[i].ProductID]
		items[i].UsableStock = &n
	}
	return SaleItemList{Items: items}, nil
}

// StockCapUpdate changes a sale item's stock cap; never below what is sold.
type StockCapUpdate struct {
	StockCap *int64 `json:"stock_cap"`
}

// SetCap changes a sale item's stock cap.
func (h *Handlers) SetCap(c *gin.Context, in struct {
	ID   int64 `path:"id"`
	Body StockCapUpdate
}) (SaleItem, error) {
	if in.Body.StockCap == nil {
		return SaleItem{}, apperr.InvalidField("stock_cap", "stock_cap is required")
	}
	return h.svc.SetCap(c.Request.Context(), in.ID, *in.Body.StockCap)
}
