package fulfillment

// RefundReason is why units of an order line were refunded.
type RefundReason string

// Refund reasons, as stored in the refunds ledger.
const (
	ReasonShortage  RefundReason = "shortage"   // the warehouse received less than was sold
	ReasonMissing   RefundReason = "missing"    // the leader's delivery lacked it
	ReasonDamaged   RefundReason = "damaged"    // it arrived damaged
	ReasonReturned  RefundReason = "returned"   // not collected in time; back to the warehouse
	ReasonAfterSale RefundReason = "after_sale" // granted by ops after collection (售后)
)

// RefundReasons lists every reason, in the order above.
var RefundReasons = []RefundReason{ReasonShortage, ReasonMissing, ReasonDamaged, ReasonReturned, ReasonAfterSale}

// RefundState is where a refund stands on its way to the resident's money:
// created → submitted → paid, or failed (and paid on a later attempt of the
// payment system). Package refund owns the ledger; an order's view reads
// the states too.
type RefundState string

// Refund states.
const (
	RefundCreated   RefundState = "created"   // in the ledger; the payment system not yet told
	RefundSubmitted RefundState = "submitted" // the payment system took its refund.created event
	RefundPaid      RefundState = "paid"      // the payment system paid it back
	RefundFailed    RefundState = "failed"    // the payment system could not pay it
)

// RefundStates lists every state, in order.
var RefundStates = []RefundState{RefundCreated, RefundSubmitted, RefundPaid, RefundFailed}

// Text is how a resident reads the reason.
func (r RefundReason) Text() string {
	switch r {
	case ReasonShortage:
		return "仓库缺货"
	case ReasonMissing:
		return "配送缺件"
	case ReasonDamaged:
		return "商品破损"
	case ReasonReturned:
		return "超时未取"
	case ReasonAfterSale:
		return "售后退款"
	}
	return string(r)
}
