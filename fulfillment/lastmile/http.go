package lastmile

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
)

// Handlers are the last mile's handlers: deliveries, receipt, the pickup
// desk, dispatch and arrival.
type Handlers struct {
	svc  *Service
	desk *Desk
}

// NewHandlers returns the handlers over the deliveries and the desk.
func NewHandlers(svc *Service, desk *Desk) *Handlers { return &Handlers{svc: svc, desk: desk} }

// RegisterLeader adds the leader's delivery and pickup routes: what
// arrives, receipt (签收), and pickup code verification (核销).
func (h *Handlers) RegisterLeader(r gin.IRouter) {
	r.GET("/deliveries", httpx.Handle(h.leaderDeliveries))
	r.POST("/deliveries/:id/receive", httpx.Handle(h.receive))
	r.POST("/pickups/verify", httpx.Handle(func(c *gin.Context) error {
		in, err := decodeCode(c, false)
		if err != nil {
			return err
		}
		ps, err := h.desk.Verify(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Code)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"parcels": ps})
		return nil
	}))
	r.POST("/pickups/collect", httpx.Handle(func(c *gin.Context) error {
		in, err := decodeCode(c, true)
		if err != nil {
			return err
		}
		ps, err := h.desk.Collect(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Code, in.OrderLineIDs)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"parcels": ps})
		return nil
	}))
}

// RegisterOps adds dispatch and arrival. Warehouse staff and drivers
// (warehouse tokens) run the trucks, so they may write these.
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.POST("/waves/:id/dispatch", g.WarehouseWrite, httpx.Handle(func(c *gin.Context) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		w, err := h.svc.Dispatch(c.Request.Context(), id, 0)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, w)
		return nil
	}))
	r.POST("/routes/:id/dispatch", g.WarehouseWrite, httpx.Handle(func(c *gin.Context) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		waveID, err := h.svc.RouteOfWave(c.Request.Context(), id)
		if err != nil {
			return err
		}
		w, err := h.svc.Dispatch(c.Request.Context(), waveID, id)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, w)
		return nil
	}))
	r.POST("/routes/:id/stops/:seq/arrive", g.WarehouseWrite, httpx.Handle(func(c *gin.Context) error {
		id, err := httpx.PathID(c, "id")
		if err != nil {
			return err
		}
		seq, err := httpx.PathPositive(c, "seq", input.MaxInt4) // route_stops.seq is an integer
		if err != nil {
			return err
		}
		d, err := h.svc.Arrive(c.Request.Context(), id, int(seq))
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, d)
		return nil
	}))
	r.GET("/waves/:id/deliveries", g.StaffRead, httpx.ByID(func(ctx context.Context, id int64) (gin.H, error) {
		ds, err := h.svc.WaveDeliveries(ctx, id)
		return gin.H{"deliveries": ds}, err
	}))
}

func (h *Handlers) leaderDeliveries(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	ds, err := h.svc.LeaderDeliveries(c.Request.Context(), auth.PrincipalOf(c).LeaderID, date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"deliveries": ds})
	return nil
}

func (h *Handlers) receive(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var req ReceiveRequest
	if err := httpx.DecodeJSON(c, &req); err != nil {
		return err
	}
	d, err := h.svc.Receive(c.Request.Context(), auth.PrincipalOf(c).LeaderID, id, req)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, d)
	return nil
}

type codeRequest struct {
	Code         string  `json:"code"`
	OrderLineIDs []int64 `json:"order_line_ids,omitempty"`
}

func decodeCode(c *gin.Context, lines bool) (codeRequest, error) {
	var in codeRequest
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return in, err
	}
	if !lines && in.OrderLineIDs != nil {
		return in, apperr.InvalidField("order_line_ids", "unknown field \"order_line_ids\"")
	}
	if len(in.OrderLineIDs) > 1000 {
		return in, apperr.InvalidField("order_line_ids", "at most 1000 order lines")
	}
	return in, nil
}
