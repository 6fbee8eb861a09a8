package commission

import (
	"bytes"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
)

// Handlers are the commission handlers.
type Handlers struct {
	svc *Service
}

// NewHandlers returns the handlers over svc.
func NewHandlers(svc *Service) *Handlers { return &Handlers{svc: svc} }

// RegisterLeader adds the leader's commission route (under /api/v1/leader,
// already behind the leader token check).
func (h *Handlers) RegisterLeader(r gin.IRouter) {
	r.GET("/commissions", httpx.Handle(h.leaderCommissions))
}

// RegisterOps adds the ops routes of commission rates, statements and
// after-sale refunds (under /api/v1/ops).
func (h *Handlers) RegisterOps(r gin.IRouter, g auth.Guards) {
	r.PUT("/commission-rates", g.OpsWrite, httpx.Handle(h.setCommissionRate))
	r.GET("/commission-rates", g.StaffRead, httpx.Handle(h.listCommissionRates))
	r.GET("/leaders/:id/commission-statement.csv", g.StaffRead, httpx.Handle(h.commissionStatement))
	r.POST("/order-lines/:id/refund", g.OpsWrite, httpx.Handle(h.refundAfterSale))
}

func (h *Handlers) leaderCommissions(c *gin.Context) error {
	from, err := fulfillment.RequiredDate("from", c.Query("from"))
	if err != nil {
		return err
	}
	to, err := fulfillment.RequiredDate("to", c.Query("to"))
	if err != nil {
		return err
	}
	f := CommissionFilter{LeaderID: auth.PrincipalOf(c).LeaderID, From: from, To: to}
	if f.AfterID, f.Limit, err = httpx.QueryPage(c); err != nil {
		return err
	}
	page, err := h.svc.LeaderCommissions(c.Request.Context(), f)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, page)
	return nil
}

func (h *Handlers) setCommissionRate(c *gin.Context) error {
	var in struct {
		Scope     CommissionScope `json:"scope"`
		Category  string          `json:"category"`
		ProductID int64           `json:"product_id"`
		RateBP    *int64          `json:"rate_bp"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	// A missing rate must not set the rate to 0 %.
	if in.RateBP == nil {
		return apperr.InvalidField("rate_bp", "rate_bp is required")
	}
	rate, err := h.svc.SetCommissionRate(c.Request.Context(),
		CommissionRateKey{Scope: in.Scope, Category: in.Category, ProductID: in.ProductID}, *in.RateBP)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, rate)
	return nil
}

func (h *Handlers) listCommissionRates(c *gin.Context) error {
	rates, err := h.svc.Rates(c.Request.Context())
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"rates": rates})
	return nil
}

func (h *Handlers) commissionStatement(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	v := c.Query("month")
	if v == "" {
		return apperr.InvalidField("month", "query parameter month=YYYY-MM is required")
	}
	month, err := fulfillment.ParseMonth("month", v)
	if err != nil {
		return err
	}
	doc, err := h.svc.Statement(c.Request.Context(), id, month)
	if err != nil {
		return err
	}
	var b bytes.Buffer
	if err := doc.WriteCSV(&b); err != nil {
		return err
	}
	c.Header("Content-Disposition", fmt.Sprintf(`attachment; filename="commission-leader%d-%s.csv"`, id, doc.Month))
	c.Data(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
	return nil
}

func (h *Handlers) refundAfterSale(c *gin.Context) error {
	id, err := httpx.PathID(c, "id")
	if err != nil {
		return err
	}
	var in struct {
		Quantity *int64 `json:"quantity"`
	}
	if err := httpx.DecodeJSON(c, &in); err != nil {
		return err
	}
	if in.Quantity == nil {
		return apperr.InvalidField("quantity", "quantity is required")
	}
	r, err := h.svc.RefundAfterSale(c.Request.Context(), id, *in.Quantity)
	if err != nil {
		return err
	}
	c.JSON(http.StatusCreated, r)
	return nil
}
