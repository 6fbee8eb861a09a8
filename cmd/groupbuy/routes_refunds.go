package main

import (
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

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
	r := refund.NewHandlers(a.db, a.clock)
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds", Access: staffReads, Handler: api.JSON(r.Refunds),
			Tag: "refunds", Section: "Refunds", Summary: "List the refund ledger",
			Doc: "Refunds by creation date (from and to, inclusive, UTC days), reason, pickup point and payment state, in id order, a page at a time (after_id)."},
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds/export", Access: staffReads, Handler: api.File(r.RefundsCSV, "text/csv"),
			Errors: []*apperr.Error{refund.ErrExportTooLarge}, Tag: "refunds", Section: "Refunds", Summary: "Export the refund ledger as CSV",
			Doc: "Every refund the filters of the listing select, as CSV (at most 200,000 rows)."},
		{Method: http.MethodGet, Path: "/api/v1/ops/refunds/unpaid", Access: staffReads, Handler: api.JSON(r.UnpaidRefunds),
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
