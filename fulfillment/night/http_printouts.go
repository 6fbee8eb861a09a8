package night

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

// registerPrintouts adds the printout downloads:
// GET /waves/{id}/printouts/{kind}.pdf|.csv with ?zone= (pick list, sort
// sheet, labels) and ?route= (sort sheet, labels, route sheet).
func (h *Routes) registerPrintouts(r gin.IRouter, read gin.HandlerFunc) {
	r.GET("/waves/:id/printouts/:file", read, httpx.Handle(h.printout))
}

func (h *Routes) printout(c *gin.Context) error {
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
	p := h.waves.opt.Printer
	if p == nil {
		return apperr.Errorf(apperr.Unavailable, "printouts_off", "printouts are not configured")
	}
	out, err := p.Printout(c.Request.Context(), h.svc.db, id, kind, scope, format)
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
