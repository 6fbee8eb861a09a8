package pickup

import (
	"encoding/json"
	"math"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"

	"groupbuy/pickup/geo"
)

// NearbyIn is a location and how far and how many to look.
type NearbyIn struct {
	Lat     float64  `query:"lat" required:"true" doc:"Latitude, -90 to 90."`
	Lng     float64  `query:"lng" required:"true" doc:"Longitude, -180 to 180."`
	RadiusM *float64 `query:"radius_m" doc:"Metres around the location, up to 50,000 (default 3,000)."`
	Limit   int      `query:"limit" max:"100" doc:"At most this many, nearest first (default 10)."`
}

// NearbyPoints is the pickup points nearest a location.
type NearbyPoints struct {
	Lat          float64       `json:"lat"`
	Lng          float64       `json:"lng"`
	RadiusM      float64       `json:"radius_m"`
	Limit        int           `json:"limit"`
	PickupPoints []NearbyPoint `json:"pickup_points"`
}

// Nearby answers the pickup points nearest a location.
func (h *Handlers) Nearby(c *gin.Context, in NearbyIn) (NearbyPoints, error) {
	q := NearbyQuery{Lat: in.Lat, Lng: in.Lng, RadiusM: DefaultNearbyRadiusM, Limit: in.Limit}
	if in.RadiusM != nil {
		q.RadiusM = *in.RadiusM
	}
	if q.Limit == 0 {
		q.Limit = DefaultNearbyLimit
	}
	ps, err := h.svc.Nearby(c.Request.Context(), q)
	return NearbyPoints{Lat: q.Lat, Lng: q.Lng, RadiusM: q.RadiusM, Limit: q.Limit, PickupPoints: ps}, err
}

// ServiceArea answers a warehouse's service area.
func (h *Handlers) ServiceArea(c *gin.Context, in ByID) (ServiceArea, error) {
	return h.svc.ServiceArea(c.Request.Context(), in.ID)
}

// ServiceAreaInput is a warehouse's service area: H3 cells or a polygon.
type ServiceAreaInput struct {
	Cells   *[]string        `json:"cells,omitempty" doc:"H3 cells (hex strings) at the search resolution or coarser."`
	GeoJSON *json.RawMessage `json:"geojson,omitempty" doc:"A GeoJSON Polygon or MultiPolygon, covered by cells."`
}

// SetServiceArea sets a warehouse's service area.
func (h *Handlers) SetServiceArea(c *gin.Context, in struct {
	ByID
	Body ServiceAreaInput
}) (ServiceArea, error) {
	var cells []geo.CellID
	var err error
	switch b := in.Body; {
	case (b.Cells == nil) == (b.GeoJSON == nil):
		return ServiceArea{}, apperr.InvalidField("cells", "give either cells (H3 cells, resolution %d or coarser) or geojson (a Polygon or MultiPolygon)", geo.SearchRes)
	case b.Cells != nil:
		if cells, err = ServiceCellsOf("cells", *b.Cells); err != nil {
			return ServiceArea{}, err
		}
	default:
		var g geo.GeoJSONGeometry
		if err := json.Unmarshal(*b.GeoJSON, &g); err != nil {
			return ServiceArea{}, apperr.InvalidField("geojson", "geojson must be a GeoJSON geometry object")
		}
		if cells, err = geo.PolygonCells("geojson", g, geo.SearchRes, MaxServiceCells); err != nil {
			return ServiceArea{}, err
		}
	}
	return h.svc.SetServiceArea(c.Request.Context(), in.ID, cells)
}

// max_kg and max_l lie from minAreaLimit (one gram or millilitre, the unit
// demand is counted in) to maxAreaLimit (far beyond any vehicle).
const (
	minAreaLimit = 0.001
	maxAreaLimit = 100_000
)

// AreasIn asks for a warehouse's delivery areas of a date.
type AreasIn struct {
	ByID
	Date  time.Time `query:"date" required:"true" doc:"The delivery date whose orders weigh the areas."`
	MaxKg *float64  `query:"max_kg" doc:"Split an area heavier than this many kilograms."`
	MaxL  *float64  `query:"max_l" doc:"Split an area larger than this many litres."`
}

// DeliveryAreas answers a warehouse's delivery areas (网格) as GeoJSON.
func (h *Handlers) DeliveryAreas(c *gin.Context, in AreasIn) (geo.GeoJSONFeatureCollection, error) {
	limit := geo.DefaultAreaLimit()
	for _, f := range []struct {
		name string
		v    *float64
		dst  *int64
	}{{"max_kg", in.MaxKg, &limit.WeightG}, {"max_l", in.MaxL, &limit.VolumeML}} {
		if f.v == nil {
			continue
		}
		if *f.v < minAreaLimit || *f.v > maxAreaLimit {
			return geo.GeoJSONFeatureCollection{}, apperr.InvalidField(f.name, "%s must be from %g to %d", f.name, minAreaLimit, maxAreaLimit)
		}
		*f.dst = int64(math.Round(*f.v * 1000))
	}
	ctx := c.Request.Context()
	if _, err := GetWarehouse(ctx, h.svc.db, in.ID); err != nil {
		return geo.GeoJSONFeatureCollection{}, err
	}
	var demand []Demand
	if h.Demand != nil {
		var err error
		if demand, err = h.Demand(ctx, in.ID, in.Date); err != nil {
			return geo.GeoJSONFeatureCollection{}, err
		}
	}
	m, err := h.svc.DeliveryAreas(ctx, in.ID, demand, limit)
	return m.Map, err
}
