package intake

import (
	"strings"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/pickup"
)

// OrderStatus is where an order stands.
type OrderStatus string

// Order states.
const (
	Placed    OrderStatus = "placed"
	Cancelled OrderStatus = "cancelled"
)

// Order is what a leader ordered for one resident for one delivery date. It
// belongs to its pickup point: whoever runs the point reads and cancels it,
// and LeaderID only says who placed it.
type Order struct {
	ID            int64            `json:"id"`
	Status        OrderStatus      `json:"status"`
	DeliveryDate  fulfillment.Date `json:"delivery_date"`
	LeaderID      int64            `json:"leader_id"`
	PickupPointID int64            `json:"pickup_point_id"`
	WarehouseID   int64            `json:"warehouse_id"`
	Resident      pickup.Resident  `json:"resident"`
	Lines         []OrderLine      `json:"lines"`
	TotalFen      int64            `json:"total_fen"`
	CreatedAt     time.Time        `json:"created_at"`
	CancelledAt   *time.Time       `json:"cancelled_at,omitempty"`
}

// OrderLine is one sale item of an order.
type OrderLine struct {
	// ID names the line for after-sale actions.
	ID         int64  `db:"id" json:"id"`
	SaleItemID int64  `db:"sale_item_id" json:"sale_item_id"`
	SKU        string `db:"sku" json:"sku"`
	Name       string `db:"name" json:"name"`
	Unit       string `db:"unit" json:"unit"`
	Quantity   int64  `db:"quantity" json:"quantity"`
	PriceFen   int64  `db:"price_fen" json:"price_fen"`
	AmountFen  int64  `db:"amount_fen" json:"amount_fen"`
	// Story is what became of the line in the night (story.go); absent
	// from the answer of the order's placement.
	Story *LineStory `db:"-" json:"story,omitempty"`
}

// OrderRequest is the body of POST /api/v1/leader/orders.
type OrderRequest struct {
	Resident     ResidentRef       `json:"resident"`
	DeliveryDate *fulfillment.Date `json:"delivery_date,omitempty"`
	Lines        []LineRequest     `json:"lines"`
}

// ResidentRef names the resident an order is for: an id, or a phone and name
// to register a new one at the leader's pickup point.
type ResidentRef struct {
	ID    int64  `json:"id,omitempty"`
	Phone string `json:"phone,omitempty"`
	Name  string `json:"name,omitempty"`
}

// LineRequest asks for a quantity of one sale item.
type LineRequest struct {
	SaleItemID int64 `json:"sale_item_id"`
	Quantity   int64 `json:"quantity"`
}

// Limits on one order.
const (
	MaxLinesPerOrder = 100
	MaxKeyLen        = 100
)

// Validate checks the shape of an order request, naming the bad field.
func (r *OrderRequest) Validate() error {
	res := &r.Resident
	res.Phone, res.Name = strings.TrimSpace(res.Phone), strings.TrimSpace(res.Name)
	switch {
	case res.ID < 0:
		return apperr.InvalidField("resident.id", "resident.id must be positive")
	case res.ID > 0 && (res.Phone != "" || res.Name != ""):
		return apperr.InvalidField("resident", "give resident.id, or resident.phone and resident.name, not both")
	case res.ID == 0:
		if err := pickup.CheckPhone("resident.phone", res.Phone); err != nil {
			return err
		}
		if err := pickup.CheckName("resident.name", res.Name); err != nil {
			return err
		}
	}
	if len(r.Lines) == 0 {
		return apperr.InvalidField("lines", "an order needs at least one line")
	}
	if len(r.Lines) > MaxLinesPerOrder {
		return apperr.InvalidField("lines", "an order has at most %d lines", MaxLinesPerOrder)
	}
	seen := make(map[int64]bool, len(r.Lines))
	for i, l := range r.Lines {
		if l.SaleItemID <= 0 {
			return apperr.InvalidField(lineField(i, "sale_item_id"), "sale_item_id must be a positive integer")
		}
		if l.Quantity <= 0 || l.Quantity > fulfillment.MaxQuantity {
			return apperr.InvalidField(lineField(i, "quantity"), "quantity must be between 1 and %d", fulfillment.MaxQuantity)
		}
		if seen[l.SaleItemID] {
			return apperr.InvalidField(lineField(i, "sale_item_id"), "sale item %d appears twice; put the total on one line", l.SaleItemID)
		}
		seen[l.SaleItemID] = true
	}
	return nil
}

func lineField(i int, name string) string { return fulfillment.Field("lines", i, name) }

// hash identifies the request under its Idempotency-Key.
func (r *OrderRequest) hash() []byte { return input.RequestHash(r) }

// CheckIdempotencyKey validates the Idempotency-Key header.
func CheckIdempotencyKey(key string) error {
	if key == "" {
		return apperr.InvalidField("Idempotency-Key", "the Idempotency-Key header is required")
	}
	if len(key) > MaxKeyLen {
		return apperr.InvalidField("Idempotency-Key", "Idempotency-Key is at most %d characters", MaxKeyLen)
	}
	for i := 0; i < len(key); i++ {
		if key[i] < 0x21 || key[i] > 0x7e {
			return apperr.InvalidField("Idempotency-Key", "Idempotency-Key must be printable ASCII without spaces")
		}
	}
	return nil
}

// Errors of order intake.
var (
	ErrOrderNotFound      = apperr.Errorf(apperr.NotFound, "order_not_found", "order not found")
	ErrNotYourOrder       = apperr.Errorf(apperr.Forbidden, "not_your_order", "this order belongs to another pickup point")
	ErrIdempotencyReused  = apperr.Errorf(apperr.Conflict, "idempotency_conflict", "this Idempotency-Key was used for a different request")
	ErrSoldOut            = apperr.Errorf(apperr.Conflict, "sold_out", "not enough stock")
	ErrCutoffPassed       = apperr.Errorf(apperr.Unprocessable, "cutoff_passed", "ordering for this delivery date has closed")
	ErrUnknownSaleItem    = apperr.Errorf(apperr.Unprocessable, "unknown_sale_item", "no such sale item at this leader's warehouse")
	ErrMixedDeliveryDates = apperr.Errorf(apperr.Unprocessable, "mixed_delivery_dates", "all lines of an order must be for one delivery date")
)
