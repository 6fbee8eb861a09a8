package main

import (
	"io"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// The supply side's API: suppliers and their terms, purchase orders, the
// dock's receiving and the stock on hand.

type supplierBody struct {
	Body supply.SupplierInput
}

type supplierUpdate struct {
	ID   int64 `path:"id" doc:"The supplier's id."`
	Body supply.SupplierInput
}

// SupplierList is every supplier, by code.
type SupplierList struct {
	Suppliers []supply.Supplier `json:"suppliers"`
}

type csvBody struct {
	Body io.Reader `content:"text/csv"`
}

type termsBody struct {
	ID   int64 `path:"id" doc:"The product's id."`
	Body struct {
		Terms []supply.TermInput `json:"terms" doc:"The product's suppliers; none: it is not bought by purchase order."`
	}
}

// TermList is supply terms.
type TermList struct {
	Terms []supply.Term `json:"terms"`
}

type termsQuery struct {
	ProductID  int64 `query:"product_id" doc:"Only this product's terms."`
	SupplierID int64 `query:"supplier_id" doc:"Only this supplier's terms."`
}

type marginBody struct {
	Body supply.SafetyMargin
}

// MarginList is the safety margins by category.
type MarginList struct {
	Margins []supply.SafetyMargin `json:"margins"`
}

type deadlineBody struct {
	ID   int64 `path:"id" doc:"The warehouse's id."`
	Body struct {
		Deadline clock.TimeOfDay `json:"deadline" doc:"Local time HH:MM on the delivery date; \"\" removes it."`
	}
}

type byID struct {
	ID int64 `path:"id"`
}

type forecastQuery struct {
	ID         int64 `path:"id" doc:"The wave's id."`
	SupplierID int64 `query:"supplier_id" doc:"Only this supplier's order."`
}

type closeBody struct {
	ID   int64 `path:"id" doc:"The purchase order's id."`
	Body struct {
		Outcome supply.Outcome `json:"outcome" enum:"received,not_coming"`
	}
}

type reviseBody struct {
	ID   int64 `path:"id" doc:"The purchase order's id (its latest version)."`
	Body supply.Revision
}

type receiveBody struct {
	ID   int64 `path:"id" doc:"The purchase-order line's id."`
	Body supply.Scan
}

// ScanList is the scans recorded on a purchase order.
type ScanList struct {
	Scans []supply.ScanRecord `json:"scans"`
}

type stockQuery struct {
	ID   int64     `path:"id" doc:"The warehouse's id."`
	Date time.Time `query:"date" required:"true" doc:"The delivery date stock must still be usable on."`
}

// actor names who did something, for the records that keep it.
func actor(c *gin.Context) string { return auth.PrincipalOf(c).String() }

// supplyRoutes are the routes of the supply side (fulfillment/supply).
func supplyRoutes(s *supply.Service, db *sqlx.DB) []api.Route {
	const tag, section = "supply", "Ops: suppliers, purchase orders, receiving and stock"
	poErrors := []*apperr.Error{supply.ErrPurchaseOrderNotFound}
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/suppliers", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Create a supplier, or update the one with its code",
			Handler: api.JSON(func(c *gin.Context, in supplierBody) (supply.Supplier, error) {
				return s.SaveSupplier(c.Request.Context(), in.Body)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/suppliers", Access: staffReads, Tag: tag, Section: section,
			Summary: "List the suppliers",
			Handler: api.JSON(func(c *gin.Context, _ struct{}) (SupplierList, error) {
				l, err := supply.ListSuppliers(c.Request.Context(), db)
				return SupplierList{Suppliers: l}, err
			})},
		{Method: http.MethodPut, Path: "/api/v1/ops/suppliers/:id", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Update a supplier", Errors: []*apperr.Error{supply.ErrSupplierNotFound, supply.ErrCodeTaken},
			Handler: api.JSON(func(c *gin.Context, in supplierUpdate) (supply.Supplier, error) {
				return s.UpdateSupplier(c.Request.Context(), in.ID, in.Body)
			})},
		{Method: http.MethodPost, Path: "/api/v1/ops/suppliers/import", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Import suppliers from CSV: code,name,contact,channel,webhook_url,webhook_secret,email",
			Handler: api.JSON(func(c *gin.Context, in csvBody) (SupplierList, error) {
				l, err := s.ImportSuppliers(c.Request.Context(), in.Body)
				return SupplierList{Suppliers: l}, err
			})},
		{Method: http.MethodPut, Path: "/api/v1/ops/products/:id/supply-terms", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set a product's suppliers: priority, share, case pack, price and delivery slot",
			Errors:  []*apperr.Error{supply.ErrUnknownSupplier},
			Handler: api.JSON(func(c *gin.Context, in termsBody) (TermList, error) {
				t, err := s.SetTerms(c.Request.Context(), in.ID, in.Body.Terms)
				return TermList{Terms: t}, err
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/supply-terms", Access: staffReads, Tag: tag, Section: section,
			Summary: "List supply terms, of a product or a supplier",
			Handler: api.JSON(func(c *gin.Context, in termsQuery) (TermList, error) {
				t, err := supply.ListTerms(c.Request.Context(), db, in.ProductID, in.SupplierID)
				return TermList{Terms: t}, err
			})},
		{Method: http.MethodPut, Path: "/api/v1/ops/safety-margins", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set the safety margin of a product category",
			Handler: api.JSON(func(c *gin.Context, in marginBody) (supply.SafetyMargin, error) {
				return s.SetMargin(c.Request.Context(), in.Body)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/safety-margins", Access: staffReads, Tag: tag, Section: section,
			Summary: "List the safety margins",
			Handler: api.JSON(func(c *gin.Context, _ struct{}) (MarginList, error) {
				m, err := supply.ListMargins(c.Request.Context(), db)
				return MarginList{Margins: m}, err
			})},
		{Method: http.MethodPut, Path: "/api/v1/ops/warehouses/:id/receiving-deadline", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set the local time a warehouse allocates with what it has received",
			Errors:  []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(func(c *gin.Context, in deadlineBody) (supply.ReceivingDeadline, error) {
				return s.SetDeadline(c.Request.Context(), in.ID, in.Body.Deadline)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/receiving-deadline", Access: staffReads, Tag: tag, Section: section,
			Summary: "A warehouse's receiving deadline", Errors: []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(func(c *gin.Context, in byID) (supply.ReceivingDeadline, error) {
				return supply.GetDeadline(c.Request.Context(), db, in.ID)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/stock", Access: staffReads, Tag: tag, Section: section,
			Summary: "Stock on hand by product and lot, and what is usable on a date",
			Errors:  []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(func(c *gin.Context, in stockQuery) (supply.Stock, error) {
				return supply.StockOf(c.Request.Context(), db, in.ID, fulfillment.Date{Time: in.Date})
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/purchase-forecast", Access: staffReads, Tag: tag, Section: section,
			Summary: "The running forecast of each supplier's order (预估采购) from the sales so far",
			Errors:  []*apperr.Error{wave.ErrNotFound},
			Handler: api.JSON(func(c *gin.Context, in forecastQuery) (supply.Forecast, error) {
				return s.ForecastOf(c.Request.Context(), in.ID, in.SupplierID)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/purchase-orders", Access: staffReads, Tag: tag, Section: section,
			Summary: "A wave's purchase orders, every version, with what the dock received",
			Errors:  []*apperr.Error{wave.ErrNotFound},
			Handler: api.JSON(func(c *gin.Context, in byID) (supply.WaveOrders, error) {
				return supply.ListPurchaseOrders(c.Request.Context(), db, in.ID)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id", Access: staffReads, Tag: tag, Section: section,
			Summary: "A purchase order with its lines and receiving totals", Errors: poErrors,
			Handler: api.JSON(func(c *gin.Context, in byID) (supply.PurchaseOrder, error) {
				return supply.GetPurchaseOrder(c.Request.Context(), db, in.ID)
			})},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id/csv", Access: staffReads, Tag: tag, Section: section,
			Summary: "A purchase order as the supplier gets it (CSV, Chinese headers)", Errors: poErrors,
			Handler: api.File(func(c *gin.Context, in byID) (api.Download, error) {
				po, b, err := supply.OrderDocument(c.Request.Context(), db, in.ID)
				return api.Download{ContentType: "text/csv; charset=utf-8", FileName: po.Number + ".csv", Body: b}, err
			}, "text/csv")},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id/scans", Access: staffReads, Tag: tag, Section: section,
			Summary: "The scans recorded on a purchase order", Errors: poErrors,
			Handler: api.JSON(func(c *gin.Context, in byID) (ScanList, error) {
				r, err := supply.ListScans(c.Request.Context(), db, in.ID)
				return ScanList{Scans: r}, err
			})},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/resend", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Send a purchase order to its supplier again", Errors: append(poErrors, supply.ErrSuperseded),
			Handler: api.JSON(func(c *gin.Context, in byID) (supply.PurchaseOrder, error) {
				return s.Resend(c.Request.Context(), in.ID, actor(c))
			})},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/revise", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Revise a purchase order: a new version with changed lines, sent to the supplier", Status: http.StatusCreated,
			Errors: append(poErrors, supply.ErrClosed, supply.ErrSuperseded, supply.ErrReceivingStarted),
			Handler: api.JSON(func(c *gin.Context, in reviseBody) (supply.PurchaseOrder, error) {
				return s.Revise(c.Request.Context(), in.ID, in.Body, actor(c))
			})},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/close", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Close a purchase order at the dock: received, or not coming",
			Errors:  append(poErrors, supply.ErrClosed, supply.ErrSuperseded),
			Handler: api.JSON(func(c *gin.Context, in closeBody) (supply.PurchaseOrder, error) {
				return s.Close(c.Request.Context(), in.ID, in.Body.Outcome, actor(c))
			})},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-order-lines/:id/scans", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Record a scan at the dock: units arrived, accepted, rejected with a reason, lot and expiry",
			Status:  http.StatusCreated, AltStatus: []int{http.StatusOK},
			Errors: []*apperr.Error{supply.ErrLineNotFound, supply.ErrClosed, supply.ErrSuperseded, supply.ErrScanConflict,
				supply.ErrOverDelivery, supply.ErrBelowZero},
			Handler: api.JSON(func(c *gin.Context, in receiveBody) (supply.ScanRecord, error) {
				rec, replayed, err := s.Receive(c.Request.Context(), in.ID, in.Body, actor(c))
				if replayed {
					api.SetStatus(c, http.StatusOK)
				}
				return rec, err
			})},
	}
}
