package supply

import (
	"testing"

	"groupbuy/internal/clock"
)

func TestRequirement(t *testing.T) {
	for _, c := range []struct{ sold, stock, margin, want int64 }{
		{30, 0, 0, 30},
		{30, 5, 0, 25},
		{30, 5, 10, 28}, // 25 × 1.1 = 27.5, rounded up
		{30, 30, 10, 0}, // stock covers it: no margin either
		{30, 40, 0, 0},
		{1, 0, 5, 2}, // 1.05 rounds up to 2
		{0, 0, 50, 0},
	} {
		if got := requirement(c.sold, c.stock, c.margin); got != c.want {
			t.Errorf("requirement(%d sold, %d stock, %d %%) = %d, want %d", c.sold, c.stock, c.margin, got, c.want)
		}
	}
}

func TestSplitByShareAndCasePack(t *testing.T) {
	slot := clock.NewTimeOfDay(2, 0)
	a := Term{SupplierID: 1, Priority: 1, SharePct: 60, CasePack: 10, PriceFen: 300, DeliverySlot: slot}
	b := Term{SupplierID: 2, Priority: 2, SharePct: 40, CasePack: 5, PriceFen: 280, DeliverySlot: slot}
	// 47 units: 60 % is 28.2, 40 % is 18.8; the spare unit goes to the larger
	// remainder (b): 28 and 19, rounded up to whole cases: 30 and 20.
	parts := split(47, []Term{b, a})
	if len(parts) != 2 || parts[0].SupplierID != 1 || parts[0].Quantity != 30 || parts[0].Cases != 3 ||
		parts[1].SupplierID != 2 || parts[1].Quantity != 20 || parts[1].Cases != 4 {
		t.Fatalf("split 47: %+v", parts)
	}
	// Without shares, the first by priority takes everything.
	a.SharePct, b.SharePct = 0, 0
	b.Priority = 0
	parts = split(7, []Term{a, b})
	if len(parts) != 1 || parts[0].SupplierID != 2 || parts[0].Quantity != 10 {
		t.Fatalf("split without shares: %+v", parts)
	}
	if parts := split(0, []Term{a}); parts != nil {
		t.Fatalf("nothing required: %+v", parts)
	}
}

// TestSplitNeverBuysLess checks on many requirements that the parts cover the
// requirement, each is whole cases, and none buys a case more than it needs.
func TestSplitNeverBuysLess(t *testing.T) {
	terms := []Term{
		{SupplierID: 1, Priority: 1, SharePct: 50, CasePack: 12},
		{SupplierID: 2, Priority: 2, SharePct: 30, CasePack: 7},
		{SupplierID: 3, Priority: 3, SharePct: 20, CasePack: 1},
	}
	for req := int64(1); req < 500; req++ {
		var total, slack int64
		for _, p := range split(req, terms) {
			if p.Quantity != p.Cases*p.CasePack || p.Cases <= 0 {
				t.Fatalf("%d: part %+v is not whole cases", req, p)
			}
			total += p.Quantity
			slack += p.CasePack - 1
		}
		if total < req || total > req+slack {
			t.Fatalf("%d required, %d bought", req, total)
		}
	}
}

func TestPlanOneOrderPerSupplier(t *testing.T) {
	early, late := clock.NewTimeOfDay(1, 30), clock.NewTimeOfDay(3, 0)
	terms := map[int64][]Term{
		10: {{ProductID: 10, SupplierID: 7, Priority: 1, CasePack: 12, PriceFen: 150, DeliverySlot: late}},
		20: {{ProductID: 20, SupplierID: 7, Priority: 1, SharePct: 50, CasePack: 1, PriceFen: 900, DeliverySlot: early},
			{ProductID: 20, SupplierID: 3, Priority: 2, SharePct: 50, CasePack: 1, PriceFen: 880, DeliverySlot: late}},
	}
	needs := []Need{{ProductID: 20, Required: 9}, {ProductID: 10, Required: 25}, {ProductID: 30, Required: 5}}
	orders := plan(needs, terms)
	if len(orders) != 2 || orders[0].SupplierID != 3 || orders[1].SupplierID != 7 {
		t.Fatalf("orders %+v", orders)
	}
	o := orders[1]
	// Product 10: 25 → 3 cases of 12; product 20: 5 of 9 (the larger share's remainder goes to priority).
	if len(o.Lines) != 2 || o.Lines[0].ProductID != 10 || o.Lines[0].Quantity != 36 || o.Lines[1].Quantity != 5 {
		t.Fatalf("supplier 7: %+v", o.Lines)
	}
	if o.Units != 41 || o.AmountFen != 36*150+5*900 || o.Slot != early {
		t.Fatalf("supplier 7 totals: %d units, %d fen, slot %s", o.Units, o.AmountFen, o.Slot)
	}
	if orders[0].Units != 4 || orders[0].Slot != late {
		t.Fatalf("supplier 3: %+v", orders[0])
	}
}
