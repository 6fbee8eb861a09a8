package supply

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/stock"
	"groupbuy/internal/api"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
)

// Handlers answer the supply side's routes (cmd/groupbuy's route table
// lists them): suppliers and their terms, purchase orders, the dock's
// receiving and the stock on hand.
type Handlers struct {
	svc *Service
	db  *sqlx.DB
}

// NewHandlers returns the handlers over svc and db.
func NewHandlers(svc *Service, db *sqlx.DB) *Handlers { return &Handlers{svc: svc, db: db} }

type supplierBody struct {
	Body SupplierInput
}

type supplierUpdate struct {
	ID   int64 `path:"id" doc:"The supplier's id."`
	Body SupplierInput
}

// SupplierList is every supplier, by code.
type SupplierList struct {
	Suppliers []Supplier `json:"suppliers"`
}

type csvBody struct {
	Body io.Reader `content:"text/csv"`
}

type termsBody struct {
	ID   int64 `path:"id" doc:"The product's id."`
	Body struct {
		Terms []TermInput `json:"terms" doc:"The product's suppliers; none: it is not bought by purchase order."`
	}
}

// TermList is supply terms.
type TermList struct {
	Terms []Term `json:"terms"`
}

type termsQuery struct {
	ProductID  int64 `query:"product_id" doc:"Only this product's terms."`
	SupplierID int64 `query:"supplier_id" doc:"Only this supplier's terms."`
}

type marginBody struct {
	Body SafetyMargin
}

// MarginList is the safety margins by category.
type MarginList struct {
	Margins []SafetyMargin `json:"margins"`
}

type deadlineBody struct {
	ID   int64 `path:"id" doc:"The warehouse's id."`
	Body struct {
		Deadline clock.TimeOfDay `json:"deadline" doc:"Local time HH:MM on the delivery date; \"\" removes it."`
	}
}

type idPath struct {
	ID int64 `path:"id"`
}

type forecastQuery struct {
	ID         int64 `path:"id" doc:"The wave's id."`
	SupplierID int64 `query:"supplier_id" doc:"Only this supplier's order."`
}

type closeBody struct {
	ID   int64 `path:"id" doc:"The purchase order's id."`
	Body struct {
		Outcome Outcome `json:"outcome" enum:"received,not_coming"`
	}
}

type reviseBody struct {
	ID   int64 `path:"id" doc:"The purchase order's id (its latest version)."`
	Body Revision
}

type receiveBody struct {
	ID   int64 `path:"id" doc:"The purchase-order line's id."`
	Body Scan
}

// ScanList is the scans recorded on a purchase order.
type ScanList struct {
	Scans []ScanEntry `json:"scans"`
}

type stockQuery struct {
	ID   int64     `path:"id" doc:"The warehouse's id."`
	Date time.Time `query:"date" required:"true" doc:"The delivery date stock must still be usable on."`
}

// SaveSupplier: create a supplier, or update the one with its code.
func (h *Handlers) SaveSupplier(c *gin.Context, in supplierBody) (Supplier, error) {
	return h.svc.SaveSupplier(c.Request.Context(), in.Body)
}

// Suppliers: list the suppliers.
func (h *Handlers) Suppliers(c *gin.Context, _ struct{}) (SupplierList, error) {
	l, err := ListSuppliers(c.Request.Context(), h.db)
	return SupplierList{Suppliers: l}, err
}

// UpdateSupplier: update a supplier.
func (h *Handlers) UpdateSupplier(c *gin.Context, in supplierUpdate) (Supplier, error) {
	return h.svc.UpdateSupplier(c.Request.Context(), in.ID, in.Body)
}

// ImportSuppliers: import suppliers from CSV: code,name,contact,channel,webhook_url,webhook_secret,email.
func (h *Handlers) ImportSuppliers(c *gin.Context, in csvBody) (SupplierList, error) {
	l, err := h.svc.ImportSuppliers(c.Request.Context(), in.Body)
	return SupplierList{Suppliers: l}, err
}

// SetTerms: set a product's suppliers: priority, share, case pack, price and delivery slot.
func (h *Handlers) SetTerms(c *gin.Context, in termsBody) (TermList, error) {
	t, err := h.svc.SetTerms(c.Request.Context(), in.ID, in.Body.Terms)
	return TermList{Terms: t}, err
}

// Terms: list supply terms, of a product or a supplier.
func (h *Handlers) Terms(c *gin.Context, in termsQuery) (TermList, error) {
	t, err := ListTerms(c.Request.Context(), h.db, in.ProductID, in.SupplierID)
	return TermList{Terms: t}, err
}

// SetMargin: set the safety margin of a product category.
func (h *Handlers) SetMargin(c *gin.Context, in marginBody) (SafetyMargin, error) {
	return h.svc.SetMargin(c.Request.Context(), in.Body)
}

// Margins: list the safety margins.
func (h *Handlers) Margins(c *gin.Context, _ struct{}) (MarginList, error) {
	m, err := ListMargins(c.Request.Context(), h.db)
	return MarginList{Margins: m}, err
}

// SetDeadline: set the local time a warehouse allocates with what it has received.
func (h *Handlers) SetDeadline(c *gin.Context, in deadlineBody) (ReceivingDeadline, error) {
	return h.svc.SetDeadline(c.Request.Context(), in.ID, in.Body.Deadline)
}

// Deadline: a warehouse's receiving deadline.
func (h *Handlers) Deadline(c *gin.Context, in idPath) (ReceivingDeadline, error) {
	return GetDeadline(c.Request.Context(), h.db, in.ID)
}

// Stock: stock on hand by product and lot, and what is usable on a date.
func (h *Handlers) Stock(c *gin.Context, in stockQuery) (stock.Stock, error) {
	return stock.StockOf(c.Request.Context(), h.db, in.ID, fulfillment.Date{Time: in.Date})
}

// Forecast: the running forecast of each supplier's order (预估采购) from the sales so far.
func (h *Handlers) Forecast(c *gin.Context, in forecastQuery) (Forecast, error) {
	return h.svc.ForecastOf(c.Request.Context(), in.ID, in.SupplierID)
}

// PurchaseOrders: a wave's purchase orders, every version, with what the dock received.
func (h *Handlers) PurchaseOrders(c *gin.Context, in idPath) (WaveOrders, error) {
	return ListPurchaseOrders(c.Request.Context(), h.db, in.ID)
}

// PurchaseOrder: a purchase order with its lines and receiving totals.
func (h *Handlers) PurchaseOrder(c *gin.Context, in idPath) (PurchaseOrder, error) {
	return GetPurchaseOrder(c.Request.Context(), h.db, in.ID)
}

// OrderCSV: a purchase order as the supplier gets it (CSV, Chinese headers).
func (h *Handlers) OrderCSV(c *gin.Context, in idPath) (api.Download, error) {
	po, b, err := OrderDocument(c.Request.Context(), h.db, in.ID)
	return api.Download{ContentType: "text/csv; charset=utf-8", FileName: po.Number + ".csv", Body: b}, err
}

// Scans: the scans recorded on a purchase order.
func (h *Handlers) Scans(c *gin.Context, in idPath) (ScanList, error) {
	r, err := ListScans(c.Request.Context(), h.db, in.ID)
	return ScanList{Scans: r}, err
}

// Resend: send a purchase order to its supplier again.
func (h *Handlers) Resend(c *gin.Context, in idPath) (PurchaseOrder, error) {
	return h.svc.Resend(c.Request.Context(), in.ID, auth.PrincipalOf(c).String())
}

// Revise: revise a purchase order: a new version with changed lines, sent to the supplier.
func (h *Handlers) Revise(c *gin.Context, in reviseBody) (PurchaseOrder, error) {
	return h.svc.Revise(c.Request.Context(), in.ID, in.Body, auth.PrincipalOf(c).String())
}

// Close: close a purchase order at the dock: received, or not coming.
func (h *Handlers) Close(c *gin.Context, in closeBody) (PurchaseOrder, error) {
	return h.svc.Close(c.Request.Context(), in.ID, in.Body.Outcome, auth.PrincipalOf(c).String())
}

// Receive: record a scan at the dock: units arrived, accepted, rejected with a reason, lot and expiry.
func (h *Handlers) Receive(c *gin.Context, in receiveBody) (ScanRecord, error) {
	rec, replayed, err := h.svc.Receive(c.Request.Context(), in.ID, in.Body, auth.PrincipalOf(c).String())
	if replayed {
		api.SetStatus(c, http.StatusOK)
	}
	return rec, err
}

// OrderPDF: a purchase order as the supplier gets it (PDF, in Chinese).
func (h *Handlers) OrderPDF(c *gin.Context, in idPath) (api.Download, error) {
	po, b, err := h.svc.OrderPDF(c.Request.Context(), in.ID)
	return api.Download{ContentType: "application/pdf", FileName: po.Number + ".pdf", Body: b}, err
}

type receivingSheetQuery struct {
	ID         int64  `path:"id" doc:"The wave's id."`
	Format     string `query:"format" enum:"pdf,csv" doc:"pdf (the default) or csv."`
	SupplierID int64  `query:"supplier_id" doc:"Only this supplier's sheet."`
}

// ReceivingSheet: the dock's receiving sheets of a wave, one per supplier.
func (h *Handlers) ReceivingSheet(c *gin.Context, in receivingSheetQuery) (api.Download, error) {
	sheets, err := h.svc.ReceivingSheets(c.Request.Context(), in.ID, in.SupplierID)
	if err != nil {
		return api.Download{}, err
	}
	name := "receiving-" + strconv.FormatInt(in.ID, 10)
	if in.SupplierID != 0 {
		name += "-" + strconv.FormatInt(in.SupplierID, 10)
	}
	if in.Format == "csv" {
		return api.Download{ContentType: "text/csv; charset=utf-8", FileName: name + ".csv", Body: printout.ReceivingCSV(sheets)}, nil
	}
	b, err := h.svc.ReceivingPDF(sheets)
	return api.Download{ContentType: "application/pdf", FileName: name + ".pdf", Body: b}, err
}
