// Package supply is the warehouse's buying side (以销定采): suppliers and the
// terms they supply products on, the purchase orders a wave's sales become
// at cutoff (sent to each supplier once, revised only as new versions),
// and receiving at the dock (收货验收: counted, inspected, append-only, once
// per scan; accepted units go into the stock ledger, package stock). It
// owns those tables and their SQL; the night's stage pipeline (package
// night) calls Purchase after close, and the wave (package wave) carries
// what it waits for.
package supply

import (
	"net/url"
	"strings"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/input"
)

// Channel is how a supplier receives its purchase orders.
type Channel string

// Channels: a signed webhook (as the residents' notices are signed) or an
// e-mail through the notices' SMTP settings.
const (
	ChannelWebhook Channel = "webhook"
	ChannelEmail   Channel = "email"
)

// Supplier is a company the warehouse buys from.
type Supplier struct {
	ID            int64     `db:"id" json:"id"`
	Code          string    `db:"code" json:"code"`
	Name          string    `db:"name" json:"name"`
	Contact       string    `db:"contact" json:"contact"`
	Channel       Channel   `db:"channel" json:"channel" enum:"webhook,email"`
	WebhookURL    string    `db:"webhook_url" json:"webhook_url"`
	WebhookSecret string    `db:"webhook_secret" json:"-"`
	Email         string    `db:"email" json:"email"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
	UpdatedAt     time.Time `db:"updated_at" json:"updated_at"`
}

// SupplierInput is a supplier as ops write it; the webhook secret is never
// answered back, and an update without one keeps the stored one.
type SupplierInput struct {
	Code          string  `json:"code" max:"40" doc:"The supplier's code, unique; saving an existing code updates it."`
	Name          string  `json:"name" max:"100"`
	Contact       string  `json:"contact,omitempty" max:"100" doc:"A person and a phone number, for people."`
	Channel       Channel `json:"channel" enum:"webhook,email" doc:"How purchase orders reach the supplier."`
	WebhookURL    string  `json:"webhook_url,omitempty" max:"500" doc:"For channel webhook: the http(s) URL purchase orders are posted to."`
	WebhookSecret string  `json:"webhook_secret,omitempty" max:"200" doc:"For channel webhook: the HMAC-SHA256 key of the signature, at least 16 characters; kept when omitted on an update."`
	Email         string  `json:"email,omitempty" max:"200" doc:"For channel email: the address purchase orders are mailed to."`
}

// Validate checks a supplier; keepSecret allows a webhook without a new
// secret (an update keeps the stored one).
func (in *SupplierInput) Validate(keepSecret bool) error {
	in.Code, in.Name, in.Contact = strings.TrimSpace(in.Code), strings.TrimSpace(in.Name), strings.TrimSpace(in.Contact)
	in.WebhookURL, in.Email = strings.TrimSpace(in.WebhookURL), strings.TrimSpace(in.Email)
	if err := input.CheckCode("code", in.Code); err != nil {
		return err
	}
	switch {
	case !input.Printable(in.Name, 100):
		return apperr.InvalidField("name", "name is required: up to 100 printable characters")
	case !input.OptionalPrintable(in.Contact, 100):
		return apperr.InvalidField("contact", "contact may hold up to 100 printable characters")
	}
	switch in.Channel {
	case ChannelWebhook:
		u, err := url.Parse(in.WebhookURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(in.WebhookURL) > 500 {
			return apperr.InvalidField("webhook_url", "webhook_url must be an http or https URL of at most 500 characters")
		}
		if (in.WebhookSecret != "" || !keepSecret) && (len(in.WebhookSecret) < 16 || len(in.WebhookSecret) > 200 || !input.Printable(in.WebhookSecret, 200)) {
			return apperr.InvalidField("webhook_secret", "webhook_secret must be 16 to 200 printable characters")
		}
		in.Email = ""
	case ChannelEmail:
		if !input.Email(in.Email) {
			return apperr.InvalidField("email", "email must be an e-mail address such as orders@example.com")
		}
		in.WebhookURL, in.WebhookSecret = "", ""
	default:
		return apperr.InvalidField("channel", "channel must be webhook or email")
	}
	return nil
}

// TermInput is what one supplier supplies a product on, as ops write it.
type TermInput struct {
	SupplierID   int64           `json:"supplier_id"`
	Priority     int64           `json:"priority" doc:"1 is the first supplier to buy from."`
	SharePct     int64           `json:"share_pct" doc:"Percent of the requirement this supplier gets; the shares of a product's suppliers add up to 100, or are all 0 (the first by priority takes everything)."`
	CasePack     int64           `json:"case_pack" doc:"Units per case (箱规); orders are whole cases."`
	PriceFen     int64           `json:"price_fen" doc:"Purchase price per unit, in fen."`
	DeliverySlot clock.TimeOfDay `json:"delivery_slot" doc:"When the supplier delivers at the warehouse on the delivery date, local time HH:MM."`
}

// Term is a product's supply terms with one supplier.
type Term struct {
	ProductID    int64           `db:"product_id" json:"product_id"`
	SupplierID   int64           `db:"supplier_id" json:"supplier_id"`
	Priority     int64           `db:"priority" json:"priority"`
	SharePct     int64           `db:"share_pct" json:"share_pct"`
	CasePack     int64           `db:"case_pack" json:"case_pack"`
	PriceFen     int64           `db:"price_fen" json:"price_fen"`
	DeliverySlot clock.TimeOfDay `db:"delivery_slot" json:"delivery_slot"`
}

// Most suppliers a product may have, and the largest case pack.
const (
	MaxSuppliersPerProduct = 10
	MaxCasePack            = 10_000
)

// validateTerms checks a product's terms as a whole.
func validateTerms(terms []TermInput) error {
	seen := map[int64]bool{}
	var shares int64
	for i, t := range terms {
		f := func(name string) string { return fulfillment.Field("terms", i, name) }
		switch {
		case t.SupplierID <= 0:
			return apperr.InvalidField(f("supplier_id"), "supplier_id must be positive")
		case seen[t.SupplierID]:
			return apperr.InvalidField(f("supplier_id"), "supplier %d appears twice", t.SupplierID)
		case t.Priority < 1 || t.Priority > 100:
			return apperr.InvalidField(f("priority"), "priority must be between 1 and 100")
		case t.SharePct < 0 || t.SharePct > 100:
			return apperr.InvalidField(f("share_pct"), "share_pct must be between 0 and 100")
		case t.CasePack < 1 || t.CasePack > MaxCasePack:
			return apperr.InvalidField(f("case_pack"), "case_pack must be between 1 and %d units", MaxCasePack)
		case t.PriceFen < 0 || t.PriceFen > fulfillment.MaxPriceFen:
			return apperr.InvalidField(f("price_fen"), "price_fen must be between 0 and %d", fulfillment.MaxPriceFen)
		case t.DeliverySlot.IsZero():
			return apperr.InvalidField(f("delivery_slot"), "delivery_slot is required: HH:MM")
		}
		seen[t.SupplierID] = true
		shares += t.SharePct
	}
	if len(terms) > MaxSuppliersPerProduct {
		return apperr.InvalidField("terms", "a product has at most %d suppliers", MaxSuppliersPerProduct)
	}
	if shares != 0 && shares != 100 {
		return apperr.InvalidField("terms", "the suppliers' share_pct add up to %d; they must add up to 100, or all be 0", shares)
	}
	return nil
}

// SafetyMargin is the percent bought beyond the net requirement for the
// products of a category.
type SafetyMargin struct {
	Category string `db:"category" json:"category" max:"50" doc:"A product category; \"\" is products without one."`
	Percent  int64  `db:"percent" json:"percent" doc:"0 to 100."`
}

// Errors of the supply side.
var (
	ErrSupplierNotFound      = apperr.Errorf(apperr.NotFound, "supplier_not_found", "supplier not found")
	ErrUnknownSupplier       = apperr.Errorf(apperr.Unprocessable, "unknown_supplier", "no supplier has this id")
	ErrPurchaseOrderNotFound = apperr.Errorf(apperr.NotFound, "purchase_order_not_found", "purchase order not found")
	ErrLineNotFound          = apperr.Errorf(apperr.NotFound, "purchase_order_line_not_found", "purchase-order line not found")
	ErrClosed                = apperr.Errorf(apperr.Conflict, "purchase_order_closed", "the purchase order is closed: receiving and changes are over")
	ErrSuperseded            = apperr.Errorf(apperr.Conflict, "purchase_order_superseded", "a newer version of this purchase order exists: use it")
	ErrScanConflict          = apperr.Errorf(apperr.Conflict, "scan_conflict", "this scan id was recorded with other quantities or on another line")
	ErrOverDelivery          = apperr.Errorf(apperr.Unprocessable, "over_delivery", "accepting this would take the line beyond what was ordered and the tolerance")
	ErrBelowZero             = apperr.Errorf(apperr.Unprocessable, "correction_below_zero", "the correction takes the line's totals below zero")
	ErrCorrectionSpent       = apperr.Errorf(apperr.Unprocessable, "correction_spent", "the correction takes back units already spent: allocated or returned to the supplier")
	ErrNotInLot              = apperr.Errorf(apperr.Unprocessable, "correction_not_in_lot", "the correction takes out of a lot and expiry more units than its line put into them")
	ErrExpiredOnArrival      = apperr.Errorf(apperr.Unprocessable, "expired_on_arrival", "goods that expire before the delivery date cannot be accepted: reject them as short_shelf_life")
	ErrScanRefused           = apperr.Errorf(apperr.Unprocessable, "scan_refused", "the scan was refused by a rule this server does not know yet")
	ErrUnknownLine           = apperr.Errorf(apperr.Unprocessable, "unknown_line", "a product named is not on this purchase order")
	ErrReceivingStarted      = apperr.Errorf(apperr.Conflict, "receiving_started", "goods of this purchase order were already received; it can no longer be revised")
)
