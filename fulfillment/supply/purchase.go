package supply

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// stageActor is who made the orders the purchase stage writes.
const stageActor = "purchase stage"

// needsOf reckons what a wave must buy from its sales as they stand: per
// product with supply terms and units sold, the usable stock on hand at the
// delivery date, the category's margin and the requirement; and the terms.
func needsOf(ctx context.Context, q sqlx.QueryerContext, w wave.Wave) ([]Need, map[int64][]Term, error) {
	items, err := catalog.ListSaleItems(ctx, q, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return nil, nil, err
	}
	var ids []int64
	for _, it := range items {
		if it.Sold > 0 {
			ids = append(ids, it.ProductID)
		}
	}
	terms, err := termsOf(ctx, q, ids)
	if err != nil {
		return nil, nil, err
	}
	ids = ids[:0]
	for _, it := range items {
		if it.Sold > 0 && len(terms[it.ProductID]) > 0 {
			ids = append(ids, it.ProductID)
		}
	}
	onHand, err := stock.UsableStock(ctx, q, w.WarehouseID, w.DeliveryDate, ids)
	if err != nil {
		return nil, nil, err
	}
	margins, err := ListMargins(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	margin := map[string]int64{}
	for _, m := range margins {
		margin[m.Category] = m.Percent
	}
	var needs []Need
	for _, it := range items {
		if it.Sold == 0 || len(terms[it.ProductID]) == 0 {
			continue
		}
		n := Need{ProductID: it.ProductID, SKU: it.SKU, Name: it.Name, Unit: it.Unit, Zone: it.Zone, Category: it.Category, Sold: it.Sold,
			Stock: onHand[it.ProductID], MarginPct: margin[it.Category]}
		n.Required = requirement(n.Sold, n.Stock, n.MarginPct)
		needs = append(needs, n)
	}
	return needs, terms, nil
}

// Purchase runs the purchase stage of a wave inside tx: a closed wave's
// sales become one purchase order per supplier (numbered, with lines,
// expected arrival and totals), each queued to be sent to its supplier once,
// and the wave learns what it waits for at the dock. It reports whether it
// acted: a wave in any other state, or purchased already, is left alone, so a
// rerun or a retry after a crash adds nothing.
func (s *Service) Purchase(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (bool, int64, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil || w.State != wave.Closed || w.PurchasedAt != nil {
		return false, 0, err
	}
	progress(0, 3)
	wh, err := pickup.GetWarehouse(ctx, tx, w.WarehouseID)
	if err != nil {
		return false, 0, err
	}
	loc, err := wh.Location()
	if err != nil {
		return false, 0, err
	}
	needs, terms, err := needsOf(ctx, tx, w)
	if err != nil {
		return false, 0, err
	}
	progress(1, 3)
	plans := plan(needs, terms)
	if err := insertNeeds(ctx, tx, waveID, needs); err != nil {
		return false, 0, err
	}
	var lines int64
	var sends []int64
	for i, p := range plans {
		number := fmt.Sprintf("PO-%s-%s-%03d", wh.Code, w.DeliveryDate.Format("20060102"), i+1)
		id, err := insertOrder(ctx, tx, w, p, 1, number, p.Slot.On(w.DeliveryDate.Time, loc), "", stageActor, now)
		if err != nil {
			return false, 0, err
		}
		job, err := s.queueSend(ctx, tx, id, 1, stageActor, now)
		if err != nil {
			return false, 0, err
		}
		sends = append(sends, job)
		lines += int64(len(p.Lines))
	}
	progress(2, 3)
	rcv := wave.Receiving{}
	if len(needs) > 0 {
		n := int64(len(plans))
		rcv.Orders = &n
	}
	dl, err := GetDeadline(ctx, tx, w.WarehouseID)
	if err != nil {
		return false, 0, err
	}
	if !dl.Deadline.IsZero() {
		at := dl.Deadline.On(w.DeliveryDate.Time, loc)
		rcv.DeadlineAt, rcv.Deadline = &at, dl.Deadline
	}
	if err := wave.SetPurchased(ctx, tx, waveID, rcv, now); err != nil {
		return false, 0, err
	}
	s.jobs.FlushOnCommit(ctx, tx, sends...)
	return true, lines, nil
}

func insertNeeds(ctx context.Context, tx *sqlx.Tx, waveID int64, needs []Need) error {
	if len(needs) == 0 {
		return nil
	}
	var prod, sold, stock, margin, req []int64
	for _, n := range needs {
		prod, sold, stock, margin, req = append(prod, n.ProductID), append(sold, n.Sold), append(stock, n.Stock),
			append(margin, n.MarginPct), append(req, n.Required)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO purchase_needs (wave_id, product_id, sold, stock, margin_pct, required)
		SELECT $1, p, s, st, m, r FROM unnest($2::bigint[], $3::int[], $4::int[], $5::int[], $6::int[]) AS t(p, s, st, m, r)`,
		waveID, pq.Array(prod), pq.Array(sold), pq.Array(stock), pq.Array(margin), pq.Array(req))
	return err
}

// insertOrder writes one version of a supplier's purchase order with its lines.
func insertOrder(ctx context.Context, tx *sqlx.Tx, w wave.Wave, p OrderPlan, version int64, number string, expected time.Time,
	note, by string, now time.Time) (int64, error) {
	var id int64
	if err := tx.GetContext(ctx, &id, `INSERT INTO purchase_orders (wave_id, supplier_id, version, number, warehouse_id, delivery_date,
			expected_at, units, amount_fen, note, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id`,
		w.ID, p.SupplierID, version, number, w.WarehouseID, w.DeliveryDate, expected, p.Units, p.AmountFen, note, by, now); err != nil {
		return 0, err
	}
	var prod, pack, cases, qty, price []int64
	var sku, name, unit, zone []string
	for _, l := range p.Lines {
		prod, pack, cases, qty, price = append(prod, l.ProductID), append(pack, l.CasePack), append(cases, l.Cases),
			append(qty, l.Quantity), append(price, l.PriceFen)
		sku, name, unit, zone = append(sku, l.SKU), append(name, l.Name), append(unit, l.Unit), append(zone, string(l.Zone))
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO purchase_order_lines (purchase_order_id, product_id, sku, name, unit, zone,
			case_pack, cases, quantity, price_fen, amount_fen)
		SELECT $1, p, s, n, u, z, c, k, q, pr, q * pr
		FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[], $10::bigint[])
			AS t(p, s, n, u, z, c, k, q, pr)`,
		id, pq.Array(prod), pq.Array(sku), pq.Array(name), pq.Array(unit), pq.Array(zone), pq.Array(pack), pq.Array(cases),
		pq.Array(qty), pq.Array(price))
	return id, err
}

// Forecast is the running estimate of a wave's purchase orders (预估采购)
// from its sales so far: what the purchase stage would order now.
type Forecast struct {
	WaveID     int64            `json:"wave_id"`
	State      wave.State       `json:"state"`
	ComputedAt time.Time        `json:"computed_at"`
	Needs      []Need           `json:"needs"`
	Orders     []ForecastOrder  `json:"orders"`
	Date       fulfillment.Date `json:"delivery_date"`
}

// ForecastOrder is one supplier's estimated order.
type ForecastOrder struct {
	OrderPlan
	SupplierCode string `json:"supplier_code"`
	SupplierName string `json:"supplier_name"`
}

// ForecastOf computes a wave's forecast, optionally of one supplier.
func (s *Service) ForecastOf(ctx context.Context, waveID, supplierID int64) (Forecast, error) {
	w, err := wave.Get(ctx, s.db, waveID)
	if err != nil {
		return Forecast{}, err
	}
	needs, terms, err := needsOf(ctx, s.db, w)
	if err != nil {
		return Forecast{}, err
	}
	sups, err := ListSuppliers(ctx, s.db)
	if err != nil {
		return Forecast{}, err
	}
	byID := map[int64]Supplier{}
	for _, sp := range sups {
		byID[sp.ID] = sp
	}
	out := Forecast{WaveID: w.ID, State: w.State, ComputedAt: s.clock.Now(), Needs: needs, Orders: []ForecastOrder{}, Date: w.DeliveryDate}
	if out.Needs == nil {
		out.Needs = []Need{}
	}
	for _, p := range plan(needs, terms) {
		if supplierID == 0 || p.SupplierID == supplierID {
			sp := byID[p.SupplierID]
			out.Orders = append(out.Orders, ForecastOrder{OrderPlan: p, SupplierCode: sp.Code, SupplierName: sp.Name})
		}
	}
	return out, nil
}

// RevisionLine is a line of a revised purchase order: whole cases of a
// product already on it (0 cases drops it).
type RevisionLine struct {
	ProductID int64 `json:"product_id"`
	Cases     int64 `json:"cases" doc:"Whole cases; 0 removes the line."`
}

// Revision changes a purchase order's lines; unlisted lines stay as they are.
type Revision struct {
	Lines []RevisionLine `json:"lines"`
	Note  string         `json:"note,omitempty" max:"200"`
}

// Revise makes a new version of an open purchase order with changed lines and
// queues it to its supplier; the version before stays as it was.
func (s *Service) Revise(ctx context.Context, poID int64, r Revision, by string) (PurchaseOrder, error) {
	if len(r.Lines) == 0 {
		return PurchaseOrder{}, apperr.InvalidField("lines", "name at least one line to change")
	}
	seen := make(map[int64]bool, len(r.Lines))
	for i, l := range r.Lines {
		if l.ProductID <= 0 {
			return PurchaseOrder{}, apperr.InvalidField(fulfillment.Field("lines", i, "product_id"), "product_id must be positive")
		}
		if seen[l.ProductID] {
			return PurchaseOrder{}, apperr.InvalidField(fulfillment.Field("lines", i, "product_id"), "product %d is named twice", l.ProductID)
		}
		seen[l.ProductID] = true
		if l.Cases < 0 || l.Cases > fulfillment.MaxStockCap {
			return PurchaseOrder{}, apperr.InvalidField(fulfillment.Field("lines", i, "cases"), "cases must be between 0 and %d", fulfillment.MaxStockCap)
		}
	}
	if err := checkNote(r.Note); err != nil {
		return PurchaseOrder{}, err
	}
	var out PurchaseOrder
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		po, err := s.lockOpen(ctx, tx, poID)
		if err != nil {
			return err
		}
		var received bool
		if err := tx.GetContext(ctx, &received, `SELECT EXISTS (SELECT 1 FROM receiving_records r JOIN purchase_order_lines l
			ON l.id = r.purchase_order_line_id WHERE l.purchase_order_id = $1)`, poID); err != nil {
			return err
		}
		if received {
			return ErrReceivingStarted
		}
		named := map[int64]int{} // product → its line in r
		for i, l := range r.Lines {
			named[l.ProductID] = i
		}
		p := OrderPlan{SupplierID: po.SupplierID}
		for _, l := range po.Lines {
			c := l.Cases
			if i, ok := named[l.ProductID]; ok {
				delete(named, l.ProductID)
				c = r.Lines[i].Cases
				if c*l.CasePack > fulfillment.MaxStockCap {
					return apperr.InvalidField(fulfillment.Field("lines", i, "cases"), "%d cases of %d come to more than %d units",
						c, l.CasePack, fulfillment.MaxStockCap)
				}
			}
			if c == 0 {
				continue
			}
			nl := LinePlan{ProductID: l.ProductID, SKU: l.SKU, Name: l.Name, Unit: l.Unit, Zone: l.Zone, CasePack: l.CasePack,
				Cases: c, Quantity: c * l.CasePack, PriceFen: l.PriceFen}
			nl.AmountFen = nl.Quantity * nl.PriceFen
			p.Lines = append(p.Lines, nl)
			p.Units += nl.Quantity
			p.AmountFen += nl.AmountFen
		}
		for id := range named {
			return apperr.Errorf(apperr.Unprocessable, ErrUnknownLine.Code, "product %d is not on this purchase order", id)
		}
		w, err := wave.Get(ctx, tx, po.WaveID)
		if err != nil {
			return err
		}
		base := po.Number
		if po.Version > 1 {
			base = po.Number[:len(po.Number)-len(fmt.Sprintf("-v%d", po.Version))]
		}
		v := po.Version + 1
		id, err := insertOrder(ctx, tx, w, p, v, fmt.Sprintf("%s-v%d", base, v), po.ExpectedAt, r.Note, by, s.clock.Now())
		if err != nil {
			return err
		}
		if err := s.sendAfterCommit(ctx, tx, id, 1, by); err != nil {
			return err
		}
		out, err = GetPurchaseOrder(ctx, tx, id)
		return err
	})
	return out, err
}
