package intake

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/api"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers are the order handlers: the leader's orders and ops' listing.
// cmd/groupbuy's route table says who calls them.
type Handlers struct {
	intake *Intake
}

// NewHandlers returns the handlers over in.
func NewHandlers(in *Intake) *Handlers { return &Handlers{intake: in} }

// IdempotencyKey names one order request, so a retry answers the first
// order instead of placing another.
type IdempotencyKey string

// UnmarshalText reads a key under CheckIdempotencyKey.
func (k *IdempotencyKey) UnmarshalText(b []byte) error {
	if err := CheckIdempotencyKey(string(b)); err != nil {
		return err
	}
	*k = IdempotencyKey(b)
	return nil
}

// PlaceIn is the request of placing an order.
type PlaceIn struct {
	Key  IdempotencyKey `header:"Idempotency-Key" required:"true" doc:"Printable ASCII without spaces, at most 100 characters; a retry with the same key and body answers the first order (200, Idempotent-Replayed: true)."`
	Body OrderRequest
}

// Place places the leader's order: 201, or 200 for a replay of its key.
func (h *Handlers) Place(c *gin.Context, in PlaceIn) (Order, error) {
	o, replay, err := h.intake.Place(c.Request.Context(), auth.PrincipalOf(c).LeaderID, string(in.Key), in.Body)
	if replay {
		api.SetStatus(c, http.StatusOK)
		c.Header("Idempotent-Replayed", "true")
	}
	return o, err
}

// LeaderOrdersQuery selects a page of the leader's orders of a date.
type LeaderOrdersQuery struct {
	fulfillment.DateQuery
	httpx.Page
}

// LeaderOrders answers a page of the orders of the leader's point.
func (h *Handlers) LeaderOrders(c *gin.Context, in LeaderOrdersQuery) (OrderPage, error) {
	return h.intake.LeaderOrders(c.Request.Context(), auth.PrincipalOf(c).LeaderID,
		OrderFilter{Date: in.Date, AfterID: in.AfterID, Limit: in.Limit})
}

// OrderID is the request of a route about one order.
type OrderID struct {
	ID int64 `path:"id" doc:"The order's id."`
}

// LeaderOrder answers one order of the leader's point.
func (h *Handlers) LeaderOrder(c *gin.Context, in OrderID) (Order, error) {
	return h.intake.LeaderOrder(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.ID)
}

// Cancel cancels an order of the leader's point before the cutoff.
func (h *Handlers) Cancel(c *gin.Context, in OrderID) (Order, error) {
	return h.intake.Cancel(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.ID)
}

// OrdersQuery selects a page of orders of a date for ops.
type OrdersQuery struct {
	fulfillment.DateQuery
	WarehouseID   int64 `query:"warehouse_id"`
	PickupPointID int64 `query:"pickup_point_id"`
	httpx.Page
}

// Orders answers a page of orders with totals over the selection.
func (h *Handlers) Orders(c *gin.Context, in OrdersQuery) (OrderPage, error) {
	return h.intake.Orders(c.Request.Context(), OrderFilter{Date: in.Date, WarehouseID: in.WarehouseID,
		PickupPointID: in.PickupPointID, AfterID: in.AfterID, Limit: in.Limit})
}
