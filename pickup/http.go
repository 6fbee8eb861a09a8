package pickup

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
)

// Handlers are the pickup network's HTTP handlers.
type Handlers struct {
	svc  *Service
	auth *auth.Authenticator
	// Demand gives delivery areas their weights; set at wiring time because
	// the order book lives in fulfillment, which pickup must not import.
	Demand DemandFunc
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service, auth *auth.Authenticator) *Handlers {
	return &Handlers{svc: svc, auth: auth}
}

// RegisterLeader adds the leader app routes (under /api/v1/leader).
func (h *Handlers) RegisterLeader(r gin.IRouter) {
	r.GET("/me", httpx.Handle(h.me))
	r.PUT("/residents/:id/contact", httpx.Handle(h.setContact))
}

// RegisterOps adds the ops routes (under /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter) {
	g := h.auth.StaffGuards()
	r.POST("/warehouses", g.OpsWrite, httpx.Handle(h.createWarehouse))
	r.GET("/warehouses", g.StaffRead, httpx.Handle(h.listWarehouses))
	r.GET("/warehouses/:id", g.StaffRead, httpx.Handle(h.getWarehouse))
	r.POST("/pickup-points", g.OpsWrite, httpx.Handle(h.savePoint))
	r.POST("/pickup-points/import", g.OpsWrite, httpx.Handle(h.importPoints))
	r.GET("/pickup-points", g.StaffRead, httpx.Handle(h.listPoints))
	r.GET("/pickup-points/:id", g.StaffRead, httpx.Handle(h.getPoint))
	r.POST("/pickup-points/:id/handover", g.OpsWrite, httpx.Handle(h.handOver))
	r.GET("/pickup-points/:id/handovers", g.StaffRead, httpx.ByID(func(ctx context.Context, id int64) (gin.H, error) {
		hs, err := Handovers(ctx, h.svc.db, id)
		return gin.H{"handovers": hs}, err
	}))
	r.POST("/leaders/:id/tokens", g.OpsWrite, httpx.Handle(h.issueLeaderToken))
	r.GET("/notices", g.StaffRead, httpx.Handle(func(c *gin.Context) error {
		stats, err := OutboxStats(c.Request.Context(), h.svc.db)
		if err != nil {
			return err
		}
		c.JSON(http.StatusOK, gin.H{"kinds": stats})
		return nil
	}))
	h.registerMap(r, g)
}

func (h *Handlers) setContact(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in Contact
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	in.ResidentID = id
	out, err := h.svc.SetContact(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, out)
	return nil
}

func (h *Handlers) me(c *gin.Context) error {
	site, err := h.svc.Site(c.Request.Context(), auth.PrincipalOf(c).LeaderID)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"leader": site.Leader, "pickup_point": site.Point, "warehouse": site.Warehouse})
	return nil
}

func (h *Handlers) createWarehouse(c *gin.Context) error {
	var in struct {
		Code          string          `json:"code"`
		Name          string          `json:"name"`
		Address       string          `json:"address"`
		Lat           *float64        `json:"lat"`
		Lng           *float64        `json:"lng"`
		TimeZone      string          `json:"time_zone"`
		CutoffLocal   clock.TimeOfDay `json:"cutoff_local"`
		DeliveryStart clock.TimeOfDay `json:"delivery_start"`
		DeliveryEnd   clock.TimeOfDay `json:"delivery_end"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := requireLatLng(in.Lat, in.Lng); err != nil {
		return err
	}
	out, err := h.svc.CreateWarehouse(c.Request.Context(), Warehouse{Code: in.Code, Name: in.Name, Address: in.Address,
		Lat: *in.Lat, Lng: *in.Lng, TimeZone: in.TimeZone, CutoffLocal: in.CutoffLocal,
		DeliveryStart: in.DeliveryStart, DeliveryEnd: in.DeliveryEnd})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

func requireLatLng(lat, lng *float64) error {
	if lat == nil {
		return apperr.InvalidField("lat", "lat is required")
	}
	if lng == nil {
		return apperr.InvalidField("lng", "lng is required")
	}
	return nil
}

func (h *Handlers) listWarehouses(c *gin.Context) error {
	ws, err := ListWarehouses(c.Request.Context(), h.svc.db)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"warehouses": ws})
	return nil
}

func (h *Handlers) getWarehouse(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	w, err := GetWarehouse(c.Request.Context(), h.svc.db, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (h *Handlers) savePoint(c *gin.Context) error {
	var in struct {
		Code        string          `json:"code"`
		WarehouseID int64           `json:"warehouse_id"`
		Name        string          `json:"name"`
		Address     string          `json:"address"`
		Lat         *float64        `json:"lat"`
		Lng         *float64        `json:"lng"`
		Opens       clock.TimeOfDay `json:"opens"`
		Closes      clock.TimeOfDay `json:"closes"`
		Leader      struct {
			Name  string `json:"name"`
			Phone string `json:"phone"`
		} `json:"leader"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if err := requireLatLng(in.Lat, in.Lng); err != nil {
		return err
	}
	out, err := h.svc.SavePoint(c.Request.Context(), PointInput{
		Point: Point{Code: in.Code, WarehouseID: in.WarehouseID, Name: in.Name, Address: in.Address,
			Lat: *in.Lat, Lng: *in.Lng, Opens: in.Opens, Closes: in.Closes},
		LeaderName: in.Leader.Name, LeaderPhone: in.Leader.Phone,
	})
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

func (h *Handlers) handOver(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Leader struct {
			Name  string `json:"name"`
			Phone string `json:"phone"`
		} `json:"leader"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	out, err := h.svc.HandOver(c.Request.Context(), id, in.Leader.Name, in.Leader.Phone, auth.PrincipalOf(c))
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, out)
	return nil
}

func (h *Handlers) importPoints(c *gin.Context) error {
	out, err := h.svc.ImportPoints(c.Request.Context(), http.MaxBytesReader(c.Writer, c.Request.Body, csvio.MaxBytes))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"imported": len(out), "pickup_points": out})
	return nil
}

func (h *Handlers) listPoints(c *gin.Context) error {
	wid, err := httpx.QueryPositive(c, "warehouse_id", input.MaxInt8)
	if err != nil {
		return err
	}
	ps, err := ListPoints(c.Request.Context(), h.svc.db, wid)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"pickup_points": ps})
	return nil
}

func (h *Handlers) getPoint(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	p, err := GetPoint(c.Request.Context(), h.svc.db, id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, p)
	return nil
}

func (h *Handlers) issueLeaderToken(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	token, err := h.svc.IssueLeaderToken(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, gin.H{"leader_id": id, "leader_token": token})
	return nil
}
