package lastmile

import (
	"github.com/gin-gonic/gin"

	"groupbuy/internal/clock"
)

// DriverHandlers answer the driver's page: one route, by its pass, not by
// an API token. cmd/groupbuy's route table lists them.
type DriverHandlers struct {
	svc   *Service
	pass  DriverPass
	clock clock.Clock
}

// NewDriverHandlers returns the driver's page handlers.
func NewDriverHandlers(svc *Service, pass DriverPass, clk clock.Clock) *DriverHandlers {
	return &DriverHandlers{svc: svc, pass: pass, clock: clk}
}

// DriverRequest is a request of the driver's page about its route.
type DriverRequest struct {
	RouteID int64  `path:"id" doc:"The route's id."`
	Pass    string `header:"X-Driver-Pass" max:"200" doc:"The route's pass, from the QR code on its route sheet; valid until the end of the delivery day."`
}

// DriverStopRequest names a stop of the pass's route.
type DriverStopRequest struct {
	DriverRequest
	Seq int32 `path:"seq" doc:"The stop's place on the route, from 1."`
}

// Route answers the pass's route with its stops.
func (h *DriverHandlers) Route(c *gin.Context, in DriverRequest) (DriverRoute, error) {
	if err := h.pass.Check(in.Pass, in.RouteID, h.clock.Now()); err != nil {
		return DriverRoute{}, err
	}
	return h.svc.DriverRoute(c.Request.Context(), in.RouteID)
}

// Arrive marks a stop of the pass's route reached.
func (h *DriverHandlers) Arrive(c *gin.Context, in DriverStopRequest) (Delivery, error) {
	if err := h.pass.Check(in.Pass, in.RouteID, h.clock.Now()); err != nil {
		return Delivery{}, err
	}
	return h.svc.Arrive(c.Request.Context(), in.RouteID, int(in.Seq))
}

// HandOver marks a stop of the pass's route delivered: its bags handed over.
func (h *DriverHandlers) HandOver(c *gin.Context, in DriverStopRequest) (Delivery, error) {
	if err := h.pass.Check(in.Pass, in.RouteID, h.clock.Now()); err != nil {
		return Delivery{}, err
	}
	return h.svc.HandOver(c.Request.Context(), in.RouteID, int(in.Seq))
}
