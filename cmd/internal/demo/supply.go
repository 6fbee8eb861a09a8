package demo

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/clock"
)

// The supply side of a simulated night: suppliers with case packs and
// prices for every product on sale, and a dock where, as at a real one, a
// few lines arrive short and a few units fail inspection, so the night runs
// from cutoff to ready with no receipt typed by hand.

// casePacks are the case sizes (箱规) the simulated suppliers sell in.
var casePacks = []int64{1, 6, 10, 12, 20, 24}

// SimSuppliers saves n suppliers (e-mail) and gives every product on sale
// at the warehouse on date one of them, by SKU rank: a case pack, a price
// of about 70 % of the sale price and a delivery slot between 01:00 and
// 03:30. Saving is by code, so a second run changes nothing.
func SimSuppliers(ctx context.Context, db *sqlx.DB, svc *supply.Service, warehouseID int64, date fulfillment.Date, n int, seed uint64) (int, error) {
	if n < 1 {
		return 0, nil
	}
	rng := rand.New(rand.NewPCG(seed, 0x5119))
	sups := make([]supply.Supplier, n)
	for i := range sups {
		var err error
		sups[i], err = svc.SaveSupplier(ctx, supply.SupplierInput{Code: fmt.Sprintf("SIM-SUP-%03d", i+1), Name: fmt.Sprintf("模拟供应商%03d", i+1),
			Contact: fmt.Sprintf("采购对接人 1390000%04d", i+1), Channel: supply.ChannelEmail, Email: fmt.Sprintf("po%03d@supplier.example", i+1)})
		if err != nil {
			return 0, err
		}
	}
	items, err := catalog.ListSaleItems(ctx, db, warehouseID, date)
	if err != nil {
		return 0, err
	}
	for i, it := range items {
		term := supply.TermInput{SupplierID: sups[i%n].ID, Priority: 1, CasePack: casePacks[rng.IntN(len(casePacks))],
			PriceFen: it.PriceFen * 7 / 10, DeliverySlot: clock.NewTimeOfDay(1+rng.IntN(3), 30*rng.IntN(2))}
		if _, err := svc.SetTerms(ctx, it.ProductID, []supply.TermInput{term}); err != nil {
			return 0, err
		}
	}
	return len(items), nil
}

// Dock is how a simulated dock receives: the percent of lines that arrive
// short (some cases missing), and the percent of units that arrive and are
// rejected at inspection.
type Dock struct {
	ShortPct, RejectPct float64
	Seed                uint64
}

// RealisticDock is about 3 % of lines short and 1 % of units rejected.
var RealisticDock = Dock{ShortPct: 3, RejectPct: 1, Seed: 1}

// DockScan is one scan the dock sends for a purchase-order line.
type DockScan struct {
	LineID int64
	Scan   supply.Scan
}

// Scans plans the dock's scans of a wave's latest purchase orders: one per
// line, the same for the same seed. A short line brings 50-95 % of its
// cases; of what arrives RejectPct percent is rejected (quality or damage,
// rounded at random); chilled and frozen units carry a lot and an expiry
// date 3 to 30 days after the delivery date.
func (d Dock) Scans(wo supply.WaveOrders, date fulfillment.Date) []DockScan {
	rng := rand.New(rand.NewPCG(d.Seed, 0xd0c4))
	var out []DockScan
	for _, po := range wo.Orders {
		if !po.Latest {
			continue
		}
		for _, l := range po.Lines {
			arrived := l.Quantity
			if rng.Float64()*100 < d.ShortPct {
				arrived = l.CasePack * (l.Cases * int64(50+rng.IntN(46)) / 100)
			}
			exact := float64(arrived) * d.RejectPct / 100
			rejected := int64(exact)
			if rng.Float64() < exact-float64(rejected) {
				rejected++
			}
			s := supply.Scan{ScanID: fmt.Sprintf("sim-%s-%d", po.Number, l.ID), Arrived: arrived, Accepted: arrived - rejected, Rejected: rejected}
			if rejected > 0 {
				s.Reason = []supply.RejectReason{supply.RejectQuality, supply.RejectDamage}[rng.IntN(2)]
			}
			if l.Zone != fulfillment.Ambient && s.Accepted > 0 {
				exp := fulfillment.Date{Time: date.AddDate(0, 0, 3+rng.IntN(28))}
				s.Lot, s.ExpiresOn = fmt.Sprintf("L%s-%d", date.Format("0102"), l.ID), &exp
			}
			if arrived == 0 {
				continue // nothing came: nothing to scan
			}
			out = append(out, DockScan{LineID: l.ID, Scan: s})
		}
	}
	return out
}
