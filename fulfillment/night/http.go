package night

import (
	"context"
	"fmt"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
)

// Handlers are the handlers of waves and their night: status, close,
// rerun, receipts, the pick and sort plans and the printouts.
// cmd/groupbuy's route table says who calls them.
type Handlers struct {
	night *Runner
}

// NewHandlers returns the handlers over the night's runner.
func NewHandlers(night *Runner) *Handlers { return &Handlers{night: night} }

// WaveList is the waves of a delivery date.
type WaveList struct {
	Waves []wave.Wave `json:"waves"`
}

// ListWaves answers the waves of a delivery date, by warehouse.
func (h *Handlers) ListWaves(c *gin.Context, in fulfillment.DateQuery) (WaveList, error) {
	waves, err := h.night.Waves(c.Request.Context(), in.Date)
	return WaveList{Waves: waves}, err
}

// WaveID is the request of a route about one wave.
type WaveID struct {
	ID int64 `path:"id" doc:"The wave's id."`
}

// Wave answers a wave with its stage history and refunds.
func (h *Handlers) Wave(c *gin.Context, in WaveID) (wave.Wave, error) {
	return h.night.Wave(c.Request.Context(), in.ID)
}

// Close is the manual cutoff: ordering stops now, whatever the clock says.
func (h *Handlers) Close(c *gin.Context, in WaveID) (wave.Wave, error) {
	if _, err := h.night.Close(c.Request.Context(), in.ID, true); err != nil {
		return wave.Wave{}, err
	}
	return h.night.Wave(c.Request.Context(), in.ID)
}

// StageRerun is the stage task queued again.
type StageRerun struct {
	WaveID int64  `json:"wave_id"`
	Stage  string `json:"stage"`
	TaskID string `json:"task_id"`
}

// Rerun queues a stage of a wave again.
func (h *Handlers) Rerun(c *gin.Context, in struct {
	WaveID
	Stage string `path:"stage" max:"40" doc:"The stage: close, purchase, allocate, pick, refund, route or ready."`
}) (StageRerun, error) {
	task, err := h.night.Rerun(c.Request.Context(), in.ID, wave.Stage(in.Stage))
	return StageRerun{WaveID: in.ID, Stage: in.Stage, TaskID: task}, err
}

// ReceiptsRequest is what the warehouse received for a wave's sale items.
type ReceiptsRequest struct {
	Policy wave.Policy `json:"policy,omitempty" doc:"How a short sale item is shared: fcfs (first come, first served) or even (across pickup points)."`
	Final  bool        `json:"final,omitempty" doc:"The last receipts: allocation may start."`
	Items  []Receipt   `json:"items"`
}

// RecordReceipts records what the warehouse received for a wave.
func (h *Handlers) RecordReceipts(c *gin.Context, in struct {
	WaveID
	Body ReceiptsRequest
}) (wave.Wave, error) {
	return h.night.RecordReceipts(c.Request.Context(), in.ID, in.Body.Policy, in.Body.Final, in.Body.Items, auth.PrincipalOf(c).String())
}

// PickListOut is a wave's total pick list in walking order.
type PickListOut struct {
	WaveID int64      `json:"wave_id"`
	Lines  []PickLine `json:"lines"`
}

// PickList answers a wave's total pick list, of one zone or all.
func (h *Handlers) PickList(c *gin.Context, in struct {
	WaveID
	Zone fulfillment.Zone `query:"zone" enum:"ambient,chilled,frozen" doc:"Only this temperature zone."`
}) (PickListOut, error) {
	lines, err := h.night.PickList(c.Request.Context(), in.ID, in.Zone)
	return PickListOut{WaveID: in.ID, Lines: lines}, err
}

// SortPlanOut is a wave's sorting plan: SKU × route × leader.
type SortPlanOut struct {
	WaveID int64      `json:"wave_id"`
	Lines  []SortLine `json:"lines"`
}

// SortPlan answers a wave's sorting plan, of one route or all.
func (h *Handlers) SortPlan(c *gin.Context, in struct {
	WaveID
	Route routeplan.RouteCode `query:"route" doc:"Only this route (R01, R02, …)."`
}) (SortPlanOut, error) {
	lines, err := h.night.SortPlan(c.Request.Context(), in.ID, string(in.Route))
	return SortPlanOut{WaveID: in.ID, Lines: lines}, err
}

// PrintoutQuery names a printout: {kind}.pdf or {kind}.csv, with its scope.
type PrintoutQuery struct {
	WaveID
	File  string              `path:"file" max:"40" doc:"{kind}.pdf or {kind}.csv; kind is pick-list, sort-sheet, labels or route-sheet."`
	Zone  fulfillment.Zone    `query:"zone" enum:"ambient,chilled,frozen" doc:"Only this temperature zone (pick list, sort sheet, labels)."`
	Route routeplan.RouteCode `query:"route" doc:"Only this route (sort sheet, labels, route sheet)."`
}

// Printout answers a wave's printout as a file.
func (h *Handlers) Printout(c *gin.Context, in PrintoutQuery) (api.Download, error) {
	scope := PrintScope{Route: string(in.Route), Zone: in.Zone}
	out, err := h.night.Printout(c.Request.Context(), in.ID, in.File, scope)
	if err != nil {
		return api.Download{}, err
	}
	ctype := "application/pdf"
	if out.Format == "csv" {
		ctype = "text/csv; charset=utf-8"
	}
	return api.Download{ContentType: ctype, FileName: fmt.Sprintf("%s.%s", scope.FileName(in.ID, out.Kind), out.Format),
		ETag: `"` + out.SHA256 + `"`, Body: out.Content}, nil
}

// Wave returns a wave with its stage history and refunds.
func (r *Runner) Wave(ctx context.Context, id int64) (wave.Wave, error) {
	return wave.Get(ctx, r.db, id)
}

// Waves returns the waves of a delivery date, by warehouse.
func (r *Runner) Waves(ctx context.Context, date fulfillment.Date) ([]wave.Wave, error) {
	return wave.List(ctx, r.db, date)
}

// PickList returns a wave's total pick list in walking order; zone ""
// means every zone.
func (r *Runner) PickList(ctx context.Context, waveID int64, zone fulfillment.Zone) ([]PickLine, error) {
	if err := fulfillment.CheckZoneFilter(zone); err != nil {
		return nil, err
	}
	if _, err := wave.Get(ctx, r.db, waveID); err != nil {
		return nil, err
	}
	return PickList(ctx, r.db, waveID, zone)
}

// SortPlan returns a wave's sorting plan; route "" means every route.
func (r *Runner) SortPlan(ctx context.Context, waveID int64, route string) ([]SortLine, error) {
	if err := routeplan.CheckRouteCode(route); err != nil {
		return nil, err
	}
	if _, err := wave.Get(ctx, r.db, waveID); err != nil {
		return nil, err
	}
	return SortPlan(ctx, r.db, waveID, route)
}

// Printout returns a wave's printout (see Printer.Printout).
func (r *Runner) Printout(ctx context.Context, waveID int64, file string, scope PrintScope) (Printout, error) {
	if r.opt.Printer == nil {
		return Printout{}, apperr.Errorf(apperr.Unavailable, "printouts_off", "printouts are not configured")
	}
	return r.opt.Printer.Printout(ctx, r.db, waveID, file, scope)
}
