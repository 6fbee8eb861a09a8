package night

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
	"groupbuy/pickup"
)

// Routes are the catalog, order and wave handlers.
type Routes struct {
	svc   *Service
	waves *Waves
	auth  *auth.Authenticator
}

// NewRoutes returns the handlers over svc and waves.
func NewRoutes(svc *Service, waves *Waves, auth *auth.Authenticator) *Routes {
	return &Routes{svc: svc, waves: waves, auth: auth}
}

// RegisterLeader adds the leader app routes (under /api/v1/leader, already
// behind the leader token check).
func (h *Routes) RegisterLeader(r gin.IRouter) {
	r.GET("/catalog", httpx.Handle(h.catalog))
	r.POST("/orders", httpx.Handle(h.placeOrder))
	r.GET("/orders", httpx.Handle(h.leaderOrders))
	r.GET("/orders/:id", httpx.Handle(h.leaderOrder))
	r.POST("/orders/:id/cancel", httpx.Handle(h.cancelOrder))
}

// RegisterOps adds the ops routes (under /api/v1/ops).
func (h *Routes) RegisterOps(r gin.IRouter) {
	read, write := h.auth.StaffAccess()
	r.POST("/products", write, httpx.Handle(h.saveProduct))
	r.POST("/products/import", write, httpx.Handle(h.importProducts))
	r.GET("/products", read, httpx.Handle(h.listProducts))
	r.POST("/sale-items", write, httpx.Handle(h.publish))
	r.GET("/sale-items", read, httpx.Handle(h.listSaleItems))
	r.PATCH("/sale-items/:id", write, httpx.Handle(h.setCap))
	r.GET("/orders", read, httpx.Handle(h.opsOrders))
	r.GET("/waves", read, httpx.Handle(h.listWaves))
	r.GET("/waves/:id", read, httpx.ByID(func(ctx context.Context, id int64) (wave.Wave, error) { return wave.Get(ctx, h.svc.db, id) }))
	r.POST("/waves/:id/close", write, httpx.Handle(h.closeWave))
	r.POST("/waves/:id/stages/:stage/rerun", write, httpx.Handle(h.rerunStage))
	// Warehouse staff record what arrived, so their role may write receipts.
	r.PUT("/waves/:id/receipts", read, httpx.Handle(h.recordReceipts))
	r.GET("/waves/:id/routes", read, httpx.ByID(h.waveRoutes))
	r.GET("/waves/:id/pick-list", read, httpx.Handle(h.pickList))
	r.GET("/waves/:id/sort-plan", read, httpx.Handle(h.sortPlan))
	h.registerPrintouts(r, read)
	r.POST("/warehouses/:id/vehicle-types", write, httpx.Handle(h.saveVehicleType))
	r.GET("/warehouses/:id/vehicle-types", read, httpx.ByID(func(ctx context.Context, id int64) (gin.H, error) {
		vs, err := ListVehicleTypes(ctx, h.svc.db, id)
		return gin.H{"vehicle_types": vs}, err
	}))
}

func queryDate(c *gin.Context) (fulfillment.Date, error) {
	v := c.Query("date")
	if v == "" {
		return fulfillment.Date{}, apperr.InvalidField("date", "query parameter date=YYYY-MM-DD is required")
	}
	return fulfillment.ParseDate("date", v)
}

// queryID reads an optional id query parameter (0 when absent).
func queryID(c *gin.Context, name string) (int64, error) {
	return httpx.QueryPositive(c, name, input.MaxInt8)
}

func (h *Routes) catalog(c *gin.Context) error {
	date, err := queryDate(c)
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

func (h *Routes) placeOrder(c *gin.Context) error {
	key := c.GetHeader("Idempotency-Key")
	if err := CheckIdempotencyKey(key); err != nil {
		return err
	}
	var req OrderRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		return err
	}
	o, replay, err := h.svc.PlaceOrder(c.Request.Context(), auth.PrincipalOf(c).LeaderID, key, req)
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if replay {
		status = http.StatusOK
		c.Header("Idempotent-Replayed", "true")
	}
	c.JSON(status, o)
	return nil
}

func (h *Routes) leaderOrders(c *gin.Context) error {
	date, err := queryDate(c)
	if err != nil {
		return err
	}
	// Orders belong to the point: the leader sees those of the point they run now.
	point, err := pickup.PointOfLeader(c.Request.Context(), h.svc.db, auth.PrincipalOf(c).LeaderID)
	if err != nil {
		return err
	}
	f, err := pageFilter(c, OrderFilter{Date: date, PickupPointID: point})
	if err != nil {
		return err
	}
	page, err := h.svc.Orders(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func pageFilter(c *gin.Context, f OrderFilter) (OrderFilter, error) {
	var err error
	f.AfterID, f.Limit, err = queryPage(c)
	return f, err
}

// queryPage reads the keyset pagination of a listing: after_id, and limit
// from 1 to 1000 (0 when absent: the listing's default).
func queryPage(c *gin.Context) (afterID int64, limit int, err error) {
	if afterID, err = queryID(c, "after_id"); err != nil {
		return 0, 0, err
	}
	n, err := httpx.QueryPositive(c, "limit", 1000)
	return afterID, int(n), err
}

func (h *Routes) leaderOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := h.svc.LeaderOrder(c.Request.Context(), auth.PrincipalOf(c).LeaderID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (h *Routes) cancelOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := h.svc.CancelOrder(c.Request.Context(), auth.PrincipalOf(c).LeaderID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
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

func (h *Routes) saveProduct(c *gin.Context) error {
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

func (h *Routes) importProducts(c *gin.Context) error {
	out, err := h.svc.ImportProducts(c.Request.Context(), http.MaxBytesReader(c.Writer, c.Request.Body, csvio.MaxBytes))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"imported": len(out), "products": out})
	return nil
}

func (h *Routes) listProducts(c *gin.Context) error {
	after, limit, err := queryPage(c)
	if err != nil {
		return err
	}
	page, err := ListProducts(c.Request.Context(), h.svc.db, after, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Routes) publish(c *gin.Context) error {
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
			return apperr.InvalidField("items["+itoa(i)+"].price_fen", "price_fen is required")
		}
		if it.StockCap == nil {
			return apperr.InvalidField("items["+itoa(i)+"].stock_cap", "stock_cap is required")
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

func (h *Routes) listSaleItems(c *gin.Context) error {
	date, err := queryDate(c)
	if err != nil {
		return err
	}
	wid, err := queryID(c, "warehouse_id")
	if err != nil {
		return err
	}
	if wid == 0 {
		return apperr.InvalidField("warehouse_id", "query parameter warehouse_id is required")
	}
	items, err := ListSaleItems(c.Request.Context(), h.svc.db, wid, date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"items": items})
	return nil
}

func (h *Routes) setCap(c *gin.Context) error {
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

func (h *Routes) opsOrders(c *gin.Context) error {
	date, err := queryDate(c)
	if err != nil {
		return err
	}
	f := OrderFilter{Date: date}
	if f.WarehouseID, err = queryID(c, "warehouse_id"); err != nil {
		return err
	}
	if f.PickupPointID, err = queryID(c, "pickup_point_id"); err != nil {
		return err
	}
	if f, err = pageFilter(c, f); err != nil {
		return err
	}
	page, err := h.svc.Orders(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Routes) listWaves(c *gin.Context) error {
	date, err := queryDate(c)
	if err != nil {
		return err
	}
	waves, err := wave.List(c.Request.Context(), h.svc.db, date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"waves": waves})
	return nil
}

// closeWave is the manual cutoff: ordering stops now, whatever the clock says.
func (h *Routes) closeWave(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.waves.Close(c.Request.Context(), id, true); err != nil {
		return err
	}
	w, err := wave.Get(c.Request.Context(), h.svc.db, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (h *Routes) rerunStage(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.waves.Rerun(c.Request.Context(), id, wave.Stage(c.Param("stage")))
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"wave_id": id, "stage": c.Param("stage"), "task_id": task})
	return nil
}

func (h *Routes) recordReceipts(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Policy wave.Policy `json:"policy"`
		Final  bool        `json:"final"`
		Items  []Receipt   `json:"items"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	w, err := h.waves.RecordReceipts(c.Request.Context(), id, in.Policy, in.Final, in.Items)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (h *Routes) waveRoutes(ctx context.Context, id int64) (WaveRoutes, error) {
	if _, err := wave.Get(ctx, h.svc.db, id); err != nil {
		return WaveRoutes{}, err
	}
	return ListRoutes(ctx, h.svc.db, id)
}

func (h *Routes) saveVehicleType(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Code         string          `json:"code"`
		Name         string          `json:"name"`
		Count        int64           `json:"count"`
		CapacityG    int64           `json:"capacity_g"`
		CapacityML   int64           `json:"capacity_ml"`
		ShiftStart   clock.TimeOfDay `json:"shift_start"`
		ShiftEnd     clock.TimeOfDay `json:"shift_end"`
		FixedCostFen int64           `json:"fixed_cost_fen"`
		CostPerKmFen int64           `json:"cost_per_km_fen"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	v, err := h.svc.SaveVehicleType(c.Request.Context(), VehicleType{WarehouseID: id, Code: in.Code, Name: in.Name, Count: in.Count,
		CapacityG: in.CapacityG, CapacityML: in.CapacityML, ShiftStart: in.ShiftStart, ShiftEnd: in.ShiftEnd,
		FixedCostFen: in.FixedCostFen, CostPerKmFen: in.CostPerKmFen})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}

func (h *Routes) pickList(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	zone := fulfillment.Zone(c.Query("zone"))
	if err := fulfillment.CheckZoneFilter(zone); err != nil {
		return err
	}
	if _, err := wave.Get(c.Request.Context(), h.svc.db, id); err != nil {
		return err
	}
	lines, err := PickList(c.Request.Context(), h.svc.db, id, zone)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"wave_id": id, "lines": lines})
	return nil
}

func (h *Routes) sortPlan(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	route := c.Query("route")
	if err := checkRouteCode(route); err != nil {
		return err
	}
	if _, err := wave.Get(c.Request.Context(), h.svc.db, id); err != nil {
		return err
	}
	lines, err := SortPlan(c.Request.Context(), h.svc.db, id, route)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"wave_id": id, "lines": lines})
	return nil
}
