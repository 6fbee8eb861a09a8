// Package intake owns the orders and order_lines tables: the batched intake
// that places orders under idempotency keys without overselling, cancel,
// the order listings, the bulk loader of the simulator, and the sums other
// packages read (each point's demand, a wave's totals at close). It reads
// the sale items and share-locks their wave in the same statement that
// decides a batch (one round trip on the hot path); the sold counters it
// changes through package catalog.
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
		opt.Workers = 2
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
		maxWait: opt.MaxWait, stop: make(chan struct{})}
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
			c.done <- placeResult{err: errShuttingDown}
		default:
			return
		}
	}
}

var (
	errShuttingDown = apperr.Errorf(apperr.Unavailable, "shutting_down", "the server is shutting down, retry shortly")
	errOverloaded   = apperr.Errorf(apperr.Unavailable, "overloaded", "order intake is saturated, retry shortly")
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
		return Order{}, false, errOverloaded
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
		c.done <- placeResult{err: errOverloaded}
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
			results, err = placeBatch(ctx, tx, in.clock.Now().Truncate(time.Microsecond), live, lockFirst)
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

// placeBatch decides every call of the batch inside tx. Per-order refusals
// are results; only infrastructure failures are errors, rolling back all.
//
// Normally the sale items are read without a lock and taken at the very end
// by one conditional UPDATE, so a hot item's row stays locked only for that
// statement and the commit. When that UPDATE finds less stock than the read
// promised (near sell-out), the batch runs again with lockFirst, locking the
// items before deciding, so orders are served strictly in arrival order.
func placeBatch(ctx context.Context, tx *sqlx.Tx, now time.Time, calls []*placeCall, lockFirst bool) ([]placeResult, error) {
	results := make([]placeResult, len(calls))
	decided := make([]bool, len(calls))
	refuse := func(i int, err error) { results[i], decided[i] = placeResult{err: err}, true }

	leaderIDs := make([]int64, 0, len(calls))
	itemSet := map[int64]bool{}
	for _, c := range calls {
		leaderIDs = append(leaderIDs, c.leaderID)
		for _, l := range c.req.Lines {
			itemSet[l.SaleItemID] = true
		}
	}
	sites, err := pickup.LeaderSites(ctx, tx, leaderIDs)
	if err != nil {
		return nil, err
	}

	// Earlier requests with the same keys: replays or conflicts.
	existing, err := existingKeys(ctx, tx, calls)
	if err != nil {
		return nil, err
	}
	inBatch := map[orderKey]int{}
	replays := map[int]int64{} // call index -> order id to load
	for i, c := range calls {
		site, ok := sites[c.leaderID]
		if !ok { // no point, replays included: a point handed over is out of reach
			refuse(i, pickup.ErrNoPoint)
			continue
		}
		k := orderKey{c.leaderID, c.key}
		if prev, ok := existing[k]; ok {
			switch {
			case prev.point != site.Point.ID:
				refuse(i, ErrNotYourOrder)
			case !bytes.Equal(prev.hash, c.hash):
				refuse(i, ErrIdempotencyReused)
			default:
				replays[i], decided[i] = prev.id, true
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

	// Locks are taken in id order so concurrent batches cannot deadlock.
	ids := make([]int64, 0, len(itemSet))
	for id := range itemSet {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a] < ids[b] })
	var lockedRows []lockedItem
	// One round trip reads the items and share-locks their waves: a wave's
	// close takes the row's exclusive lock, so it waits for this batch, and
	// no batch commits into a closed wave.
	lock := ""
	if lockFirst {
		lock = ` FOR NO KEY UPDATE OF si`
	}
	itemQ := `WITH it AS (SELECT si.id, si.warehouse_id, si.delivery_date, si.price_fen, si.stock_cap, si.sold, p.sku, p.name, p.unit
			FROM sale_items si JOIN products p ON p.id = si.product_id
			WHERE si.id = ANY($1) ORDER BY si.id` + lock + `),
		wv AS (SELECT w.warehouse_id, w.delivery_date, w.state, w.cutoff_at, w.closed_at FROM waves w
			WHERE (w.warehouse_id, w.delivery_date) IN (SELECT warehouse_id, delivery_date FROM it)
			ORDER BY w.id FOR SHARE)
		SELECT it.*, wv.state AS wave_state, wv.cutoff_at, wv.closed_at FROM it
		LEFT JOIN wv ON wv.warehouse_id = it.warehouse_id AND wv.delivery_date = it.delivery_date ORDER BY it.id`
	if err := sqlx.SelectContext(ctx, tx, &lockedRows, itemQ, pq.Array(ids)); err != nil {
		return nil, err
	}
	items := make(map[int64]*lockedItem, len(lockedRows))
	for i := range lockedRows {
		items[lockedRows[i].ID] = &lockedRows[i]
	}

	// Residents named by id must be the leader's point's: another point's
	// resident is refused exactly as an unknown one.
	var residentIDs []int64
	for i, c := range calls {
		if !decided[i] && c.req.Resident.ID > 0 {
			residentIDs = append(residentIDs, c.req.Resident.ID)
		}
	}
	residents := map[int64]pickup.Resident{}
	if len(residentIDs) > 0 {
		if residents, err = pickup.ResidentsByID(ctx, tx, residentIDs); err != nil {
			return nil, err
		}
	}

	// Decide in arrival order against the stock read.
	sold := map[int64]int64{} // sale item -> units this batch takes
	var accepted []int
	var newPeople []pickup.NewResident
	for i, c := range calls {
		if decided[i] {
			continue
		}
		site := sites[c.leaderID]
		if id := c.req.Resident.ID; id > 0 {
			if r, ok := residents[id]; !ok || r.PickupPointID != site.Point.ID {
				refuse(i, pickup.ErrResidentNotFound)
				continue
			}
		}
		if err := checkOrder(c, site.Warehouse, items, sold, now); err != nil {
			refuse(i, err)
			continue
		}
		for _, l := range c.req.Lines {
			sold[l.SaleItemID] += l.Quantity
		}
		accepted = append(accepted, i)
		if c.req.Resident.ID == 0 {
			newPeople = append(newPeople, pickup.NewResident{Phone: c.req.Resident.Phone, Name: c.req.Resident.Name, PointID: site.Point.ID})
		}
	}

	if len(accepted) > 0 {
		byPhone := map[pickup.ResidentKey]pickup.Resident{}
		if len(newPeople) > 0 {
			if byPhone, err = pickup.EnsureResidents(ctx, tx, newPeople, now); err != nil {
				return nil, err
			}
		}
		orders := make([]Order, len(accepted))
		for n, i := range accepted {
			c := calls[i]
			site := sites[c.leaderID]
			o := Order{Status: Placed, LeaderID: c.leaderID, PickupPointID: site.Point.ID, WarehouseID: site.Warehouse.ID, CreatedAt: now}
			if c.req.Resident.ID > 0 {
				o.Resident = residents[c.req.Resident.ID]
			} else {
				o.Resident = byPhone[pickup.ResidentKey{PointID: site.Point.ID, Phone: c.req.Resident.Phone}]
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
		if err := insertOrders(ctx, tx, calls, accepted, orders); err != nil {
			return nil, err
		}
		if err := catalog.TakeStock(ctx, tx, sold, now); err != nil {
			return nil, err
		}
		if err := wave.AddLive(ctx, tx, liveDeltas(orders, 1)); err != nil {
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

type keyRow struct {
	LeaderID int64  `db:"leader_id"`
	Key      string `db:"idempotency_key"`
	ID       int64  `db:"id"`
	Hash     []byte `db:"request_hash"`
	PointID  int64  `db:"pickup_point_id"`
}

type priorOrder struct {
	id, point int64
	hash      []byte
}

func existingKeys(ctx context.Context, tx *sqlx.Tx, calls []*placeCall) (map[orderKey]priorOrder, error) {
	leaders := make([]int64, len(calls))
	keys := make([]string, len(calls))
	for i, c := range calls {
		leaders[i], keys[i] = c.leaderID, c.key
	}
	var rows []keyRow
	const q = `SELECT o.leader_id, o.idempotency_key, o.id, o.request_hash, o.pickup_point_id FROM orders o
		JOIN unnest($1::bigint[], $2::text[]) AS k(leader_id, key) ON o.leader_id = k.leader_id AND o.idempotency_key = k.key`
	if err := sqlx.SelectContext(ctx, tx, &rows, q, pq.Array(leaders), pq.Array(keys)); err != nil {
		return nil, err
	}
	out := make(map[orderKey]priorOrder, len(rows))
	for _, r := range rows {
		out[orderKey{r.LeaderID, r.Key}] = priorOrder{r.ID, r.PointID, r.Hash}
	}
	return out, nil
}

// insertOrders writes the accepted orders and their lines, filling in ids.
func insertOrders(ctx context.Context, tx *sqlx.Tx, calls []*placeCall, accepted []int, orders []Order) error {
	n := len(accepted)
	cols := struct {
		leader, point, resident, wh, total []int64
		date, key                          []string
		hash                               [][]byte
	}{}
	for k, i := range accepted {
		o := orders[k]
		cols.leader, cols.point, cols.resident = append(cols.leader, o.LeaderID), append(cols.point, o.PickupPointID), append(cols.resident, o.Resident.ID)
		cols.wh, cols.total, cols.date = append(cols.wh, o.WarehouseID), append(cols.total, o.TotalFen), append(cols.date, o.DeliveryDate.String())
		cols.key, cols.hash = append(cols.key, calls[i].key), append(cols.hash, calls[i].hash)
	}
	const q = `INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status,
			idempotency_key, request_hash, total_fen, created_at)
		SELECT l, p, r, w, d::date, 'placed', k, h, t, $9 FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::bigint[],
			$5::text[], $6::text[], $7::bytea[], $8::bigint[]) WITH ORDINALITY AS x(l, p, r, w, d, k, h, t, n)
		ORDER BY n
		ON CONFLICT ON CONSTRAINT orders_idempotency DO NOTHING
		RETURNING id, leader_id, idempotency_key`
	var rows []keyRow
	err := sqlx.SelectContext(ctx, tx, &rows, q, pq.Array(cols.leader), pq.Array(cols.point), pq.Array(cols.resident),
		pq.Array(cols.wh), pq.Array(cols.date), pq.Array(cols.key), pq.ByteaArray(cols.hash), pq.Array(cols.total), orders[0].CreatedAt)
	if err != nil {
		return err
	}
	if len(rows) != n {
		return errKeyRace
	}
	idOf := make(map[orderKey]int64, n)
	for _, r := range rows {
		idOf[orderKey{r.LeaderID, r.Key}] = r.ID
	}
	var lo, li, lq, lp []int64
	var ld []string
	for k, i := range accepted {
		orders[k].ID = idOf[orderKey{calls[i].leaderID, calls[i].key}]
		for _, l := range orders[k].Lines {
			lo, li, lq, lp = append(lo, orders[k].ID), append(li, l.SaleItemID), append(lq, l.Quantity), append(lp, l.PriceFen)
			ld = append(ld, orders[k].DeliveryDate.String())
		}
	}
	const lq2 = `INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date)
		SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bigint[], $5::date[])
		RETURNING id, order_id, sale_item_id`
	var lines []struct {
		ID       int64 `db:"id"`
		OrderID  int64 `db:"order_id"`
		SaleItem int64 `db:"sale_item_id"`
	}
	if err := sqlx.SelectContext(ctx, tx, &lines, lq2, pq.Array(lo), pq.Array(li), pq.Array(lq), pq.Array(lp), pq.Array(ld)); err != nil {
		return err
	}
	// An order has one line per sale item, so the pair names the line.
	lineID := make(map[[2]int64]int64, len(lines))
	for _, l := range lines {
		lineID[[2]int64{l.OrderID, l.SaleItem}] = l.ID
	}
	for k := range orders {
		for j, l := range orders[k].Lines {
			orders[k].Lines[j].ID = lineID[[2]int64{orders[k].ID, l.SaleItemID}]
		}
	}
	return nil
}
