// Package intake owns the orders and order_lines tables: the batched intake
// that places orders under idempotency keys without overselling, cancel,
// the order listings, the bulk loader of the simulator, and the sums other
// packages read (each point's demand, a wave's totals at close). A batch is
// three statements between BEGIN and COMMIT: one reads what its
// calls need (their leaders' points, earlier orders under their keys, the
// residents they name), one reads the sale items and share-locks their
// waves, and one writes it all; the rules of the other packages' tables in
// that write (residents, sold counters, live totals) are their packages'
// statement parts (pickup.EnsureResidentsCTE, catalog.TakeStockCTEs,
// wave.AddLiveCTE).
package intake

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// Intake places orders. Concurrent requests are gathered into batches that
// commit in one transaction: a hot SKU that every leader buys is then locked
// once per batch instead of once per order, and one WAL flush acknowledges
// many orders. A batch forms only from requests already waiting, so a lone
// request is not delayed. Each order still succeeds or fails on its own.
type Intake struct {
	db       *sqlx.DB
	clock    clock.Clock
	log      *slog.Logger
	queue    chan *placeCall
	metrics  Metrics
	maxBatch int
	maxWait  time.Duration
	wg       sync.WaitGroup
	stop     chan struct{}
	stmts    batchStmts
}

type placeCall struct {
	ctx      context.Context
	leaderID int64
	key      string
	req      OrderRequest
	hash     []byte
	done     chan placeResult
	queued   time.Time
}

type placeResult struct {
	order  Order
	replay bool
	err    error
}

// Metrics counts the orders the intake commits.
type Metrics interface {
	// OrdersPlaced counts committed new orders (replays not counted) and
	// their lines.
	OrdersPlaced(orders, lines int)
}

type noMetrics struct{}

func (noMetrics) OrdersPlaced(int, int) {}

// Options tune batching.
type Options struct {
	Workers  int // concurrent batch transactions per process
	MaxBatch int // orders per transaction at most
	// QueueSize bounds the orders waiting for a batch (default 4096); a full
	// queue answers 503 at once.
	QueueSize int
	// MaxWait sheds load at saturation: an order that waited longer for a
	// batch is answered 503 before anything is written (default 500 ms), so
	// latency stays bounded when more arrives than commits.
	MaxWait time.Duration
	// Metrics counts the orders placed, once committed; nil: nothing.
	Metrics Metrics
}

// New starts the batch workers; Close stops them.
func New(db *sqlx.DB, clock clock.Clock, log *slog.Logger, opt Options) *Intake {
	if opt.Workers <= 0 {
		opt.Workers = 1
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 64
	}
	if opt.QueueSize <= 0 {
		opt.QueueSize = 4096
	}
	if opt.Metrics == nil {
		opt.Metrics = noMetrics{}
	}
	if opt.MaxWait <= 0 {
		opt.MaxWait = 500 * time.Millisecond
	}
	in := &Intake{db: db, clock: clock, log: log, queue: make(chan *placeCall, opt.QueueSize), metrics: opt.Metrics, maxBatch: opt.MaxBatch,
		maxWait: opt.MaxWait, stop: make(chan struct{}), stmts: newBatchStmts(db)}
	for range opt.Workers {
		in.wg.Add(1)
		go in.work()
	}
	return in
}

// Cancel cancels an order of the leader's point before cutoff, releasing its stock.
func (in *Intake) Cancel(ctx context.Context, leaderID, orderID int64) (Order, error) {
	var out Order
	err := pg.InTx(ctx, in.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = cancelOrder(ctx, tx, leaderID, orderID, in.clock.Now())
		return err
	})
	return out, err
}

// LeaderOrder returns one of the orders of the point the leader runs.
func (in *Intake) LeaderOrder(ctx context.Context, leaderID, orderID int64) (Order, error) {
	point, err := pickup.PointOfLeader(ctx, in.db, leaderID)
	if err != nil {
		return Order{}, err
	}
	o, err := GetOrder(ctx, in.db, orderID)
	if err != nil {
		return o, err
	}
	if o.PickupPointID != point {
		return Order{}, ErrNotYourOrder
	}
	return o, nil
}

// LeaderOrders lists the orders of the point the leader runs now, by
// filter: orders belong to the point, not to who placed them.
func (in *Intake) LeaderOrders(ctx context.Context, leaderID int64, f OrderFilter) (OrderPage, error) {
	point, err := pickup.PointOfLeader(ctx, in.db, leaderID)
	if err != nil {
		return OrderPage{}, err
	}
	f.PickupPointID = point
	return in.Orders(ctx, f)
}

// StockShortfall is a line of an order that wants more than is left: the
// sold_out error lists them (its remaining member). The fields are in the
// order of their names, as the map they replace was written.
type StockShortfall struct {
	Remaining  int64  `json:"remaining" doc:"Units left."`
	Requested  int64  `json:"requested" doc:"Units the line asked for."`
	SaleItemID int64  `json:"sale_item_id"`
	SKU        string `json:"sku"`
}

// OrderPage is a page of orders with totals over the whole selection.
type OrderPage struct {
	Orders  []Order     `json:"orders"`
	Totals  OrderTotals `json:"totals"`
	NextID  int64       `json:"next_after_id,omitempty"`
	HasMore bool        `json:"has_more"`
}

// Orders lists orders by filter with totals.
func (in *Intake) Orders(ctx context.Context, f OrderFilter) (OrderPage, error) {
	size := fulfillment.PageSize(f.Limit, 200)
	f.Limit = size + 1 // one more tells whether another page exists
	orders, err := ListOrders(ctx, in.db, f)
	if err != nil {
		return OrderPage{}, err
	}
	var page OrderPage
	page.Orders, page.NextID, page.HasMore = fulfillment.CutPage(orders, size, func(o Order) int64 { return o.ID })
	page.Totals, err = SumOrders(ctx, in.db, f)
	return page, err
}

// Close stops the workers after the batches in flight; calls still queued
// are answered 503 so no caller waits forever.
func (in *Intake) Close() {
	close(in.stop)
	in.wg.Wait()
	for {
		select {
		case c := <-in.queue:
			c.done <- placeResult{err: ErrShuttingDown}
		default:
			return
		}
	}
}

// The intake's refusals of an order it could not take now; nothing is
// written, so a retry is safe.
var (
	ErrShuttingDown = apperr.Errorf(apperr.Unavailable, "shutting_down", "the server is shutting down, retry shortly")
	ErrOverloaded   = apperr.Errorf(apperr.Unavailable, "overloaded", "order intake is saturated, retry shortly")
)

// Place places one order for a leader under an idempotency key. It returns
// the order and whether it is a replay of an earlier request with that key.
func (in *Intake) Place(ctx context.Context, leaderID int64, key string, req OrderRequest) (Order, bool, error) {
	if err := CheckIdempotencyKey(key); err != nil {
		return Order{}, false, err
	}
	if err := req.Validate(); err != nil {
		return Order{}, false, err
	}
	call := &placeCall{ctx: ctx, leaderID: leaderID, key: key, req: req, hash: req.hash(), done: make(chan placeResult, 1), queued: time.Now()}
	select {
	case in.queue <- call:
	case <-ctx.Done():
		return Order{}, false, ctx.Err()
	default:
		return Order{}, false, ErrOverloaded
	}
	// Once queued, the call may be committed: wait for the answer even if the
	// client has gone, so the result is never lost mid-flight.
	r := <-call.done
	return r.order, r.replay, r.err
}

func (in *Intake) work() {
	defer in.wg.Done()
	batch := make([]*placeCall, 0, in.maxBatch)
	for {
		select {
		case <-in.stop:
			return
		case first := <-in.queue:
			batch = in.admit(batch[:0], first)
		fill:
			for len(batch) < in.maxBatch {
				select {
				case c := <-in.queue:
					batch = in.admit(batch, c)
				default:
					break fill
				}
			}
			if len(batch) > 0 {
				in.run(batch)
			}
		}
	}
}

// admit adds c to the batch, or answers it 503 if it waited too long: at
// saturation the queue sheds its oldest orders instead of committing them
// seconds late. Nothing of c has been written, so a retry is safe.
func (in *Intake) admit(batch []*placeCall, c *placeCall) []*placeCall {
	if time.Since(c.queued) > in.maxWait {
		c.done <- placeResult{err: ErrOverloaded}
		return batch
	}
	return append(batch, c)
}

// errKeyRace means another transaction inserted one of the batch's keys after
// we looked; the batch is rolled back and run again, seeing that order.
var errKeyRace = errors.New("idempotency key inserted concurrently")

func (in *Intake) run(batch []*placeCall) {
	live := batch[:0:0]
	for _, c := range batch {
		if c.ctx.Err() != nil {
			c.done <- placeResult{err: c.ctx.Err()}
			continue
		}
		live = append(live, c)
	}
	if len(live) == 0 {
		return
	}
	var results []placeResult
	var err error
	lockFirst := false
	for attempt := 0; attempt < 5; attempt++ {
		// The batch outlives any one client: use a context of its own.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		err = pg.InTx(ctx, in.db, func(tx *sqlx.Tx) error {
			var err error
			// PostgreSQL keeps microseconds; so does the answer, so a replay is identical.
			results, err = in.stmts.placeBatch(ctx, tx, in.clock.Now().Truncate(time.Microsecond), live, lockFirst)
			return err
		})
		cancel()
		if errors.Is(err, catalog.ErrStockRace) {
			lockFirst = true
			continue
		}
		if !errors.Is(err, errKeyRace) {
			break
		}
	}
	placed, lines := 0, 0
	for i, c := range live {
		if err != nil {
			c.done <- placeResult{err: err}
		} else {
			if r := results[i]; r.err == nil && !r.replay {
				placed, lines = placed+1, lines+len(r.order.Lines)
			}
			c.done <- results[i]
		}
	}
	if placed > 0 {
		in.metrics.OrdersPlaced(placed, lines)
	}
}

type lockedItem struct {
	ID           int64            `db:"id"`
	WarehouseID  int64            `db:"warehouse_id"`
	DeliveryDate fulfillment.Date `db:"delivery_date"`
	PriceFen     int64            `db:"price_fen"`
	StockCap     int64            `db:"stock_cap"`
	Sold         int64            `db:"sold"`
	SKU          string           `db:"sku"`
	Name         string           `db:"name"`
	Unit         string           `db:"unit"`
	// The item's wave, share-locked by the same query.
	WaveState sql.NullString `db:"wave_state"`
	CutoffAt  sql.NullTime   `db:"cutoff_at"`
	ClosedAt  sql.NullTime   `db:"closed_at"`
}

type orderKey struct {
	leader int64
	key    string
}

// batchStmts are the statements of a batch prepared once per connection,
// so PostgreSQL plans them once, not on every batch: reading its sale items
// and writing it all. The read of its calls (callsQuery) is planned each
// time: it looks up orders and residents, tables that grow from empty
// during a day, and a plan kept from when they were small would scan them.
type batchStmts struct {
	items, itemsLocked, write *pg.Prepared
}

func newBatchStmts(db *sqlx.DB) batchStmts {
	return batchStmts{items: pg.NewPrepared(db, itemsQuery("")),
		itemsLocked: pg.NewPrepared(db, itemsQuery(" FOR NO KEY UPDATE OF si")), write: pg.NewPrepared(db, writeQuery)}
}

// callsQuery reads, for each call of a batch (by its ordinal n), the point
// its leader runs with the point's warehouse (none: the leader runs no
// point), the order placed earlier under its key if any, and the resident
// it names by id if any. Tables of pickup are read here, as the sale items
// are below, to keep the hot path to one round trip for all of it.
const callsQuery = `SELECT c.n, p.id AS point_id, w.id AS warehouse_id, w.time_zone,
		o.id AS prior_id, o.request_hash AS prior_hash, o.pickup_point_id AS prior_point,
		r.id AS resident_id, r.phone AS resident_phone, r.name AS resident_name, r.pickup_point_id AS resident_point
	FROM unnest($1::bigint[], $2::text[], $3::bigint[]) WITH ORDINALITY AS c(leader_id, key, resident_id, n)
	LEFT JOIN pickup_points p ON p.leader_id = c.leader_id
	LEFT JOIN warehouses w ON w.id = p.warehouse_id
	LEFT JOIN orders o ON o.leader_id = c.leader_id AND o.idempotency_key = c.key
	LEFT JOIN residents r ON r.id = c.resident_id`

type callRow struct {
	N             int64          `db:"n"`
	PointID       sql.NullInt64  `db:"point_id"`
	WarehouseID   sql.NullInt64  `db:"warehouse_id"`
	TimeZone      sql.NullString `db:"time_zone"`
	PriorID       sql.NullInt64  `db:"prior_id"`
	PriorHash     []byte         `db:"prior_hash"`
	PriorPoint    sql.NullInt64  `db:"prior_point"`
	ResidentID    sql.NullInt64  `db:"resident_id"`
	ResidentPhone sql.NullString `db:"resident_phone"`
	ResidentName  sql.NullString `db:"resident_name"`
	ResidentPoint sql.NullInt64  `db:"resident_point"`
}

// itemsQuery reads the sale items and share-locks their waves in one round
// trip: a wave's close takes the row's exclusive lock, so it waits for this
// batch, and no batch commits into a closed wave. Locks are taken in id
// order so concurrent batches cannot deadlock.
func itemsQuery(lock string) string {
	return `WITH it AS (SELECT si.id, si.warehouse_id, si.delivery_date, si.price_fen, si.stock_cap, si.sold, p.sku, p.name, p.unit
			FROM sale_items si JOIN products p ON p.id = si.product_id
			WHERE si.id = ANY($1) ORDER BY si.id` + lock + `),
		wv AS (SELECT w.warehouse_id, w.delivery_date, w.state, w.cutoff_at, w.closed_at FROM waves w
			WHERE (w.warehouse_id, w.delivery_date) IN (SELECT warehouse_id, delivery_date FROM it)
			ORDER BY w.id FOR SHARE)
		SELECT it.*, wv.state AS wave_state, wv.cutoff_at, wv.closed_at FROM it
		LEFT JOIN wv ON wv.warehouse_id = it.warehouse_id AND wv.delivery_date = it.delivery_date ORDER BY it.id`
}

// callSite is where a call's leader orders for: their point and its warehouse.
type callSite struct {
	point     int64
	warehouse pickup.Warehouse
}

// placeBatch decides every call of the batch inside tx. Per-order refusals
// are results; only infrastructure failures are errors, rolling back all.
//
// Normally the sale items are read without a lock and taken at the very end
// by one conditional UPDATE, so a hot item's row stays locked only for the
// end of the batch's last statement and the commit. When that UPDATE finds
// less stock than the read promised (near sell-out), the batch runs again
// with lockFirst, locking the items before deciding, so orders are served
// strictly in arrival order.
func (st batchStmts) placeBatch(ctx context.Context, tx *sqlx.Tx, now time.Time, calls []*placeCall, lockFirst bool) ([]placeResult, error) {
	results := make([]placeResult, len(calls))
	decided := make([]bool, len(calls))
	refuse := func(i int, err error) { results[i], decided[i] = placeResult{err: err}, true }

	leaders := make([]int64, len(calls))
	keys := make([]string, len(calls))
	residentIDs := make([]int64, len(calls))
	itemSet := map[int64]bool{}
	for i, c := range calls {
		leaders[i], keys[i], residentIDs[i] = c.leaderID, c.key, c.req.Resident.ID
		for _, l := range c.req.Lines {
			itemSet[l.SaleItemID] = true
		}
	}
	var callRows []callRow
	if err := sqlx.SelectContext(ctx, tx, &callRows, callsQuery, pq.Array(leaders), pq.Array(keys), pq.Array(residentIDs)); err != nil {
		return nil, err
	}
	rows := make([]*callRow, len(calls))
	for i := range callRows {
		if n := callRows[i].N; n >= 1 && int(n) <= len(calls) {
			rows[n-1] = &callRows[i]
		}
	}
	sites := make([]callSite, len(calls))

	// Earlier requests with the same keys: replays or conflicts.
	inBatch := map[orderKey]int{}
	replays := map[int]int64{} // call index -> order id to load
	for i, c := range calls {
		r := rows[i]
		if r == nil || !r.PointID.Valid { // no point, replays included: a point handed over is out of reach
			refuse(i, pickup.ErrNoPoint)
			continue
		}
		sites[i] = callSite{point: r.PointID.Int64, warehouse: pickup.Warehouse{ID: r.WarehouseID.Int64, TimeZone: r.TimeZone.String}}
		k := orderKey{c.leaderID, c.key}
		if r.PriorID.Valid {
			switch {
			case r.PriorPoint.Int64 != sites[i].point:
				refuse(i, ErrNotYourOrder)
			case !bytes.Equal(r.PriorHash, c.hash):
				refuse(i, ErrIdempotencyReused)
			default:
				replays[i], decided[i] = r.PriorID.Int64, true
			}
			continue
		}
		if j, ok := inBatch[k]; ok { // the same key twice in one batch: decided after j
			if !bytes.Equal(calls[j].hash, c.hash) {
				refuse(i, ErrIdempotencyReused)
			} else {
				replays[i], decided[i] = -int64(j)-1, true
			}
			continue
		}
		inBatch[k] = i
	}

	ids := make([]int64, 0, len(itemSet))
	for id := range itemSet {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	itemStmt := st.items
	if lockFirst {
		itemStmt = st.itemsLocked
	}
	var lockedRows []lockedItem
	if err := itemStmt.Select(ctx, tx, &lockedRows, pq.Array(ids)); err != nil {
		return nil, err
	}
	items := make(map[int64]*lockedItem, len(lockedRows))
	for i := range lockedRows {
		items[lockedRows[i].ID] = &lockedRows[i]
	}

	// Decide in arrival order against the stock read.
	sold := map[int64]int64{} // sale item -> units this batch takes
	var accepted []int
	for i, c := range calls {
		if decided[i] {
			continue
		}
		// Residents named by id must be the leader's point's: another
		// point's resident is refused exactly as an unknown one.
		if id := c.req.Resident.ID; id > 0 {
			if r := rows[i]; !r.ResidentID.Valid || r.ResidentPoint.Int64 != sites[i].point {
				refuse(i, pickup.ErrResidentNotFound)
				continue
			}
		}
		if err := checkOrder(c, sites[i].warehouse, items, sold, now); err != nil {
			refuse(i, err)
			continue
		}
		for _, l := range c.req.Lines {
			sold[l.SaleItemID] += l.Quantity
		}
		accepted = append(accepted, i)
	}

	if len(accepted) > 0 {
		orders := make([]Order, len(accepted))
		for n, i := range accepted {
			c := calls[i]
			o := Order{Status: Placed, LeaderID: c.leaderID, PickupPointID: sites[i].point, WarehouseID: sites[i].warehouse.ID, CreatedAt: now}
			if r := rows[i]; c.req.Resident.ID > 0 {
				o.Resident = pickup.Resident{ID: r.ResidentID.Int64, Phone: r.ResidentPhone.String, Name: r.ResidentName.String, PickupPointID: r.ResidentPoint.Int64}
			} else {
				o.Resident = pickup.Resident{Phone: c.req.Resident.Phone, Name: c.req.Resident.Name, PickupPointID: sites[i].point}
			}
			for _, l := range c.req.Lines {
				it := items[l.SaleItemID]
				o.DeliveryDate = it.DeliveryDate
				o.Lines = append(o.Lines, OrderLine{SaleItemID: it.ID, SKU: it.SKU, Name: it.Name, Unit: it.Unit,
					Quantity: l.Quantity, PriceFen: it.PriceFen, AmountFen: l.Quantity * it.PriceFen})
				o.TotalFen += l.Quantity * it.PriceFen
			}
			orders[n] = o
		}
		if err := st.writeOrders(ctx, tx, now, calls, accepted, orders, sold); err != nil {
			return nil, err
		}
		for n, i := range accepted {
			results[i] = placeResult{order: orders[n]}
		}
	}

	// Replays: of orders committed earlier, loaded here; of one in this batch, copied.
	var loadIDs []int64
	for _, id := range replays {
		if id > 0 {
			loadIDs = append(loadIDs, id)
		}
	}
	loaded, err := loadOrders(ctx, tx, loadIDs)
	if err != nil {
		return nil, err
	}
	for i, id := range replays {
		if id > 0 {
			results[i] = placeResult{order: loaded[id], replay: true}
		} else {
			r := results[-id-1]
			r.replay = r.err == nil
			results[i] = r
		}
	}
	return results, nil
}

// checkOrder applies the business rules to one order against the stock left
// after the batch's earlier orders.
func checkOrder(c *placeCall, w pickup.Warehouse, items map[int64]*lockedItem, sold map[int64]int64, now time.Time) error {
	var date fulfillment.Date
	var gate wave.Gate
	for i, l := range c.req.Lines {
		it, ok := items[l.SaleItemID]
		if !ok || it.WarehouseID != w.ID {
			e := ErrUnknownSaleItem.With("sale_item_id", l.SaleItemID)
			e.Field = lineField(i, "sale_item_id")
			return e
		}
		if i == 0 {
			date = it.DeliveryDate
			gate = wave.Gate{State: wave.State(it.WaveState.String), CutoffAt: it.CutoffAt.Time, ClosedAt: it.ClosedAt}
		} else if !it.DeliveryDate.Equal(date.Time) {
			return ErrMixedDeliveryDates
		}
	}
	if c.req.DeliveryDate != nil && !c.req.DeliveryDate.Equal(date.Time) {
		e := apperr.Errorf(apperr.Unprocessable, "delivery_date_mismatch", "the sale items are for delivery on %s, not %s",
			date, c.req.DeliveryDate)
		e.Field = "delivery_date"
		return e
	}
	if err := gateOpen(gate, w, date, now); err != nil {
		return err
	}
	var short []StockShortfall
	for _, l := range c.req.Lines {
		it := items[l.SaleItemID]
		if left := it.StockCap - it.Sold - sold[it.ID]; l.Quantity > left {
			short = append(short, StockShortfall{SaleItemID: it.ID, SKU: it.SKU, Requested: l.Quantity, Remaining: left})
		}
	}
	if len(short) > 0 {
		e := apperr.Errorf(apperr.Conflict, ErrSoldOut.Code, "not enough stock: %s has %d left", short[0].SKU, short[0].Remaining)
		return e.With("remaining", short)
	}
	return nil
}

// gateOpen says whether orders for the wave may still change: before its
// cutoff and not closed early by ops. A refusal names when ordering ended.
func gateOpen(g wave.Gate, w pickup.Warehouse, date fulfillment.Date, now time.Time) error {
	if g.State == "" { // no wave: nothing was ever published for the date
		return ErrUnknownSaleItem
	}
	if g.State != wave.Open || !now.Before(g.CutoffAt) {
		loc, err := w.Location()
		if err != nil {
			loc = time.UTC
		}
		closed := g.OrderingEnded()
		return apperr.Errorf(apperr.Unprocessable, ErrCutoffPassed.Code,
			"ordering for %s closed at %s", date, closed.In(loc).Format("2006-01-02 15:04 MST")).
			With("cutoff", closed)
	}
	return nil
}

// writeQuery writes a batch in one statement: it registers the residents
// named by phone (pickup's rule, EnsureResidentsCTE), inserts the orders
// under their keys and their lines, takes the stock (catalog's rule,
// TakeStockCTEs) and adds to the waves' live totals (wave's, AddLiveCTE).
// It answers one row per resident, order and line written, and the number
// of sale items whose units fit. The parts run in that order, so the hot
// sale item's row is locked at the statement's end, until the commit.
var writeQuery = `WITH new_residents AS (SELECT t.*, $4::timestamptz AS at FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(phone, name, point)),
	` + pickup.EnsureResidentsCTE + `,
	placed AS (INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status,
			idempotency_key, request_hash, total_fen, created_at)
		SELECT x.l, x.p, coalesce(re.id, x.r), x.w, x.d, 'placed', x.k, x.h, x.t, $4
		FROM unnest($5::bigint[], $6::bigint[], $7::bigint[], $8::text[], $9::bigint[], $10::date[], $11::text[], $12::bytea[], $13::bigint[])
			WITH ORDINALITY AS x(l, p, r, ph, w, d, k, h, t, n)
		LEFT JOIN residents_ensured re ON x.r = 0 AND re.pickup_point_id = x.p AND re.phone = x.ph
		ORDER BY x.n
		ON CONFLICT ON CONSTRAINT orders_idempotency DO NOTHING
		RETURNING id, leader_id, idempotency_key),
	lines AS (INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date)
		SELECT placed.id, y.i, y.q, y.pr, y.d
		FROM unnest($14::bigint[], $15::text[], $16::bigint[], $17::int[], $18::bigint[], $19::date[]) WITH ORDINALITY AS y(l, k, i, q, pr, d, n)
		JOIN placed ON placed.leader_id = y.l AND placed.idempotency_key = y.k
		ORDER BY y.n
		RETURNING id, order_id, sale_item_id),
	take AS (SELECT d.id, d.q, $4::timestamptz AS at FROM unnest($20::bigint[], $21::int[]) AS d(id, q)),
	` + catalog.TakeStockCTEs + `,
	live_add AS (SELECT d.*, $28::smallint AS stripe
		FROM unnest($22::bigint[], $23::date[], $24::bigint[], $25::bigint[], $26::bigint[], $27::bigint[]) AS d(wh, dt, o, l, u, a)),
	` + wave.AddLiveCTE + `
	SELECT 'r' AS kind, id AS a, pickup_point_id AS b, 0::bigint AS c, phone::text AS s, name::text AS t FROM residents_ensured
	UNION ALL SELECT 'o', id, leader_id, 0, idempotency_key, '' FROM placed
	UNION ALL SELECT 'l', id, order_id, sale_item_id, '', '' FROM lines
	UNION ALL SELECT 's', count(*), 0, 0, '', '' FROM stock_taken
	UNION ALL SELECT 'w', count(*), 0, 0, '', '' FROM live_added`

type writtenRow struct {
	Kind string `db:"kind"`
	A    int64  `db:"a"`
	B    int64  `db:"b"`
	C    int64  `db:"c"`
	S    string `db:"s"`
	T    string `db:"t"`
}

// writeOrders writes the accepted orders with their residents, lines, stock
// and live totals (writeQuery), filling in the ids and the residents named
// by phone. errKeyRace: another transaction took one of the keys since the
// batch looked; catalog.ErrStockRace: the stock read no longer holds.
func (st batchStmts) writeOrders(ctx context.Context, tx *sqlx.Tx, now time.Time, calls []*placeCall, accepted []int, orders []Order, sold map[int64]int64) error {
	var res struct {
		phone, name []string
		point       []int64
	}
	seen := map[pickup.ResidentKey]bool{}
	var ord struct {
		leader, point, resident, wh, total []int64
		phone, date, key                   []string
		hash                               [][]byte
	}
	var ln struct {
		leader, item, qty, price []int64
		key, date                []string
	}
	for k, i := range accepted {
		o, c := orders[k], calls[i]
		date := o.DeliveryDate.String()
		if o.Resident.ID == 0 {
			// ON CONFLICT may touch a row only once per statement: each resident once.
			if rk := (pickup.ResidentKey{PointID: o.PickupPointID, Phone: o.Resident.Phone}); !seen[rk] {
				seen[rk] = true
				res.phone, res.name, res.point = append(res.phone, rk.Phone), append(res.name, o.Resident.Name), append(res.point, rk.PointID)
			}
		}
		ord.leader, ord.point, ord.resident = append(ord.leader, o.LeaderID), append(ord.point, o.PickupPointID), append(ord.resident, o.Resident.ID)
		ord.phone, ord.wh, ord.date = append(ord.phone, o.Resident.Phone), append(ord.wh, o.WarehouseID), append(ord.date, date)
		ord.key, ord.hash, ord.total = append(ord.key, c.key), append(ord.hash, c.hash), append(ord.total, o.TotalFen)
		for _, l := range o.Lines {
			ln.leader, ln.key, ln.item = append(ln.leader, o.LeaderID), append(ln.key, c.key), append(ln.item, l.SaleItemID)
			ln.qty, ln.price, ln.date = append(ln.qty, l.Quantity), append(ln.price, l.PriceFen), append(ln.date, date)
		}
	}
	// Stock in id order, as TakeStock takes it.
	stockIDs := make([]int64, 0, len(sold))
	for id := range sold {
		stockIDs = append(stockIDs, id)
	}
	sort.Slice(stockIDs, func(a, b int) bool { return stockIDs[a] < stockIDs[b] })
	stockQty := make([]int64, len(stockIDs))
	for i, id := range stockIDs {
		stockQty[i] = sold[id]
	}
	var live struct {
		wh, orders, lines, units, amount []int64
		date                             []string
	}
	for k, t := range liveDeltas(orders, 1) {
		live.wh, live.date = append(live.wh, k.Warehouse), append(live.date, k.Date)
		live.orders, live.lines, live.units, live.amount = append(live.orders, t.Orders), append(live.lines, t.Lines), append(live.units, t.Units), append(live.amount, t.AmountFen)
	}

	var written []writtenRow
	err := st.write.Select(ctx, tx, &written,
		pq.Array(res.phone), pq.Array(res.name), pq.Array(res.point), now,
		pq.Array(ord.leader), pq.Array(ord.point), pq.Array(ord.resident), pq.Array(ord.phone), pq.Array(ord.wh),
		pq.Array(ord.date), pq.Array(ord.key), pq.ByteaArray(ord.hash), pq.Array(ord.total),
		pq.Array(ln.leader), pq.Array(ln.key), pq.Array(ln.item), pq.Array(ln.qty), pq.Array(ln.price), pq.Array(ln.date),
		pq.Array(stockIDs), pq.Array(stockQty),
		pq.Array(live.wh), pq.Array(live.date), pq.Array(live.orders), pq.Array(live.lines), pq.Array(live.units), pq.Array(live.amount),
		wave.LiveStripe())
	if err != nil {
		return err
	}
	residents := map[pickup.ResidentKey]pickup.Resident{}
	orderID := make(map[orderKey]int64, len(orders))
	lineID := map[[2]int64]int64{} // an order has one line per sale item, so the pair names the line
	var taken int64
	for _, w := range written {
		switch w.Kind {
		case "r":
			residents[pickup.ResidentKey{PointID: w.B, Phone: w.S}] = pickup.Resident{ID: w.A, Phone: w.S, Name: w.T, PickupPointID: w.B}
		case "o":
			orderID[orderKey{w.B, w.S}] = w.A
		case "l":
			lineID[[2]int64{w.B, w.C}] = w.A
		case "s":
			taken = w.A
		}
	}
	if len(orderID) != len(orders) {
		return errKeyRace
	}
	if taken != int64(len(stockIDs)) {
		return catalog.ErrStockRace
	}
	for k, i := range accepted {
		o := &orders[k]
		o.ID = orderID[orderKey{calls[i].leaderID, calls[i].key}]
		if o.Resident.ID == 0 {
			o.Resident = residents[pickup.ResidentKey{PointID: o.PickupPointID, Phone: o.Resident.Phone}]
		}
		for j, l := range o.Lines {
			o.Lines[j].ID = lineID[[2]int64{o.ID, l.SaleItemID}]
		}
	}
	return nil
}
