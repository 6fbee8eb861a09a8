package refund

import (
	"bytes"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/internal/api"
	"groupbuy/internal/clock"
)

// Handlers answer the refund ledger's routes (cmd/groupbuy's route table
// lists them).
type Handlers struct {
	db    *sqlx.DB
	clock clock.Clock
}

// NewHandlers returns the handlers over db.
func NewHandlers(db *sqlx.DB, clk clock.Clock) *Handlers { return &Handlers{db: db, clock: clk} }

// ErrExportTooLarge refuses an export of more than MaxExport refunds.
var ErrExportTooLarge = errExportTooLarge

// refundQuery is the listing's filter.
type refundQuery struct {
	From    time.Time `query:"from" doc:"Refunds created on or after this UTC day."`
	To      time.Time `query:"to" doc:"Refunds created on or before this UTC day."`
	Reason  string    `query:"reason" enum:"shortage,missing,damaged,returned,after_sale"`
	PointID int64     `query:"point_id" doc:"The pickup point of the refunded order."`
	State   string    `query:"state" enum:"created,submitted,paid,failed"`
	AfterID int64     `query:"after_id" min:"0" doc:"The next page starts after this refund id."`
	Limit   int       `query:"limit" max:"1000"`
}

func (q refundQuery) filter() Filter {
	f := Filter{From: q.From, Reason: fulfillment.RefundReason(q.Reason), PointID: q.PointID, State: State(q.State),
		AfterID: q.AfterID, Limit: q.Limit}
	if !q.To.IsZero() {
		f.To = q.To.AddDate(0, 0, 1) // through the whole day
	}
	return f
}

// Refunds answers a page of the refund ledger.
func (h *Handlers) Refunds(c *gin.Context, in refundQuery) (LedgerPage, error) {
	return ListPage(c.Request.Context(), h.db, in.filter())
}

// RefundsCSV answers the ledger the filter selects as CSV.
func (h *Handlers) RefundsCSV(c *gin.Context, in refundQuery) (api.Download, error) {
	var b bytes.Buffer
	if err := WriteCSV(c.Request.Context(), h.db, &b, in.filter()); err != nil {
		return api.Download{}, err
	}
	return api.Download{ContentType: "text/csv; charset=utf-8", FileName: "refunds.csv", Body: b.Bytes()}, nil
}

type unpaidQuery struct {
	OlderThanHours int `query:"older_than_hours" max:"8784" doc:"How old an unpaid refund must be to be listed; default 24."`
	Limit          int `query:"limit" max:"1000"`
}

// UnpaidRefunds are the refunds residents still wait for.
type UnpaidRefunds struct {
	Before  time.Time `json:"before"` // made before this and not paid
	Total   int64     `json:"total"`  // how many, beyond the page too
	Refunds []Refund  `json:"refunds"`
}

// UnpaidRefunds answers the refunds not paid some hours after they were made.
func (h *Handlers) UnpaidRefunds(c *gin.Context, in unpaidQuery) (UnpaidRefunds, error) {
	hours, limit := in.OlderThanHours, in.Limit
	if hours == 0 {
		hours = 24
	}
	if limit == 0 {
		limit = 200
	}
	out := UnpaidRefunds{Before: h.clock.Now().Add(-time.Duration(hours) * time.Hour)}
	var err error
	out.Refunds, out.Total, err = Unpaid(c.Request.Context(), h.db, out.Before, limit)
	return out, err
}
