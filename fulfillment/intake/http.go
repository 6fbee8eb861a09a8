package intake

import (
	"groupbuy/fulfillment"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Handlers are the order handlers: the leader's orders and ops' listing.
type Handlers struct {
	intake *Intake
}

// NewHandlers returns the handlers over in.
func NewHandlers(in *Intake) *Handlers { return &Handlers{intake: in} }

// RegisterLeader adds the leader app's order routes (under /api/v1/leader,
// already behind the leader token check).
func (h *Handlers) RegisterLeader(r gin.IRouter) {
	r.POST("/orders", httpx.Handle(h.placeOrder))
	r.GET("/orders", httpx.Handle(h.leaderOrders))
	r.GET("/orders/:id", httpx.Handle(h.leaderOrder))
	r.POST("/orders/:id/cancel", httpx.Handle(h.cancelOrder))
}

// RegisterOps adds ops' order listing (under /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.GET("/orders", g.StaffRead, httpx.Handle(h.opsOrders))
}

func (h *Handlers) placeOrder(c *gin.Context) error {
	key := c.GetHeader("Idempotency-Key")
	if err := CheckIdempotencyKey(key); err != nil {
		return err
	}
	var req OrderRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		return err
	}
	o, replay, err := h.intake.Place(c.Request.Context(), auth.PrincipalOf(c).LeaderID, key, req)
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

func (h *Handlers) leaderOrders(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	f, err := pageFilter(c, OrderFilter{Date: date})
	if err != nil {
		return err
	}
	page, err := h.intake.LeaderOrders(c.Request.Context(), auth.PrincipalOf(c).LeaderID, f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func pageFilter(c *gin.Context, f OrderFilter) (OrderFilter, error) {
	var err error
	f.AfterID, f.Limit, err = httpx.QueryPage(c)
	return f, err
}

func (h *Handlers) leaderOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := h.intake.LeaderOrder(c.Request.Context(), auth.PrincipalOf(c).LeaderID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (h *Handlers) cancelOrder(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	o, err := h.intake.Cancel(c.Request.Context(), auth.PrincipalOf(c).LeaderID, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, o)
	return nil
}

func (h *Handlers) opsOrders(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	f := OrderFilter{Date: date}
	if f.WarehouseID, err = httpx.QueryID(c, "warehouse_id"); err != nil {
		return err
	}
	if f.PickupPointID, err = httpx.QueryID(c, "pickup_point_id"); err != nil {
		return err
	}
	if f, err = pageFilter(c, f); err != nil {
		return err
	}
	page, err := h.intake.Orders(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}
