package supplieraccount

import (
	"cmp"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/internal/api"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers answer the routes of returns to supplier and of the supplier's
// statement (cmd/groupbuy's route table lists them).
type Handlers struct {
	svc *Service
	db  *sqlx.DB
}

// NewHandlers returns the handlers over svc and db.
func NewHandlers(svc *Service, db *sqlx.DB) *Handlers { return &Handlers{svc: svc, db: db} }

type idPath struct {
	ID int64 `path:"id"`
}

type returnBody struct {
	Body ReturnInput
}

type returnsQuery struct {
	SupplierID int64 `query:"supplier_id" doc:"Only this supplier's returns."`
	httpx.Page
}

type returnFile struct {
	ID     int64  `path:"id" doc:"The return's id."`
	Format string `query:"format" enum:"pdf,csv" doc:"pdf (the default) or csv."`
}

// CreateReturn: return goods to a supplier: rejected units of purchase-order lines, or lots from stock.
func (h *Handlers) CreateReturn(c *gin.Context, in returnBody) (SupplierReturn, error) {
	r, replayed, err := h.svc.CreateReturn(c.Request.Context(), in.Body, auth.PrincipalOf(c).String())
	if replayed {
		api.SetStatus(c, http.StatusOK)
	}
	return r, err
}

// ReturnRejected: return every unit rejected on a wave's purchase orders and not yet returned, one return per supplier.
func (h *Handlers) ReturnRejected(c *gin.Context, in idPath) (ReturnList, error) {
	r, err := h.svc.ReturnRejected(c.Request.Context(), in.ID, auth.PrincipalOf(c).String())
	return ReturnList{Returns: r}, err
}

// Returns: list returns to supplier.
func (h *Handlers) Returns(c *gin.Context, in returnsQuery) (ReturnList, error) {
	return ListReturns(c.Request.Context(), h.db, in.SupplierID, in.AfterID, in.Limit)
}

// Return: a return to supplier with its lines.
func (h *Handlers) Return(c *gin.Context, in idPath) (SupplierReturn, error) {
	return GetReturn(c.Request.Context(), h.db, in.ID)
}

// ReturnDocument: a return to supplier as its document (退供单, PDF or CSV).
func (h *Handlers) ReturnDocument(c *gin.Context, in returnFile) (api.Download, error) {
	format := cmp.Or(in.Format, "pdf")
	r, b, err := h.svc.ReturnDocument(c.Request.Context(), in.ID, format)
	ctype := "application/pdf"
	if format == "csv" {
		ctype = "text/csv; charset=utf-8"
	}
	return api.Download{ContentType: ctype, FileName: r.Number + "." + format, Body: b}, err
}

type statementQuery struct {
	ID    int64             `path:"id" doc:"The supplier's id."`
	Month fulfillment.Month `query:"month" doc:"The period as a month, YYYY-MM; or give from and to."`
	From  time.Time         `query:"from" doc:"First day of the period (with to)."`
	To    time.Time         `query:"to" doc:"Last day of the period, included."`
}

func (h *Handlers) statement(c *gin.Context, in statementQuery) (Statement, error) {
	p, err := PeriodOf(in.Month, in.From, in.To)
	if err != nil {
		return Statement{}, err
	}
	return StatementOf(c.Request.Context(), h.db, in.ID, p)
}

// Statement: a supplier's statement for a period: accepted × price − stock returned, by product.
func (h *Handlers) Statement(c *gin.Context, in statementQuery) (Statement, error) {
	return h.statement(c, in)
}

// StatementCSV: a supplier's statement for a period as CSV (Chinese headers, amounts in yuan).
func (h *Handlers) StatementCSV(c *gin.Context, in statementQuery) (api.Download, error) {
	st, err := h.statement(c, in)
	name := "statement-" + st.SupplierCode + "-" + st.Period.From.String() + "-" + st.Period.To.String() + ".csv"
	return api.Download{ContentType: "text/csv; charset=utf-8", FileName: name, Body: st.CSV()}, err
}
