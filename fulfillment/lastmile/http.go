package lastmile

import (
	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
)

// Handlers are the last mile's handlers: deliveries, receipt, the pickup
// desk, dispatch and arrival. cmd/groupbuy's route table says who calls them.
type Handlers struct {
	svc  *Service
	desk *Desk
}

// NewHandlers returns the handlers over the deliveries and the desk.
func NewHandlers(svc *Service, desk *Desk) *Handlers { return &Handlers{svc: svc, desk: desk} }

// DeliveryList is a list of deliveries.
type DeliveryList struct {
	Deliveries []Delivery `json:"deliveries"`
}

// LeaderDeliveries answers what arrives at the leader's point on a date.
func (h *Handlers) LeaderDeliveries(c *gin.Context, in fulfillment.DateQuery) (DeliveryList, error) {
	ds, err := h.svc.LeaderDeliveries(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Date)
	return DeliveryList{Deliveries: ds}, err
}

// Receive records the leader's receipt (签收) of a delivery.
func (h *Handlers) Receive(c *gin.Context, in struct {
	ID   int64 `path:"id" doc:"The delivery's id."`
	Body ReceiveRequest
}) (Delivery, error) {
	return h.svc.Receive(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.ID, in.Body)
}

// PickupCodeRequest is a resident's pickup code, to verify (核销).
type PickupCodeRequest struct {
	Code string `json:"code" doc:"The resident's pickup code."`
}

// CollectRequest hands over a code's parcels: all, or only the listed lines.
type CollectRequest struct {
	Code         string  `json:"code" doc:"The resident's pickup code."`
	OrderLineIDs []int64 `json:"order_line_ids,omitempty" doc:"Hand over only these lines (1 to 1000); all of the code's when absent."`
}

// ParcelList is the parcels a code opens.
type ParcelList struct {
	Parcels []Parcel `json:"parcels"`
}

// Verify answers the parcels a pickup code opens at the leader's point.
func (h *Handlers) Verify(c *gin.Context, in struct{ Body PickupCodeRequest }) (ParcelList, error) {
	ps, err := h.desk.Verify(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Body.Code)
	return ParcelList{Parcels: ps}, err
}

// Collect hands a code's parcels over to the resident.
func (h *Handlers) Collect(c *gin.Context, in struct{ Body CollectRequest }) (ParcelList, error) {
	switch ids := in.Body.OrderLineIDs; {
	case ids != nil && len(ids) == 0:
		// An empty selection is not "all": a client that sends the lines the
		// resident ticked must not hand everything over when none were.
		return ParcelList{}, apperr.InvalidField("order_line_ids", "name at least one order line, or leave order_line_ids out to hand over all")
	case len(ids) > 1000:
		return ParcelList{}, apperr.InvalidField("order_line_ids", "at most 1000 order lines")
	}
	ps, err := h.desk.Collect(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Body.Code, in.Body.OrderLineIDs)
	return ParcelList{Parcels: ps}, err
}

// WaveID is the request of a route about one wave.
type WaveID struct {
	ID int64 `path:"id" doc:"The wave's id."`
}

// DispatchWave sends every route of a ready wave on its way.
func (h *Handlers) DispatchWave(c *gin.Context, in WaveID) (wave.Wave, error) {
	return h.svc.Dispatch(c.Request.Context(), in.ID, 0)
}

// RouteID is the request of a route about one truck route.
type RouteID struct {
	ID int64 `path:"id" doc:"The route's id."`
}

// DispatchRoute sends one route of a ready wave on its way.
func (h *Handlers) DispatchRoute(c *gin.Context, in RouteID) (wave.Wave, error) {
	waveID, err := h.svc.RouteOfWave(c.Request.Context(), in.ID)
	if err != nil {
		return wave.Wave{}, err
	}
	return h.svc.Dispatch(c.Request.Context(), waveID, in.ID)
}

// StopRef names a stop of a route.
type StopRef struct {
	RouteID int64 `path:"id" doc:"The route's id."`
	Seq     int32 `path:"seq" doc:"The stop's place on the route, from 1."` // route_stops.seq is an integer
}

// Arrive marks a stop reached: its delivery is at the pickup point.
func (h *Handlers) Arrive(c *gin.Context, in StopRef) (Delivery, error) {
	return h.svc.Arrive(c.Request.Context(), in.RouteID, int(in.Seq))
}

// WaveDeliveries answers a wave's deliveries.
func (h *Handlers) WaveDeliveries(c *gin.Context, in WaveID) (DeliveryList, error) {
	ds, err := h.svc.WaveDeliveries(c.Request.Context(), in.ID)
	return DeliveryList{Deliveries: ds}, err
}
