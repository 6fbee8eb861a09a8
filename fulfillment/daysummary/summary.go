// Package daysummary reports how a wave's day went, from the orders to the
// residents' collections: the figures a dispatcher reads the morning after
// (fill rate, cut rate, on-time stops, kilometres and cost per order,
// collection rate) with the counts they come from. It reads through the
// functions of the packages that own the data and owns no table.
package daysummary

import (
	"context"
	"math"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
)

// Summary is a wave's day in figures. Rates are fractions (0.9731), rounded
// to four places; a rate over nothing is 0.
type Summary struct {
	WaveID       int64            `json:"wave_id"`
	WarehouseID  int64            `json:"warehouse_id"`
	DeliveryDate fulfillment.Date `json:"delivery_date"`
	State        wave.State       `json:"state"`
	Orders       int64            `json:"orders"`
	Lines        int64            `json:"lines"`
	UnitsOrdered int64            `json:"units_ordered"`
	UnitsCut     int64            `json:"units_cut" doc:"Units cut for shortage at allocation."`
	// FillRate is units delivered (received in good order by the leaders)
	// over units ordered; CutRate units cut for shortage over units ordered.
	FillRate float64 `json:"fill_rate" doc:"Units delivered (received in good order at the pickup points) / units ordered."`
	CutRate  float64 `json:"cut_rate" doc:"Units cut for shortage / units ordered."`
	// OnTimeRate is stops reached within their windows over stops planned.
	OnTimeRate float64 `json:"on_time_rate" doc:"Stops reached within their planned window / stops planned."`
	// KmPerOrder and CostPerOrderFen divide the routes' planned distance
	// and cost by the wave's orders.
	KmPerOrder      float64 `json:"km_per_order"`
	CostPerOrderFen int64   `json:"cost_per_order_fen"`
	// CollectionRate is parcel units collected over units ready at the points.
	CollectionRate float64 `json:"collection_rate" doc:"Parcel units collected by residents / units ready at the pickup points."`
	// The counts the figures come from.
	Driving routeplan.Driving `json:"driving"`
	Points  lastmile.Outcome  `json:"points"`
}

// Of computes the summary of wave id.
func Of(ctx context.Context, q sqlx.QueryerContext, id int64) (Summary, error) {
	w, err := wave.Get(ctx, q, id)
	if err != nil {
		return Summary{}, err
	}
	s := Summary{WaveID: w.ID, WarehouseID: w.WarehouseID, DeliveryDate: w.DeliveryDate, State: w.State,
		Orders: w.Orders, Lines: w.Lines, UnitsOrdered: w.Units, UnitsCut: w.Refunds.ByReason[fulfillment.ReasonShortage].Units}
	if s.Driving, err = routeplan.WaveDriving(ctx, q, id); err != nil {
		return s, err
	}
	if s.Points, err = lastmile.WaveOutcome(ctx, q, id, w.DeliveryDate); err != nil {
		return s, err
	}
	s.FillRate = rate(s.Points.UnitsReceived, s.UnitsOrdered)
	s.CutRate = rate(s.UnitsCut, s.UnitsOrdered)
	s.OnTimeRate = rate(s.Driving.StopsOnTime, s.Driving.Stops)
	s.CollectionRate = rate(s.Points.UnitsCollected, s.Points.UnitsReady)
	if s.Orders > 0 {
		s.KmPerOrder = math.Round(float64(s.Driving.DistanceM)/float64(s.Orders)) / 1000
		s.CostPerOrderFen = int64(math.Round(float64(s.Driving.CostFen) / float64(s.Orders)))
	}
	return s, nil
}

func rate(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return math.Round(float64(n)/float64(of)*1e4) / 1e4
}

// Handlers serve the summary; cmd/groupbuy's route table says who calls them.
type Handlers struct{ db *sqlx.DB }

// NewHandlers returns the summary's handlers over db.
func NewHandlers(db *sqlx.DB) *Handlers { return &Handlers{db: db} }

// WaveID is the request of the summary of one wave.
type WaveID struct {
	ID int64 `path:"id" doc:"The wave's id."`
}

// WaveSummary answers the summary of a wave.
func (h *Handlers) WaveSummary(c *gin.Context, in WaveID) (Summary, error) {
	return Of(c.Request.Context(), h.db, in.ID)
}
