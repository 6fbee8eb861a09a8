package routeplan

import (
	"github.com/gin-gonic/gin"

	"groupbuy/internal/clock"
)

// Handlers are the fleet and route plan handlers. cmd/groupbuy's route
// table says who calls them.
type Handlers struct {
	fleet *Service
}

// NewHandlers returns the handlers over fleet.
func NewHandlers(fleet *Service) *Handlers { return &Handlers{fleet: fleet} }

// WaveRoutes answers a wave's delivery routes.
func (h *Handlers) WaveRoutes(c *gin.Context, in struct {
	ID int64 `path:"id" doc:"The wave's id."`
}) (WaveRoutes, error) {
	return h.fleet.WaveRoutes(c.Request.Context(), in.ID)
}

// WarehouseID is the request of a route about one warehouse's fleet.
type WarehouseID struct {
	ID int64 `path:"id" doc:"The warehouse's id."`
}

// VehicleTypeInput is a kind of truck of a warehouse's fleet, by code.
type VehicleTypeInput struct {
	Code            string          `json:"code" doc:"Saving an existing code updates it."`
	Name            string          `json:"name"`
	Count           int64           `json:"count" doc:"How many trucks of this type the warehouse has."`
	CapacityG       int64           `json:"capacity_g"`
	CapacityML      int64           `json:"capacity_ml"`
	ShiftStart      clock.TimeOfDay `json:"shift_start" doc:"When the trucks may leave, HH:MM local to the warehouse."`
	ShiftEnd        clock.TimeOfDay `json:"shift_end" doc:"When they must be back, HH:MM."`
	FixedCostFen    int64           `json:"fixed_cost_fen,omitempty"`
	CostPerKmFen    int64           `json:"cost_per_km_fen,omitempty"`
	Chilled         bool            `json:"chilled,omitempty" doc:"The trucks have a chilled compartment: stops with chilled bags may ride them."`
	Frozen          bool            `json:"frozen,omitempty" doc:"The trucks have a frozen compartment: stops with frozen bags may ride them."`
	MaxRouteMinutes int64           `json:"max_route_minutes,omitempty" doc:"The longest a route may last from departure to return (a driver's shift), in minutes, up to 1440; 0 or absent: only shift_start and shift_end bound it."`
}

// SaveVehicleType creates or updates a vehicle type of the warehouse.
func (h *Handlers) SaveVehicleType(c *gin.Context, in struct {
	WarehouseID
	Body VehicleTypeInput
}) (VehicleType, error) {
	b := in.Body
	return h.fleet.SaveVehicleType(c.Request.Context(), VehicleType{WarehouseID: in.ID, Code: b.Code, Name: b.Name, Count: b.Count,
		CapacityG: b.CapacityG, CapacityML: b.CapacityML, ShiftStart: b.ShiftStart, ShiftEnd: b.ShiftEnd,
		FixedCostFen: b.FixedCostFen, CostPerKmFen: b.CostPerKmFen, Chilled: b.Chilled, Frozen: b.Frozen,
		MaxRouteMinutes: b.MaxRouteMinutes})
}

// VehicleTypeList is a warehouse's fleet.
type VehicleTypeList struct {
	VehicleTypes []VehicleType `json:"vehicle_types"`
}

// VehicleTypes answers a warehouse's vehicle types.
func (h *Handlers) VehicleTypes(c *gin.Context, in WarehouseID) (VehicleTypeList, error) {
	vs, err := h.fleet.VehicleTypes(c.Request.Context(), in.ID)
	return VehicleTypeList{VehicleTypes: vs}, err
}
