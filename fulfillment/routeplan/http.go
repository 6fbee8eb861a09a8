package routeplan

import (
	"context"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Handlers are the fleet and route plan handlers.
type Handlers struct {
	fleet *Service
}

// NewHandlers returns the handlers over fleet.
func NewHandlers(fleet *Service) *Handlers { return &Handlers{fleet: fleet} }

// RegisterOps adds the ops routes of vehicle types and route plans (under
// /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.GET("/waves/:id/routes", g.StaffRead, httpx.ByID(h.fleet.WaveRoutes))
	r.POST("/warehouses/:id/vehicle-types", g.OpsWrite, httpx.Handle(h.saveVehicleType))
	r.GET("/warehouses/:id/vehicle-types", g.StaffRead, httpx.ByID(func(ctx context.Context, id int64) (gin.H, error) {
		vs, err := h.fleet.VehicleTypes(ctx, id)
		return gin.H{"vehicle_types": vs}, err
	}))
}

func (h *Handlers) saveVehicleType(c *gin.Context) error {
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
	v, err := h.fleet.SaveVehicleType(c.Request.Context(), VehicleType{WarehouseID: id, Code: in.Code, Name: in.Name, Count: in.Count,
		CapacityG: in.CapacityG, CapacityML: in.CapacityML, ShiftStart: in.ShiftStart, ShiftEnd: in.ShiftEnd,
		FixedCostFen: in.FixedCostFen, CostPerKmFen: in.CostPerKmFen})
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, v)
	return nil
}
