package pickup

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
)

// RegisterNearby adds GET /pickup-points/nearby to r, a group its caller
// guards for leader and staff tokens.
func (h *Handlers) RegisterNearby(r gin.IRouter) {
	r.GET("/pickup-points/nearby", httpx.Handle(h.nearby))
}

// registerMap adds the service-area and delivery-area routes to the ops group.
func (h *Handlers) registerMap(r gin.IRouter, g auth.Guards) {
	r.GET("/warehouses/:id/service-area", g.StaffRead, httpx.Handle(h.getServiceArea))
	r.PUT("/warehouses/:id/service-area", g.OpsWrite, httpx.Handle(h.putServiceArea))
	r.GET("/warehouses/:id/areas", g.StaffRead, httpx.Handle(h.deliveryAreas))
}

// queryFloat parses a query parameter; def applies when it is absent, and a
// NaN def makes it required.
func queryFloat(c *gin.Context, name string, def float64) (float64, error) {
	v, ok := c.GetQuery(name)
	if !ok || v == "" {
		if math.IsNaN(def) {
			return 0, apperr.InvalidField(name, "%s is required", name)
		}
		return def, nil
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, apperr.InvalidField(name, "%s must be a finite number, got %q", name, v)
	}
	return f, nil
}

func (h *Handlers) nearby(c *gin.Context) error {
	var q NearbyQuery
	var err error
	if q.Lat, err = queryFloat(c, "lat", math.NaN()); err != nil {
		return err
	}
	if q.Lng, err = queryFloat(c, "lng", math.NaN()); err != nil {
		return err
	}
	if q.RadiusM, err = queryFloat(c, "radius_m", DefaultNearbyRadiusM); err != nil {
		return err
	}
	limit, err := queryFloat(c, "limit", DefaultNearbyLimit)
	if err != nil {
		return err
	}
	if limit != math.Trunc(limit) || limit < 1 || limit > MaxNearbyLimit {
		return apperr.InvalidField("limit", "limit must be an integer between 1 and %d", MaxNearbyLimit)
	}
	q.Limit = int(limit)
	ps, err := h.svc.Nearby(c.Request.Context(), q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"lat": q.Lat, "lng": q.Lng, "radius_m": q.RadiusM, "limit": q.Limit, "pickup_points": ps})
	return nil
}

func (h *Handlers) getServiceArea(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	sa, err := h.svc.ServiceArea(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sa)
	return nil
}

func (h *Handlers) putServiceArea(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Cells   *[]string        `json:"cells"`
		GeoJSON *json.RawMessage `json:"geojson"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	var cells []CellID
	switch {
	case (in.Cells == nil) == (in.GeoJSON == nil):
		return apperr.InvalidField("cells", "give either cells (H3 cells, resolution %d or coarser) or geojson (a Polygon or MultiPolygon)", SearchRes)
	case in.Cells != nil:
		if cells, err = ServiceCellsOf("cells", *in.Cells); err != nil {
			return err
		}
	default:
		var g GeoJSONGeometry
		if err := json.Unmarshal(*in.GeoJSON, &g); err != nil {
			return apperr.InvalidField("geojson", "geojson must be a GeoJSON geometry object")
		}
		if cells, err = PolygonCells("geojson", g, SearchRes, MaxServiceCells); err != nil {
			return err
		}
	}
	sa, err := h.svc.SetServiceArea(c.Request.Context(), id, cells)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, sa)
	return nil
}

// max_kg and max_l lie from minAreaLimit (one gram or millilitre, the unit
// demand is counted in) to maxAreaLimit (far beyond any vehicle).
const (
	minAreaLimit = 0.001
	maxAreaLimit = 100_000
)

func (h *Handlers) deliveryAreas(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	date, err := input.ParseDate("date", time.DateOnly, c.Query("date"))
	if err != nil {
		return err
	}
	limit := DefaultAreaLimit()
	for _, f := range []struct {
		name  string
		dst   *int64
		scale float64
	}{{"max_kg", &limit.WeightG, 1000}, {"max_l", &limit.VolumeML, 1000}} {
		v, err := queryFloat(c, f.name, float64(*f.dst)/f.scale)
		if err != nil {
			return err
		}
		if v < minAreaLimit || v > maxAreaLimit {
			return apperr.InvalidField(f.name, "%s must be from %g to %d", f.name, minAreaLimit, maxAreaLimit)
		}
		*f.dst = int64(math.Round(v * f.scale))
	}
	ctx := c.Request.Context()
	if _, err := GetWarehouse(ctx, h.svc.db, id); err != nil {
		return err
	}
	var demand []Demand
	if h.Demand != nil {
		if demand, err = h.Demand(ctx, id, date); err != nil {
			return err
		}
	}
	m, err := h.svc.DeliveryAreas(ctx, id, demand, limit)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, m.Map)
	return nil
}
