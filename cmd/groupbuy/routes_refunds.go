package main

import (
	"bytes"
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

// Who may call the routes below, by intent, beside the table's own.
var (
	// accessPaymentSystem is the operator's payment system: no token, the
	// body's HMAC under the shared payments secret instead.
	accessPaymentSystem = api.Access{Name: "payment system (signed)"}
)

// operableRoutes are the routes that make the night operable: the refund
// ledger and the payment system's callback.
func operableRoutes(a *app) []api.Route {
	h := &operableHandlers{a: a}
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds", Access: staffReads, Handler: api.JSON(h.refunds),
			Tag: "refunds", Section: "Refunds", Summary: "List the refund ledger",
			Doc: "Refunds by creation date (from and to, inclusive, UTC days), reason, pickup point and payment state, in id order, a page at a time (after_id)."},
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds/export", Access: staffReads, Handler: api.File(h.refundsCSV, "text/csv"),
			Errors: []*apperr.Error{errRefundExportTooLarge}, Tag: "refunds", Section: "Refunds", Summary: "Export the refund ledger as CSV",
			Doc: "Every refund the filters of the listing select, as CSV (at most 200,000 rows)."},
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds/unpaid", Access: staffReads, Handler: api.JSON(h.unpaidRefunds),
			Tag: "refunds", Section: "Refunds", Summary: "Refunds not paid after a day",
			Doc: "Refunds the payment system has not paid older_than_hours (default 24) after they were made, oldest first."},
		{Method: http.MethodGet, Path: "/api/v1/ops/orders/search", Access: staffReads, Handler: api.JSON(h.findOrders),
			Tag: "ops", Section: "Ops: catalog, sale items and orders", Summary: "Find orders with their story",
			Doc: "Orders by the resident's phone, the pickup point, the order's id or one of its lines' ids (all given must match), " +
				"newest first, each with the status the night gave it and every line's story: ordered, cut, missing, damaged, returned, " +
				"refunded after sale, ready and collected, with amounts, reasons and times."},
		{Method: http.MethodPost, Path: "/api/v1/payments/refunds", Access: accessPaymentSystem, Handler: api.JSON(h.paymentCallback),
			Errors: []*apperr.Error{refund.ErrBadSignature, refund.ErrNotFound, refund.ErrAlreadyPaid},
			Tag:    "refunds", Section: "Payment system", Summary: "The payment system confirms a refund",
			Doc: "Signed as groupbuy signs its events: X-Groupbuy-Timestamp (unix seconds, within 5 minutes) and X-Groupbuy-Signature " +
				"(sha256= hex HMAC-SHA256 of timestamp \".\" body under GROUPBUY_PAYMENTS_SECRET). Body: {refund_id, status: paid|failed, " +
				"payment_ref, failure}. A replay changes nothing."},
	}
}

type operableHandlers struct{ a *app }

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

func (q refundQuery) filter() refund.Filter {
	f := refund.Filter{From: q.From, Reason: fulfillment.RefundReason(q.Reason), PointID: q.PointID, State: refund.State(q.State),
		AfterID: q.AfterID, Limit: q.Limit}
	if !q.To.IsZero() {
		f.To = q.To.AddDate(0, 0, 1) // through the whole day
	}
	return f
}

func (h *operableHandlers) refunds(c *gin.Context, in refundQuery) (refund.LedgerPage, error) {
	return refund.ListPage(c.Request.Context(), h.a.db, in.filter())
}

var errRefundExportTooLarge = apperr.Errorf(apperr.Unprocessable, "export_too_large", "too many refunds match; narrow the date range")

func (h *operableHandlers) refundsCSV(c *gin.Context, in refundQuery) (api.Download, error) {
	var b bytes.Buffer
	if err := refund.WriteCSV(c.Request.Context(), h.a.db, &b, in.filter()); err != nil {
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
	Before  time.Time       `json:"before"` // made before this and not paid
	Total   int64           `json:"total"`  // how many, beyond the page too
	Refunds []refund.Refund `json:"refunds"`
}

func (h *operableHandlers) unpaidRefunds(c *gin.Context, in unpaidQuery) (UnpaidRefunds, error) {
	hours, limit := in.OlderThanHours, in.Limit
	if hours == 0 {
		hours = 24
	}
	if limit == 0 {
		limit = 200
	}
	out := UnpaidRefunds{Before: h.a.clock.Now().Add(-time.Duration(hours) * time.Hour)}
	var err error
	out.Refunds, out.Total, err = refund.Unpaid(c.Request.Context(), h.a.db, out.Before, limit)
	return out, err
}

// paymentCallbackIn is the callback as it came: its signature is over the
// body's very bytes, so the body is read raw and checked before decoding.
type paymentCallbackIn struct {
	Body io.Reader `content:"application/json"`
}

func (h *operableHandlers) paymentCallback(c *gin.Context, in paymentCallbackIn) (refund.Refund, error) {
	body, err := io.ReadAll(io.LimitReader(in.Body, refund.MaxCallbackBytes+1))
	if err != nil {
		return refund.Refund{}, apperr.Errorf(apperr.Invalid, "bad_body", "cannot read the body")
	}
	if len(body) > refund.MaxCallbackBytes {
		return refund.Refund{}, apperr.Errorf(apperr.Invalid, "body_too_large", "the body exceeds %d bytes", refund.MaxCallbackBytes)
	}
	ctx := c.Request.Context()
	r, err := h.a.payments.Confirm(ctx, c.Request.Header, body)
	if err != nil {
		httpx.Logger(c).WarnContext(ctx, "payment callback refused", "remote", c.ClientIP(), "err", err)
	}
	return r, err
}

// orderSearchQuery is what ops search orders by.
type orderSearchQuery struct {
	Phone   string `query:"phone" max:"20" doc:"The resident's phone."`
	PointID int64  `query:"point_id" doc:"The pickup point."`
	OrderID int64  `query:"order_id"`
	LineID  int64  `query:"line_id" doc:"One of the order's lines."`
	Limit   int    `query:"limit" max:"200"`
}

func (q *orderSearchQuery) Check() error {
	if q.Phone == "" && q.PointID == 0 && q.OrderID == 0 && q.LineID == 0 {
		return apperr.InvalidField("phone", "give phone, point_id, order_id or line_id")
	}
	return nil
}

// FoundOrders are the orders a search found, newest first.
type FoundOrders struct {
	Orders []intake.Order `json:"orders"`
}

func (h *operableHandlers) findOrders(c *gin.Context, in orderSearchQuery) (FoundOrders, error) {
	s := intake.OrderSearch{Phone: in.Phone, PointID: in.PointID, OrderID: in.OrderID, LineID: in.LineID, Limit: in.Limit}
	if s.Limit == 0 {
		s.Limit = 50
	}
	orders, err := intake.FindOrders(c.Request.Context(), h.a.db, s)
	if orders == nil {
		orders = []intake.Order{}
	}
	return FoundOrders{Orders: orders}, err
}
