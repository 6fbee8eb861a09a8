package night

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
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

// RegisterOps adds the ops routes of waves (under /api/v1/ops).
func (h *Routes) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.GET("/waves", g.StaffRead, httpx.Handle(h.listWaves))
	r.GET("/waves/:id", g.StaffRead, httpx.ByID(func(ctx context.Context, id int64) (wave.Wave, error) { return wave.Get(ctx, h.svc.db, id) }))
	r.POST("/waves/:id/close", g.OpsWrite, httpx.Handle(h.closeWave))
	r.POST("/waves/:id/stages/:stage/rerun", g.OpsWrite, httpx.Handle(h.rerunStage))
	r.PUT("/waves/:id/receipts", g.WarehouseWrite, httpx.Handle(h.recordReceipts))
	r.GET("/waves/:id/routes", g.StaffRead, httpx.ByID(h.waveRoutes))
	r.GET("/waves/:id/pick-list", g.StaffRead, httpx.Handle(h.pickList))
	r.GET("/waves/:id/sort-plan", g.StaffRead, httpx.Handle(h.sortPlan))
	h.registerPrintouts(r, g.StaffRead)
	r.POST("/warehouses/:id/vehicle-types", g.OpsWrite, httpx.Handle(h.saveVehicleType))
	r.GET("/warehouses/:id/vehicle-types", g.StaffRead, httpx.ByID(func(ctx context.Context, id int64) (gin.H, error) {
		vs, err := ListVehicleTypes(ctx, h.svc.db, id)
		return gin.H{"vehicle_types": vs}, err
	}))
}

func (h *Routes) listWaves(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
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
