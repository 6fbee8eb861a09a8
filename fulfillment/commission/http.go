package commission

import (
	"bytes"
	"fmt"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers are the commission handlers. cmd/groupbuy's route table says
// who calls them.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// LeaderCommissionsQuery selects a page of the leader's ledger by delivery date.
type LeaderCommissionsQuery struct {
	From fulfillment.Date `query:"from" required:"true" format:"date" doc:"The first delivery date, YYYY-MM-DD."`
	To   fulfillment.Date `query:"to" required:"true" format:"date" doc:"The last delivery date, YYYY-MM-DD."`
	httpx.Page
}

// LeaderCommissions answers a page of the calling leader's commission ledger.
func (h *Handlers) LeaderCommissions(c *gin.Context, in LeaderCommissionsQuery) (CommissionPage, error) {
	return h.svc.LeaderCommissions(c.Request.Context(), CommissionFilter{LeaderID: auth.PrincipalOf(c).LeaderID,
		From: in.From, To: in.To, AfterID: in.AfterID, Limit: in.Limit})
}

// CommissionRateInput sets the rate of a scope: the default, a category or
// a product (the most specific one applies to a line).
type CommissionRateInput struct {
	Scope     CommissionScope `json:"scope"`
	Category  string          `json:"category,omitempty"`
	ProductID int64           `json:"product_id,omitempty"`
	RateBP    *int64          `json:"rate_bp" doc:"The rate in basis points of the line's amount (100 is 1 %)."`
}

// SetRate sets a commission rate.
func (h *Handlers) SetRate(c *gin.Context, in struct{ Body CommissionRateInput }) (CommissionRate, error) {
	// A missing rate must not set the rate to 0 %.
	if in.Body.RateBP == nil {
		return CommissionRate{}, apperr.InvalidField("rate_bp", "rate_bp is required")
	}
	b := in.Body
	return h.svc.SetCommissionRate(c.Request.Context(),
		CommissionRateKey{Scope: b.Scope, Category: b.Category, ProductID: b.ProductID}, *b.RateBP)
}

// CommissionRateList is every commission rate.
type CommissionRateList struct {
	Rates []CommissionRate `json:"rates"`
}

// Rates answers every commission rate.
func (h *Handlers) Rates(c *gin.Context, _ struct{}) (CommissionRateList, error) {
	rates, err := h.svc.Rates(c.Request.Context())
	return CommissionRateList{Rates: rates}, err
}

// StatementQuery names a leader and a month.
type StatementQuery struct {
	LeaderID int64             `path:"id" doc:"The leader's id."`
	Month    fulfillment.Month `query:"month" required:"true" shape:"YYYY-MM" doc:"The month, YYYY-MM."`
}

// Statement answers a leader's monthly commission statement as CSV.
func (h *Handlers) Statement(c *gin.Context, in StatementQuery) (api.Download, error) {
	doc, err := h.svc.Statement(c.Request.Context(), in.LeaderID, in.Month.Date)
	if err != nil {
		return api.Download{}, err
	}
	var b bytes.Buffer
	if err := doc.WriteCSV(&b); err != nil {
		return api.Download{}, err
	}
	return api.Download{ContentType: "text/csv; charset=utf-8", Body: b.Bytes(),
		FileName: fmt.Sprintf("commission-leader%d-%s.csv", in.LeaderID, doc.Month)}, nil
}

// AfterSaleRefundRequest refunds units of a collected line.
type AfterSaleRefundRequest struct {
	Quantity *int64 `json:"quantity" doc:"Units to refund; at most what was collected."`
}

// RefundAfterSale refunds units of a collected order line (售后).
func (h *Handlers) RefundAfterSale(c *gin.Context, in struct {
	LineID int64 `path:"id" doc:"The order line's id."`
	Body   AfterSaleRefundRequest
}) (AfterSaleRefund, error) {
	if in.Body.Quantity == nil {
		return AfterSaleRefund{}, apperr.InvalidField("quantity", "quantity is required")
	}
	return h.svc.RefundAfterSale(c.Request.Context(), in.LineID, *in.Body.Quantity)
}
