package catalog

import (
	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/csvio"
	"groupbuy/internal/httpx"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Handlers are the catalog's HTTP handlers: the leader's catalog, and ops'
// products and sale items.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// RegisterLeader adds the leader app's catalog (under /api/v1/leader,
// already behind the leader token check).
func (h *Handlers) RegisterLeader(r gin.IRouter) {
	r.GET("/catalog", httpx.Handle(h.leaderCatalog))
}

// RegisterOps adds the ops routes of products and sale items (under /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.POST("/products", g.OpsWrite, httpx.Handle(h.saveProduct))
	r.POST("/products/import", g.OpsWrite, httpx.Handle(h.importProducts))
	r.GET("/products", g.StaffRead, httpx.Handle(h.listProducts))
	r.POST("/sale-items", g.OpsWrite, httpx.Handle(h.publish))
	r.GET("/sale-items", g.StaffRead, httpx.Handle(h.listSaleItems))
	r.PATCH("/sale-items/:id", g.OpsWrite, httpx.Handle(h.setCap))
}

func (h *Handlers) leaderCatalog(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	cat, err := h.svc.Catalog(c.Request.Context(), auth.PrincipalOf(c).LeaderID, date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, cat)
	return nil
}

type productBody struct {
	SKU      string           `json:"sku"`
	Name     string           `json:"name"`
	Unit     string           `json:"unit"`
	WeightG  int64            `json:"weight_g"`
	VolumeML int64            `json:"volume_ml"`
	Zone     fulfillment.Zone `json:"zone"`
	Bin      string           `json:"bin"`
	Category string           `json:"category"`
}

func (h *Handlers) saveProduct(c *gin.Context) error {
	var in productBody
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := h.svc.SaveProducts(c.Request.Context(), []Product{{SKU: in.SKU, Name: in.Name, Unit: in.Unit,
		WeightG: in.WeightG, VolumeML: in.VolumeML, Zone: in.Zone, Bin: in.Bin, Category: in.Category}})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out[0])
	return nil
}

func (h *Handlers) importProducts(c *gin.Context) error {
	out, err := h.svc.ImportProducts(c.Request.Context(), http.MaxBytesReader(c.Writer, c.Request.Body, csvio.MaxBytes))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"imported": len(out), "products": out})
	return nil
}

func (h *Handlers) listProducts(c *gin.Context) error {
	after, limit, err := httpx.QueryPage(c)
	if err != nil {
		return err
	}
	page, err := h.svc.Products(c.Request.Context(), after, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handlers) publish(c *gin.Context) error {
	var in struct {
		WarehouseID  int64             `json:"warehouse_id"`
		DeliveryDate *fulfillment.Date `json:"delivery_date"`
		Items        []struct {
			ProductID int64  `json:"product_id"`
			SKU       string `json:"sku"`
			PriceFen  *int64 `json:"price_fen"`
			StockCap  *int64 `json:"stock_cap"`
		} `json:"items"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.DeliveryDate == nil {
		return apperr.InvalidField("delivery_date", "delivery_date is required")
	}
	offers := make([]Offer, len(in.Items))
	for i, it := range in.Items {
		// A missing price would publish the item for free: both are required.
		if it.PriceFen == nil {
			return apperr.InvalidField(fulfillment.Field("items", i, "price_fen"), "price_fen is required")
		}
		if it.StockCap == nil {
			return apperr.InvalidField(fulfillment.Field("items", i, "stock_cap"), "stock_cap is required")
		}
		offers[i] = Offer{ProductID: it.ProductID, SKU: it.SKU, PriceFen: *it.PriceFen, StockCap: *it.StockCap}
	}
	items, err := h.svc.Publish(c.Request.Context(), in.WarehouseID, *in.DeliveryDate, offers)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (h *Handlers) listSaleItems(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	wid, err := httpx.QueryID(c, "warehouse_id")
	if err != nil {
		return err
	}
	if wid == 0 {
		return apperr.InvalidField("warehouse_id", "query parameter warehouse_id is required")
	}
	items, err := h.svc.SaleItems(c.Request.Context(), wid, date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (h *Handlers) setCap(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		StockCap *int64 `json:"stock_cap"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.StockCap == nil {
		return apperr.InvalidField("stock_cap", "stock_cap is required")
	}
	si, err := h.svc.SetCap(c.Request.Context(), id, *in.StockCap)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, si)
	return nil
}
