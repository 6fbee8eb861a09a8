package main

import (
	"net/http"

	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/supplieraccount"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/pickup"
)

// errFontsMissing is answered by the supply side's PDFs on a machine
// without the printouts' fonts.
var errFontsMissing = apperr.Errorf(apperr.Unavailable, "fonts_missing", "printouts are unavailable: the fonts are not installed")

// supplyRoutes are the routes of the supply side (fulfillment/supply) and
// of the supplier account after the dock (fulfillment/supplieraccount).
func supplyRoutes(h handlers) []api.Route {
	const tag, section = "supply", "Ops: suppliers, purchase orders, receiving and stock"
	poErrors := []*apperr.Error{supply.ErrPurchaseOrderNotFound}
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/suppliers", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Create a supplier, or update the one with its code",
			Handler: api.JSON(h.supply.SaveSupplier)},
		{Method: http.MethodGet, Path: "/api/v1/ops/suppliers", Access: staffReads, Tag: tag, Section: section,
			Summary: "List the suppliers",
			Handler: api.JSON(h.supply.Suppliers)},
		{Method: http.MethodPut, Path: "/api/v1/ops/suppliers/:id", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Update a supplier", Errors: []*apperr.Error{supply.ErrSupplierNotFound, supply.ErrCodeTaken},
			Handler: api.JSON(h.supply.UpdateSupplier)},
		{Method: http.MethodPost, Path: "/api/v1/ops/suppliers/import", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Import suppliers from CSV: code,name,contact,channel,webhook_url,webhook_secret,email",
			Errors:  []*apperr.Error{errBadCSV, errBadCSVRow},
			Handler: api.JSON(h.supply.ImportSuppliers)},
		{Method: http.MethodPut, Path: "/api/v1/ops/products/:id/supply-terms", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set a product's suppliers: priority, share, case pack, price and delivery slot",
			Errors:  []*apperr.Error{catalog.ErrProductNotFound, supply.ErrUnknownSupplier},
			Handler: api.JSON(h.supply.SetTerms)},
		{Method: http.MethodGet, Path: "/api/v1/ops/supply-terms", Access: staffReads, Tag: tag, Section: section,
			Summary: "List supply terms, of a product or a supplier",
			Handler: api.JSON(h.supply.Terms)},
		{Method: http.MethodPut, Path: "/api/v1/ops/safety-margins", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set the safety margin of a product category",
			Handler: api.JSON(h.supply.SetMargin)},
		{Method: http.MethodGet, Path: "/api/v1/ops/safety-margins", Access: staffReads, Tag: tag, Section: section,
			Summary: "List the safety margins",
			Handler: api.JSON(h.supply.Margins)},
		{Method: http.MethodPut, Path: "/api/v1/ops/warehouses/:id/receiving-deadline", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Set the local time a warehouse allocates with what it has received",
			Errors:  []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(h.supply.SetDeadline)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/receiving-deadline", Access: staffReads, Tag: tag, Section: section,
			Summary: "A warehouse's receiving deadline", Errors: []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(h.supply.Deadline)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/stock", Access: staffReads, Tag: tag, Section: section,
			Summary: "Stock on hand by product and lot, and what is usable on a date",
			Errors:  []*apperr.Error{pickup.ErrWarehouseNotFound},
			Handler: api.JSON(h.supply.Stock)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/purchase-forecast", Access: staffReads, Tag: tag, Section: section,
			Summary: "The running forecast of each supplier's order (预估采购) from the sales so far",
			Errors:  []*apperr.Error{wave.ErrNotFound},
			Handler: api.JSON(h.supply.Forecast)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/purchase-orders", Access: staffReads, Tag: tag, Section: section,
			Summary: "A wave's purchase orders, every version, with what the dock received",
			Errors:  []*apperr.Error{wave.ErrNotFound},
			Handler: api.JSON(h.supply.PurchaseOrders)},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id", Access: staffReads, Tag: tag, Section: section,
			Summary: "A purchase order with its lines and receiving totals", Errors: poErrors,
			Handler: api.JSON(h.supply.PurchaseOrder)},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id/csv", Access: staffReads, Tag: tag, Section: section,
			Summary: "A purchase order as the supplier gets it (CSV, Chinese headers)", Errors: poErrors,
			Handler: api.File(h.supply.OrderCSV, "text/csv")},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id/pdf", Access: staffReads, Tag: tag, Section: section,
			Summary: "A purchase order as the supplier gets it (PDF, in Chinese)", Errors: append(poErrors, errFontsMissing),
			Handler: api.File(h.supply.OrderPDF, "application/pdf")},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/receiving-sheet", Access: staffReads, Tag: tag, Section: section,
			Summary: "The dock's receiving sheets of a wave, one per supplier: lines, expected, arrived, accepted, rejected, reasons, lots (PDF or CSV)",
			Errors:  []*apperr.Error{wave.ErrNotFound, errFontsMissing},
			Handler: api.File(h.supply.ReceivingSheet, "application/pdf", "text/csv")},
		{Method: http.MethodGet, Path: "/api/v1/ops/purchase-orders/:id/scans", Access: staffReads, Tag: tag, Section: section,
			Summary: "The scans recorded on a purchase order", Errors: poErrors,
			Handler: api.JSON(h.supply.Scans)},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/resend", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Send a purchase order to its supplier again", Errors: append(poErrors, supply.ErrSuperseded),
			Handler: api.JSON(h.supply.Resend)},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/revise", Access: opsWrites, Tag: tag, Section: section,
			Summary: "Revise a purchase order: a new version with changed lines, sent to the supplier", Status: http.StatusCreated,
			Errors:  append(poErrors, supply.ErrClosed, supply.ErrSuperseded, supply.ErrReceivingStarted, supply.ErrUnknownLine),
			Handler: api.JSON(h.supply.Revise)},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-orders/:id/close", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Close a purchase order at the dock: received, or not coming",
			Errors:  append(poErrors, supply.ErrClosed, supply.ErrSuperseded),
			Handler: api.JSON(h.supply.Close)},
		{Method: http.MethodPost, Path: "/api/v1/ops/purchase-order-lines/:id/scans", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Record a scan at the dock: units arrived, accepted, rejected with a reason, lot and expiry",
			Status:  http.StatusCreated, AltStatus: []int{http.StatusOK},
			Errors: []*apperr.Error{supply.ErrLineNotFound, supply.ErrClosed, supply.ErrSuperseded, supply.ErrScanConflict,
				supply.ErrOverDelivery, supply.ErrBelowZero, supply.ErrCorrectionSpent, supply.ErrNotInLot, supply.ErrExpiredOnArrival, supply.ErrScanRefused},
			Handler: api.JSON(h.supply.Receive)},
		{Method: http.MethodPost, Path: "/api/v1/ops/supplier-returns", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Return goods to a supplier (退供): rejected units of purchase-order lines, or lots from stock",
			Status:  http.StatusCreated, AltStatus: []int{http.StatusOK},
			Errors: []*apperr.Error{pickup.ErrWarehouseNotFound, supply.ErrUnknownSupplier, supply.ErrLineNotFound, supplieraccount.ErrOtherSupplier,
				supplieraccount.ErrReturnBeyondRejected, supplieraccount.ErrReturnBeyondStock, supplieraccount.ErrReturnBeyondSupplied,
				supplieraccount.ErrNotSupplied, supplieraccount.ErrRequestReused, errUnknownProduct},
			Handler: api.JSON(h.account.CreateReturn)},
		{Method: http.MethodPost, Path: "/api/v1/ops/waves/:id/supplier-returns", Access: warehouseWrites, Tag: tag, Section: section,
			Summary: "Return every unit rejected on a wave's purchase orders and not yet returned, one return per supplier",
			Errors:  []*apperr.Error{wave.ErrNotFound},
			Handler: api.JSON(h.account.ReturnRejected)},
		{Method: http.MethodGet, Path: "/api/v1/ops/suppliers/:id/statement", Access: staffReads, Tag: tag, Section: section,
			Summary: "A supplier's statement for a month or dates: accepted × price − stock returned, by product",
			Errors:  []*apperr.Error{supply.ErrSupplierNotFound},
			Handler: api.JSON(h.account.Statement)},
		{Method: http.MethodGet, Path: "/api/v1/ops/suppliers/:id/statement/csv", Access: staffReads, Tag: tag, Section: section,
			Summary: "A supplier's statement as CSV (Chinese headers, amounts in yuan)", Errors: []*apperr.Error{supply.ErrSupplierNotFound},
			Handler: api.File(h.account.StatementCSV, "text/csv")},
		{Method: http.MethodGet, Path: "/api/v1/ops/supplier-returns", Access: staffReads, Tag: tag, Section: section,
			Summary: "List returns to supplier, newest first",
			Handler: api.JSON(h.account.Returns)},
		{Method: http.MethodGet, Path: "/api/v1/ops/supplier-returns/:id", Access: staffReads, Tag: tag, Section: section,
			Summary: "A return to supplier with its lines", Errors: []*apperr.Error{supplieraccount.ErrReturnNotFound},
			Handler: api.JSON(h.account.Return)},
		{Method: http.MethodGet, Path: "/api/v1/ops/supplier-returns/:id/document", Access: staffReads, Tag: tag, Section: section,
			Summary: "A return to supplier as its document (退供单, PDF or CSV, in Chinese)", Errors: []*apperr.Error{supplieraccount.ErrReturnNotFound, errFontsMissing},
			Handler: api.File(h.account.ReturnDocument, "application/pdf", "text/csv")},
	}
}
