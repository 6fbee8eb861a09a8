package pickup

import (
	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
)

// Handlers are the pickup network's HTTP handlers. cmd/groupbuy's route
// table says who calls them.
type Handlers struct {
	svc *Service
	// Demand gives delivery areas their weights; set at wiring time because
	// the order book lives in fulfillment, which pickup must not import.
	Demand DemandFunc
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers {
	return &Handlers{svc: svc}
}

// ByID is the request of a route about one warehouse, pickup point or leader.
type ByID struct {
	ID int64 `path:"id"`
}

// ResidentContact sets a resident's contact.
type ResidentContact struct {
	ID   int64 `path:"id" doc:"The resident's id."`
	Body Contact
}

// SetContact records a resident's e-mail and opt-outs, for the leader of
// their point.
func (h *Handlers) SetContact(c *gin.Context, in ResidentContact) (Contact, error) {
	in.Body.ResidentID = in.ID
	return h.svc.SetContact(c.Request.Context(), auth.PrincipalOf(c).LeaderID, in.Body)
}

// LeaderSiteOut is the calling leader, their pickup point and warehouse.
type LeaderSiteOut struct {
	Leader      Leader    `json:"leader"`
	PickupPoint Point     `json:"pickup_point"`
	Warehouse   Warehouse `json:"warehouse"`
}

// Me answers who the calling leader is and where.
func (h *Handlers) Me(c *gin.Context, _ struct{}) (LeaderSiteOut, error) {
	site, err := h.svc.Site(c.Request.Context(), auth.PrincipalOf(c).LeaderID)
	return LeaderSiteOut{Leader: site.Leader, PickupPoint: site.Point, Warehouse: site.Warehouse}, err
}

// WarehouseInput is a warehouse to create.
type WarehouseInput struct {
	Code          string          `json:"code"`
	Name          string          `json:"name"`
	Address       string          `json:"address,omitempty"`
	Lat           *float64        `json:"lat"`
	Lng           *float64        `json:"lng"`
	TimeZone      string          `json:"time_zone" doc:"An IANA time zone, e.g. Asia/Shanghai: the cutoff and the delivery window are local to it."`
	CutoffLocal   clock.TimeOfDay `json:"cutoff_local" doc:"Orders for delivery date D close at this time, HH:MM, on D-1."`
	DeliveryStart clock.TimeOfDay `json:"delivery_start" doc:"The delivery window's start on D, HH:MM."`
	DeliveryEnd   clock.TimeOfDay `json:"delivery_end" doc:"The delivery window's end on D, HH:MM."`
}

// CreateWarehouse creates a warehouse.
func (h *Handlers) CreateWarehouse(c *gin.Context, in struct{ Body WarehouseInput }) (Warehouse, error) {
	b := in.Body
	if err := requireLatLng(b.Lat, b.Lng); err != nil {
		return Warehouse{}, err
	}
	return h.svc.CreateWarehouse(c.Request.Context(), Warehouse{Code: b.Code, Name: b.Name, Address: b.Address,
		Lat: *b.Lat, Lng: *b.Lng, TimeZone: b.TimeZone, CutoffLocal: b.CutoffLocal,
		DeliveryStart: b.DeliveryStart, DeliveryEnd: b.DeliveryEnd})
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

// WarehouseList is every warehouse.
type WarehouseList struct {
	Warehouses []Warehouse `json:"warehouses"`
}

// ListWarehouses answers every warehouse.
func (h *Handlers) ListWarehouses(c *gin.Context, _ struct{}) (WarehouseList, error) {
	ws, err := ListWarehouses(c.Request.Context(), h.svc.db)
	return WarehouseList{Warehouses: ws}, err
}

// Warehouse answers one warehouse.
func (h *Handlers) Warehouse(c *gin.Context, in ByID) (Warehouse, error) {
	return GetWarehouse(c.Request.Context(), h.svc.db, in.ID)
}

// LeaderInput names a leader by name and phone.
type LeaderInput struct {
	Name  string `json:"name"`
	Phone string `json:"phone" doc:"The leader's mobile number; it identifies the leader."`
}

// PickupPointInput is a pickup point to create or update (by code) with
// its leader.
type PickupPointInput struct {
	Code        string          `json:"code"`
	WarehouseID int64           `json:"warehouse_id"`
	Name        string          `json:"name"`
	Address     string          `json:"address,omitempty"`
	Lat         *float64        `json:"lat"`
	Lng         *float64        `json:"lng"`
	Opens       clock.TimeOfDay `json:"opens" doc:"When residents may collect, HH:MM local."`
	Closes      clock.TimeOfDay `json:"closes"`
	// The hours the point can receive the delivery, when narrower than the
	// warehouse's delivery window; the route stage plans within both.
	ReceivingFrom  clock.TimeOfDay `json:"receiving_from,omitzero" doc:"When the point can start receiving the morning's delivery, HH:MM local; with receiving_until, or neither (receives whenever the warehouse delivers)."`
	ReceivingUntil clock.TimeOfDay `json:"receiving_until,omitzero" doc:"When the point stops receiving, HH:MM local, after receiving_from."`
	Leader         LeaderInput     `json:"leader"`
}

// SavePoint creates or updates a pickup point and its leader.
func (h *Handlers) SavePoint(c *gin.Context, in struct{ Body PickupPointInput }) (PointCreated, error) {
	b := in.Body
	if err := requireLatLng(b.Lat, b.Lng); err != nil {
		return PointCreated{}, err
	}
	return h.svc.SavePoint(c.Request.Context(), PointInput{
		Point: Point{Code: b.Code, WarehouseID: b.WarehouseID, Name: b.Name, Address: b.Address,
			Lat: *b.Lat, Lng: *b.Lng, Opens: b.Opens, Closes: b.Closes,
			ReceivingFrom: b.ReceivingFrom, ReceivingUntil: b.ReceivingUntil},
		LeaderName: b.Leader.Name, LeaderPhone: b.Leader.Phone,
	})
}

// HandoverRequest names the point's new leader.
type HandoverRequest struct {
	Leader LeaderInput `json:"leader"`
}

// HandOver gives a pickup point to another leader.
func (h *Handlers) HandOver(c *gin.Context, in struct {
	ByID
	Body HandoverRequest
}) (HandoverDone, error) {
	return h.svc.HandOver(c.Request.Context(), in.ID, in.Body.Leader.Name, in.Body.Leader.Phone, auth.PrincipalOf(c))
}

// HandoverList is a point's handovers, oldest first.
type HandoverList struct {
	Handovers []Handover `json:"handovers"`
}

// Handovers answers a point's handovers.
func (h *Handlers) Handovers(c *gin.Context, in ByID) (HandoverList, error) {
	hs, err := Handovers(c.Request.Context(), h.svc.db, in.ID)
	return HandoverList{Handovers: hs}, err
}

// PickupPointImport is what a CSV import saved.
type PickupPointImport struct {
	Imported     int            `json:"imported"`
	PickupPoints []PointCreated `json:"pickup_points"`
}

// ImportPoints saves the pickup points of a CSV file.
func (h *Handlers) ImportPoints(c *gin.Context, in csvio.Upload) (PickupPointImport, error) {
	out, err := h.svc.ImportPoints(c.Request.Context(), in.Limited(c.Writer))
	return PickupPointImport{Imported: len(out), PickupPoints: out}, err
}

// PickupPointList is a list of pickup points.
type PickupPointList struct {
	PickupPoints []Point `json:"pickup_points"`
}

// ListPoints answers the pickup points, of one warehouse or all.
func (h *Handlers) ListPoints(c *gin.Context, in struct {
	WarehouseID int64 `query:"warehouse_id" doc:"Only this warehouse's points."`
}) (PickupPointList, error) {
	ps, err := ListPoints(c.Request.Context(), h.svc.db, in.WarehouseID)
	return PickupPointList{PickupPoints: ps}, err
}

// Point answers one pickup point.
func (h *Handlers) Point(c *gin.Context, in ByID) (Point, error) {
	return GetPoint(c.Request.Context(), h.svc.db, in.ID)
}

// LeaderToken is a new leader token, shown once.
type LeaderToken struct {
	LeaderID    int64  `json:"leader_id"`
	LeaderToken string `json:"leader_token"`
}

// IssueLeaderToken issues a new token for a leader.
func (h *Handlers) IssueLeaderToken(c *gin.Context, in ByID) (LeaderToken, error) {
	token, err := h.svc.IssueLeaderToken(c.Request.Context(), in.ID)
	return LeaderToken{LeaderID: in.ID, LeaderToken: token}, err
}
