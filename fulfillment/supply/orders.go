package supply

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"
)

// OrderState is where a purchase order stands, for the buyer.
type OrderState string

// Purchase-order states.
const (
	OrderQueued     OrderState = "queued"      // not yet sent to the supplier
	OrderSent       OrderState = "sent"        // the supplier has it
	OrderArriving   OrderState = "arriving"    // goods are being received
	OrderReceived   OrderState = "received"    // closed: what came is counted
	OrderNotComing  OrderState = "not_coming"  // closed: the supplier will not deliver
	OrderSuperseded OrderState = "superseded"  // a newer version replaced it
	OrderSendFailed OrderState = "send_failed" // refused for good: fix the supplier, then resend
)

// Outcome is how a purchase order was closed.
type Outcome string

// Outcomes.
const (
	OutcomeReceived  Outcome = "received"
	OutcomeNotComing Outcome = "not_coming"
)

// PurchaseOrder is one version of a supplier's order for a wave, with what
// the dock has received of it.
type PurchaseOrder struct {
	ID           int64               `db:"id" json:"id"`
	Number       string              `db:"number" json:"number"`
	Version      int64               `db:"version" json:"version"`
	WaveID       int64               `db:"wave_id" json:"wave_id"`
	SupplierID   int64               `db:"supplier_id" json:"supplier_id"`
	SupplierCode string              `db:"supplier_code" json:"supplier_code"`
	SupplierName string              `db:"supplier_name" json:"supplier_name"`
	WarehouseID  int64               `db:"warehouse_id" json:"warehouse_id"`
	DeliveryDate fulfillment.Date    `db:"delivery_date" json:"delivery_date"`
	ExpectedAt   time.Time           `db:"expected_at" json:"expected_at"`
	State        OrderState          `db:"-" json:"state" enum:"queued,sent,arriving,received,not_coming,superseded,send_failed"`
	Units        int64               `db:"units" json:"units"`
	AmountFen    int64               `db:"amount_fen" json:"amount_fen"`
	Arrived      int64               `db:"arrived" json:"arrived"`
	Accepted     int64               `db:"accepted" json:"accepted"`
	Rejected     int64               `db:"rejected" json:"rejected"`
	ShortUnits   int64               `db:"-" json:"short_units" doc:"Units ordered and not accepted, over its lines."`
	Note         string              `db:"note" json:"note"`
	CreatedBy    string              `db:"created_by" json:"created_by"`
	CreatedAt    time.Time           `db:"created_at" json:"created_at"`
	Latest       bool                `db:"latest" json:"latest"`
	SentAt       *time.Time          `db:"sent_at" json:"sent_at,omitempty"`
	Sends        int64               `db:"sends" json:"sends"`
	SendError    string              `db:"send_error" json:"send_error,omitempty" doc:"Why its latest send has not gone out yet: retried, unless the state is send_failed."`
	Refused      bool                `db:"refused" json:"-"`
	Outcome      *Outcome            `db:"outcome" json:"outcome,omitempty" enum:"received,not_coming"`
	ClosedBy     *string             `db:"closed_by" json:"closed_by,omitempty"`
	ClosedAt     *time.Time          `db:"closed_at" json:"closed_at,omitempty"`
	Lines        []PurchaseOrderLine `db:"-" json:"lines"`
}

// PurchaseOrderLine is one product of a purchase order with its receiving totals.
type PurchaseOrderLine struct {
	ID        int64            `db:"id" json:"id"`
	ProductID int64            `db:"product_id" json:"product_id"`
	SKU       string           `db:"sku" json:"sku"`
	Name      string           `db:"name" json:"name"`
	Unit      string           `db:"unit" json:"unit"`
	Zone      fulfillment.Zone `db:"zone" json:"zone"`
	CasePack  int64            `db:"case_pack" json:"case_pack"`
	Cases     int64            `db:"cases" json:"cases"`
	Quantity  int64            `db:"quantity" json:"quantity"`
	PriceFen  int64            `db:"price_fen" json:"price_fen"`
	AmountFen int64            `db:"amount_fen" json:"amount_fen"`
	Arrived   int64            `db:"arrived" json:"arrived"`
	Accepted  int64            `db:"accepted" json:"accepted"`
	Rejected  int64            `db:"rejected" json:"rejected"`
}

// isLatest tells whether purchase order o is its supplier's latest version
// for the wave.
const isLatest = `NOT EXISTS (SELECT 1 FROM purchase_orders n WHERE n.wave_id = o.wave_id AND n.supplier_id = o.supplier_id AND n.version > o.version)`

const orderSelect = `SELECT o.id, o.number, o.version, o.wave_id, o.supplier_id, s.code AS supplier_code, s.name AS supplier_name,
		o.warehouse_id, o.delivery_date, o.expected_at, o.units, o.amount_fen, o.note, o.created_by, o.created_at,
		coalesce(r.arrived, 0) AS arrived, coalesce(r.accepted, 0) AS accepted, coalesce(r.rejected, 0) AS rejected,
		` + isLatest + ` AS latest,
		(SELECT max(sent_at) FROM purchase_order_sends x WHERE x.purchase_order_id = o.id) AS sent_at,
		(SELECT count(*) FROM purchase_order_sends x WHERE x.purchase_order_id = o.id AND x.sent_at IS NOT NULL) AS sends,
		CASE WHEN l.sent_at IS NULL THEN coalesce(l.last_error, '') ELSE '' END AS send_error,
		coalesce(l.refused_at IS NOT NULL, false) AS refused,
		c.outcome, c.closed_by, c.closed_at
	FROM purchase_orders o JOIN suppliers s ON s.id = o.supplier_id
	LEFT JOIN purchase_order_closures c ON c.purchase_order_id = o.id
	LEFT JOIN LATERAL (SELECT x.last_error, x.refused_at, x.sent_at FROM purchase_order_sends x
		WHERE x.purchase_order_id = o.id ORDER BY x.seq DESC LIMIT 1) l ON true
	LEFT JOIN LATERAL (SELECT sum(rr.arrived) AS arrived, sum(rr.accepted) AS accepted, sum(rr.rejected) AS rejected
		FROM receiving_records rr JOIN purchase_order_lines l ON l.id = rr.purchase_order_line_id
		WHERE l.purchase_order_id = o.id) r ON true`

const lineSelect = `SELECT l.id, l.product_id, l.sku, l.name, l.unit, l.zone, l.case_pack, l.cases, l.quantity, l.price_fen, l.amount_fen,
		coalesce(sum(r.arrived), 0) AS arrived, coalesce(sum(r.accepted), 0) AS accepted, coalesce(sum(r.rejected), 0) AS rejected
	FROM purchase_order_lines l LEFT JOIN receiving_records r ON r.purchase_order_line_id = l.id`

// finish fills what a purchase order's rows imply: its state and shortfall.
func (o *PurchaseOrder) finish() {
	switch {
	case o.Outcome != nil && *o.Outcome == OutcomeNotComing:
		o.State = OrderNotComing
	case o.Outcome != nil:
		o.State = OrderReceived
	case !o.Latest:
		o.State = OrderSuperseded
	case o.Arrived != 0:
		o.State = OrderArriving
	case o.SentAt != nil:
		o.State = OrderSent
	case o.Refused:
		o.State = OrderSendFailed
	default:
		o.State = OrderQueued
	}
	o.ShortUnits = 0
	for _, l := range o.Lines {
		o.ShortUnits += max(0, l.Quantity-l.Accepted)
	}
}

// GetPurchaseOrder loads a purchase order with its lines.
func GetPurchaseOrder(ctx context.Context, q sqlx.QueryerContext, id int64) (PurchaseOrder, error) {
	o, err := pg.GetOne[PurchaseOrder](ctx, q, ErrPurchaseOrderNotFound, orderSelect+` WHERE o.id = $1`, id)
	if err != nil {
		return o, err
	}
	o.Lines = []PurchaseOrderLine{}
	if err := sqlx.SelectContext(ctx, q, &o.Lines, lineSelect+` WHERE l.purchase_order_id = $1 GROUP BY l.id ORDER BY l.product_id`, id); err != nil {
		return o, err
	}
	o.finish()
	return o, nil
}

// WaveOrders are a wave's purchase orders, every version, and what the wave
// waits for at the dock.
type WaveOrders struct {
	WaveID int64           `json:"wave_id"`
	Orders []PurchaseOrder `json:"orders"`
	Needs  []Need          `json:"needs"`
}

// ListPurchaseOrders returns a wave's purchase orders by number (every
// version), each with its lines, and the requirement they answer.
func ListPurchaseOrders(ctx context.Context, q sqlx.QueryerContext, waveID int64) (WaveOrders, error) {
	w, err := wave.Get(ctx, q, waveID)
	if err != nil {
		return WaveOrders{}, err
	}
	out := WaveOrders{WaveID: waveID, Orders: []PurchaseOrder{}, Needs: []Need{}}
	if err := sqlx.SelectContext(ctx, q, &out.Orders, orderSelect+` WHERE o.wave_id = $1 ORDER BY o.number`, waveID); err != nil {
		return out, err
	}
	var lines []struct {
		OrderID int64 `db:"purchase_order_id"`
		PurchaseOrderLine
	}
	if err := sqlx.SelectContext(ctx, q, &lines, strings.Replace(lineSelect, "SELECT ", "SELECT l.purchase_order_id, ", 1)+`
		JOIN purchase_orders o ON o.id = l.purchase_order_id WHERE o.wave_id = $1 GROUP BY l.id ORDER BY l.product_id`, waveID); err != nil {
		return out, err
	}
	at := map[int64]int{}
	for i, o := range out.Orders {
		at[o.ID] = i
		out.Orders[i].Lines = []PurchaseOrderLine{}
	}
	for _, l := range lines {
		o := &out.Orders[at[l.OrderID]]
		o.Lines = append(o.Lines, l.PurchaseOrderLine)
	}
	for i := range out.Orders {
		out.Orders[i].finish()
	}
	out.Needs, err = savedNeeds(ctx, q, w)
	return out, err
}

// savedNeeds returns the requirement the purchase stage reckoned for a wave.
func savedNeeds(ctx context.Context, q sqlx.QueryerContext, w wave.Wave) ([]Need, error) {
	items, err := catalog.ListSaleItems(ctx, q, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return nil, err
	}
	var rows []Need
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT product_id, sold, stock, margin_pct, required FROM purchase_needs
		WHERE wave_id = $1 ORDER BY product_id`, w.ID); err != nil {
		return nil, err
	}
	byProduct := map[int64]catalog.SaleItem{}
	for _, it := range items {
		byProduct[it.ProductID] = it
	}
	out := make([]Need, 0, len(rows))
	for _, n := range rows {
		it := byProduct[n.ProductID]
		n.SKU, n.Name, n.Unit, n.Zone, n.Category = it.SKU, it.Name, it.Unit, it.Zone, it.Category
		out = append(out, n)
	}
	return out, nil
}

// lockOpen locks the wave of a purchase order, then the order, then its
// lines, and refuses unless it is the latest version and not closed. A scan
// locks only its line (supply_receive), so the scans of an order run side by
// side; taking the lines waits for the scans in flight, and the scans after
// it see what the command did (the close, the new version).
func (s *Service) lockOpen(ctx context.Context, tx *sqlx.Tx, poID int64) (PurchaseOrder, error) {
	var waveID int64
	err := tx.GetContext(ctx, &waveID, `SELECT wave_id FROM purchase_orders WHERE id = $1`, poID)
	if errors.Is(err, sql.ErrNoRows) {
		return PurchaseOrder{}, ErrPurchaseOrderNotFound
	}
	if err != nil {
		return PurchaseOrder{}, err
	}
	// Every command on a wave locks the wave's row first.
	if _, err := wave.Lock(ctx, tx, waveID); err != nil {
		return PurchaseOrder{}, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM purchase_orders WHERE id = $1 FOR UPDATE`, poID); err != nil {
		return PurchaseOrder{}, err
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM purchase_order_lines WHERE purchase_order_id = $1 ORDER BY id FOR NO KEY UPDATE`, poID); err != nil {
		return PurchaseOrder{}, err
	}
	po, err := GetPurchaseOrder(ctx, tx, poID)
	switch {
	case err != nil:
		return po, err
	case po.Outcome != nil:
		return po, ErrClosed
	case !po.Latest:
		return po, ErrSuperseded
	}
	return po, nil
}

// Close marks a purchase order received (what came is what counts) or not
// coming; closing it again the same way changes nothing, another way is 409.
// When it was the wave's last open order, the wave's allocation starts.
func (s *Service) Close(ctx context.Context, poID int64, outcome Outcome, by string) (PurchaseOrder, error) {
	if outcome != OutcomeReceived && outcome != OutcomeNotComing {
		return PurchaseOrder{}, apperr.InvalidField("outcome", "outcome must be received or not_coming")
	}
	var out PurchaseOrder
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		po, err := s.lockOpen(ctx, tx, poID)
		if errors.Is(err, ErrClosed) && *po.Outcome == outcome {
			out = po
			return nil
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO purchase_order_closures (purchase_order_id, outcome, closed_by, closed_at)
			VALUES ($1, $2, $3, $4)`, poID, outcome, by, s.clock.Now()); err != nil {
			return err
		}
		if err := refreshWave(ctx, tx, po.WaveID, s.clock.Now()); err != nil {
			return err
		}
		if s.night != nil {
			job, err := s.night.AllocateIfReady(ctx, tx, po.WaveID)
			if err != nil {
				return err
			}
			s.jobs.FlushOnCommit(ctx, tx, job)
		}
		out, err = GetPurchaseOrder(ctx, tx, poID)
		return err
	})
	return out, err
}

// refreshWave tells the wave how many of its latest purchase orders are
// closed, which is what it waits for at the dock.
func refreshWave(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time) error {
	var closed int64
	if err := tx.GetContext(ctx, &closed, `SELECT count(*) FROM purchase_orders o JOIN purchase_order_closures c ON c.purchase_order_id = o.id
		WHERE o.wave_id = $1 AND NOT EXISTS (SELECT 1 FROM purchase_orders n WHERE n.wave_id = o.wave_id
			AND n.supplier_id = o.supplier_id AND n.version > o.version)`, waveID); err != nil {
		return err
	}
	return wave.SetOrdersClosed(ctx, tx, waveID, closed, now)
}
