package night

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers are the handlers of waves and their night: status, close,
// rerun, receipts, the pick and sort plans and the printouts.
type Handlers struct {
	night *Runner
}

// NewHandlers returns the handlers over the night's runner.
func NewHandlers(night *Runner) *Handlers { return &Handlers{night: night} }

// RegisterOps adds the ops routes of waves (under /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.GET("/waves", g.StaffRead, httpx.Handle(h.listWaves))
	r.GET("/waves/:id", g.StaffRead, httpx.ByID(h.night.Wave))
	r.POST("/waves/:id/close", g.OpsWrite, httpx.Handle(h.closeWave))
	r.POST("/waves/:id/stages/:stage/rerun", g.OpsWrite, httpx.Handle(h.rerunStage))
	// Warehouse staff record what arrived.
	r.PUT("/waves/:id/receipts", g.WarehouseWrite, httpx.Handle(h.recordReceipts))
	r.GET("/waves/:id/pick-list", g.StaffRead, httpx.Handle(h.pickList))
	r.GET("/waves/:id/sort-plan", g.StaffRead, httpx.Handle(h.sortPlan))
	// GET /waves/{id}/printouts/{kind}.pdf|.csv with ?zone= (pick list, sort
	// sheet, labels) and ?route= (sort sheet, labels, route sheet).
	r.GET("/waves/:id/printouts/:file", g.StaffRead, httpx.Handle(h.printout))
}

func (h *Handlers) listWaves(c *gin.Context) error {
	date, err := fulfillment.RequiredDate("date", c.Query("date"))
	if err != nil {
		return err
	}
	waves, err := h.night.Waves(c.Request.Context(), date)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"waves": waves})
	return nil
}

// closeWave is the manual cutoff: ordering stops now, whatever the clock says.
func (h *Handlers) closeWave(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	if _, err := h.night.Close(c.Request.Context(), id, true); err != nil {
		return err
	}
	w, err := h.night.Wave(c.Request.Context(), id)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (h *Handlers) rerunStage(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	task, err := h.night.Rerun(c.Request.Context(), id, wave.Stage(c.Param("stage")))
	if err != nil {
		return err
	}
	c.JSON(http.StatusAccepted, gin.H{"wave_id": id, "stage": c.Param("stage"), "task_id": task})
	return nil
}

func (h *Handlers) recordReceipts(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Policy wave.Policy `json:"policy"`
		Final  bool        `json:"final"`
		Items  []Receipt   `json:"items"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	w, err := h.night.RecordReceipts(c.Request.Context(), id, in.Policy, in.Final, in.Items, auth.PrincipalOf(c).String())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, w)
	return nil
}

func (h *Handlers) pickList(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	lines, err := h.night.PickList(c.Request.Context(), id, fulfillment.Zone(c.Query("zone")))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"wave_id": id, "lines": lines})
	return nil
}

func (h *Handlers) sortPlan(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	lines, err := h.night.SortPlan(c.Request.Context(), id, c.Query("route"))
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"wave_id": id, "lines": lines})
	return nil
}

func (h *Handlers) printout(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	file := c.Param("file")
	dot := strings.LastIndexByte(file, '.')
	if dot < 0 {
		return apperr.InvalidField("kind", "want {kind}.pdf or {kind}.csv")
	}
	kind, format := PrintoutKind(file[:dot]), file[dot+1:]
	scope := PrintScope{Route: c.Query("route"), Zone: fulfillment.Zone(c.Query("zone"))}
	out, err := h.night.Printout(c.Request.Context(), id, kind, scope, format)
	if err != nil {
		return err
	}
	name := scope.FileName(id, kind)
	ctype := "application/pdf"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, name, format))
	c.Header("ETag", `"`+out.SHA256+`"`)
	c.Data(http.StatusOK, ctype, out.Content)
	return nil
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
func (r *Runner) Printout(ctx context.Context, waveID int64, kind PrintoutKind, scope PrintScope, format string) (Printout, error) {
	if r.opt.Printer == nil {
		return Printout{}, apperr.Errorf(apperr.Unavailable, "printouts_off", "printouts are not configured")
	}
	return r.opt.Printer.Printout(ctx, r.db, waveID, kind, scope, format)
}
