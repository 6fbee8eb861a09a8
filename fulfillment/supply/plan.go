package supply

import (
	"cmp"
	"slices"

	"groupbuy/fulfillment"
	"groupbuy/internal/clock"
)

// Need is one product's requirement in a wave: what was sold, the stock on
// hand still usable on the delivery date, the category's safety margin, and
// the units to buy before they are rounded to case packs.
type Need struct {
	ProductID int64            `db:"product_id" json:"product_id"`
	SKU       string           `db:"sku" json:"sku"`
	Name      string           `db:"name" json:"name"`
	Unit      string           `db:"unit" json:"unit"`
	Zone      fulfillment.Zone `db:"zone" json:"zone"`
	Category  string           `db:"category" json:"category"`
	Sold      int64            `db:"sold" json:"sold"`
	Stock     int64            `db:"stock" json:"stock"`
	MarginPct int64            `db:"margin_pct" json:"margin_pct"`
	Required  int64            `db:"required" json:"required"`
}

// requirement is the one rule of what to buy (以销定采): the net
// requirement, sold less usable stock, plus the safety margin on it,
// rounded up to whole units; nothing when stock covers what was sold.
func requirement(sold, stock, marginPct int64) int64 {
	net := sold - stock
	if net <= 0 {
		return 0
	}
	return (net*(100+marginPct) + 99) / 100
}

// Part is what one supplier is to deliver of a product: whole cases.
type Part struct {
	Term
	Cases    int64
	Quantity int64 // Cases × CasePack
}

// split shares required units among a product's suppliers. Suppliers with a
// share take required in proportion to their shares (largest remainder, ties
// to the higher priority); when none has a share, the one of highest priority
// takes it all. Each part is rounded up to the supplier's case pack.
func split(required int64, terms []Term) []Part {
	if required <= 0 || len(terms) == 0 {
		return nil
	}
	terms = slices.Clone(terms)
	slices.SortStableFunc(terms, func(a, b Term) int {
		return cmp.Or(cmp.Compare(a.Priority, b.Priority), cmp.Compare(a.SupplierID, b.SupplierID))
	})
	var sharing []Term
	var total int64
	for _, t := range terms {
		if t.SharePct > 0 {
			sharing = append(sharing, t)
			total += t.SharePct
		}
	}
	if total == 0 {
		sharing, total = terms[:1], 1
		sharing[0].SharePct = 1
	}
	units := make([]int64, len(sharing))
	rem := make([]int64, len(sharing))
	var given int64
	for i, t := range sharing {
		units[i] = required * t.SharePct / total
		rem[i] = required * t.SharePct % total
		given += units[i]
	}
	order := make([]int, len(sharing))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(rem[b], rem[a]) })
	for _, i := range order[:required-given] {
		units[i]++
	}
	var parts []Part
	for i, t := range sharing {
		if units[i] == 0 {
			continue
		}
		cases := (units[i] + t.CasePack - 1) / t.CasePack
		parts = append(parts, Part{Term: t, Cases: cases, Quantity: cases * t.CasePack})
	}
	return parts
}

// OrderPlan is the purchase order one supplier gets: its lines, totals and
// the earliest delivery slot among them.
type OrderPlan struct {
	SupplierID int64           `json:"supplier_id"`
	Slot       clock.TimeOfDay `json:"delivery_slot"`
	Lines      []LinePlan      `json:"lines"`
	Units      int64           `json:"units"`
	AmountFen  int64           `json:"amount_fen"`
}

// LinePlan is one product on a purchase order.
type LinePlan struct {
	ProductID int64            `json:"product_id"`
	SKU       string           `json:"sku"`
	Name      string           `json:"name"`
	Unit      string           `json:"unit"`
	Zone      fulfillment.Zone `json:"zone"`
	CasePack  int64            `json:"case_pack"`
	Cases     int64            `json:"cases"`
	Quantity  int64            `json:"quantity"`
	PriceFen  int64            `json:"price_fen"`
	AmountFen int64            `json:"amount_fen"`
}

// plan turns the needs of a wave into one order per supplier, by supplier
// id, lines by product id: the same needs and terms always give the same
// orders, so the purchase stage and the forecast agree.
func plan(needs []Need, terms map[int64][]Term) []OrderPlan {
	bySupplier := map[int64]*OrderPlan{}
	for _, n := range needs {
		for _, p := range split(n.Required, terms[n.ProductID]) {
			o := bySupplier[p.SupplierID]
			if o == nil {
				o = &OrderPlan{SupplierID: p.SupplierID, Slot: p.DeliverySlot}
				bySupplier[p.SupplierID] = o
			}
			if p.DeliverySlot.Before(o.Slot) {
				o.Slot = p.DeliverySlot
			}
			l := LinePlan{ProductID: n.ProductID, SKU: n.SKU, Name: n.Name, Unit: n.Unit, Zone: n.Zone, CasePack: p.CasePack,
				Cases: p.Cases, Quantity: p.Quantity, PriceFen: p.PriceFen, AmountFen: p.Quantity * p.PriceFen}
			o.Lines = append(o.Lines, l)
			o.Units += l.Quantity
			o.AmountFen += l.AmountFen
		}
	}
	out := make([]OrderPlan, 0, len(bySupplier))
	for _, o := range bySupplier {
		slices.SortFunc(o.Lines, func(a, b LinePlan) int { return cmp.Compare(a.ProductID, b.ProductID) })
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b OrderPlan) int { return cmp.Compare(a.SupplierID, b.SupplierID) })
	return out
}
