package intake_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/retention"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func newIntake(t *testing.T, c *fulfillmenttest.City, clk clock.Clock) *intake.Intake {
	in := intake.New(c.DB, clk, slog.New(slog.DiscardHandler), intake.Options{Workers: 2, MaxBatch: 8})
	t.Cleanup(in.Close)
	return in
}

func order(phone string, item, qty int64) intake.OrderRequest {
	return intake.OrderRequest{Resident: intake.ResidentRef{Phone: phone, Name: "居民"},
		Lines: []intake.LineRequest{{SaleItemID: item, Quantity: qty}}}
}

func code(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return fmt.Sprint(err)
}

// TestIntakeNeverOversells: many leaders buy a hot SKU at once; exactly the
// cap is sold, every other order is refused sold_out, and a retry under the
// same key replays its order.
func TestIntakeNeverOversells(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 6)
	item := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 1290, 10)
	in := newIntake(t, c, clock.NewManual(fulfillmenttest.Now))
	const n = 30
	var mu sync.Mutex
	placed, refused := map[int64]bool{}, map[string]int{}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			p := c.Points[i%len(c.Points)]
			o, replay, err := in.Place(ctx, p.Leader, fmt.Sprintf("k%d", i), order(fmt.Sprintf("1370000%04d", i), item, 1))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				refused[code(err)]++
				return
			}
			if replay {
				t.Errorf("order %d answered as a replay", i)
			}
			placed[o.ID] = true
		})
	}
	wg.Wait()
	if len(placed) != 10 || refused["sold_out"] != n-10 {
		t.Fatalf("placed %d, refused %v; want 10 placed and %d sold_out", len(placed), refused, n-10)
	}
	if sold := c.Count(`SELECT sold FROM sale_items WHERE id = $1`, item); sold != 10 {
		t.Fatalf("sold %d, want 10", sold)
	}
	if lines := c.Count(`SELECT count(*) FROM order_lines`); lines != 10 {
		t.Fatalf("%d order lines, want 10", lines)
	}
	// A retry of an order that got through replays it, whatever the stock.
	var key string
	for i := range n {
		k := fmt.Sprintf("k%d", i)
		if c.Count(`SELECT count(*) FROM orders WHERE idempotency_key = $1`, k) == 1 {
			key = k
			p := c.Points[i%len(c.Points)]
			o, replay, err := in.Place(ctx, p.Leader, key, order(fmt.Sprintf("1370000%04d", i), item, 1))
			if err != nil || !replay || !placed[o.ID] {
				t.Fatalf("retry of %s: %+v replay=%v (%v)", key, o, replay, err)
			}
			if _, _, err := in.Place(ctx, p.Leader, key, order(fmt.Sprintf("1370000%04d", i), item, 2)); code(err) != "idempotency_conflict" {
				t.Fatalf("the key with another body: %v", err)
			}
			break
		}
	}
}

// TestCancelGivesTheStockBack: a leader cancels an order of their point
// before the cutoff, once; another point's leader cannot; after the cutoff
// nobody can.
func TestCancelGivesTheStockBack(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 2)
	item := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 3990, 5)
	clk := clock.NewManual(fulfillmenttest.Now)
	in := newIntake(t, c, clk)
	o, _, err := in.Place(ctx, c.Points[0].Leader, "a", order("13700000001", item, 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Cancel(ctx, c.Points[1].Leader, o.ID); !errors.Is(err, intake.ErrNotYourOrder) {
		t.Fatalf("cancel by another point's leader: %v", err)
	}
	for range 2 {
		got, err := in.Cancel(ctx, c.Points[0].Leader, o.ID)
		if err != nil || got.Status != intake.Cancelled {
			t.Fatalf("cancel: %+v (%v)", got, err)
		}
	}
	if sold := c.Count(`SELECT sold FROM sale_items WHERE id = $1`, item); sold != 0 {
		t.Fatalf("sold %d after the cancel, want 0", sold)
	}
	late, _, err := in.Place(ctx, c.Points[0].Leader, "b", order("13700000002", item, 1))
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(fulfillmenttest.Cutoff.Add(time.Minute))
	if _, err := in.Cancel(ctx, c.Points[0].Leader, late.ID); code(err) != "cutoff_passed" {
		t.Fatalf("cancel after the cutoff: %v", err)
	}
	if _, _, err := in.Place(ctx, c.Points[0].Leader, "c", order("13700000003", item, 1)); code(err) != "cutoff_passed" {
		t.Fatalf("order after the cutoff: %v", err)
	}
	page, err := in.Orders(ctx, intake.OrderFilter{Date: fulfillmenttest.Date})
	if err != nil || page.Totals.Orders != 1 || page.Totals.Cancelled != 1 || page.Totals.Units != 1 {
		t.Fatalf("listing totals %+v (%v): want one placed order of one unit and one cancelled", page.Totals, err)
	}
}

// TestBatchAnswersWhatItStored: concurrent orders, batched together, each
// answer is the order as stored (its id, its lines' ids, its resident);
// two orders for one new phone at a point register one resident, a key
// sent twice places one order, a resident of another point is refused, and
// the wave's live totals count exactly the orders placed.
func TestBatchAnswersWhatItStored(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 4)
	hot := c.SaleItem(c.Product("HOT", fulfillment.Ambient, ""), 500, 1000)
	other := c.SaleItem(c.Product("OTHER", fulfillment.Ambient, ""), 300, 1000)
	in := intake.New(c.DB, clock.NewManual(fulfillmenttest.Now), slog.New(slog.DiscardHandler), intake.Options{Workers: 1, MaxBatch: 64})
	t.Cleanup(in.Close)
	type call struct {
		point int
		key   string
		req   intake.OrderRequest
	}
	two := func(phone string, id int64) intake.OrderRequest {
		r := intake.ResidentRef{Phone: phone, Name: "居民"}
		if id > 0 {
			r = intake.ResidentRef{ID: id}
		}
		return intake.OrderRequest{Resident: r,
			Lines: []intake.LineRequest{{SaleItemID: hot, Quantity: 1}, {SaleItemID: other, Quantity: 2}}}
	}
	var calls []call
	for i := range 40 {
		calls = append(calls, call{i % 4, fmt.Sprintf("b%d", i), two(fmt.Sprintf("1390000%04d", i%6), 0)})
	}
	calls = append(calls, call{0, "b0", two("13900000000", 0)})            // the same key and body again
	calls = append(calls, call{1, "own", two("", c.Points[1].Resident)})   // the point's own resident by id
	calls = append(calls, call{2, "alien", two("", c.Points[3].Resident)}) // another point's resident
	type answer struct {
		o      intake.Order
		replay bool
		err    error
	}
	answers := make([]answer, len(calls))
	var wg sync.WaitGroup
	for i, cl := range calls {
		wg.Go(func() {
			o, replay, err := in.Place(ctx, c.Points[cl.point].Leader, cl.key, cl.req)
			answers[i] = answer{o, replay, err}
		})
	}
	wg.Wait()
	placed := 0
	for i, a := range answers {
		cl := calls[i]
		if cl.key == "alien" {
			if code(a.err) != "resident_not_found" {
				t.Errorf("another point's resident: %v", a.err)
			}
			continue
		}
		if a.err != nil {
			t.Fatalf("%s: %v", cl.key, a.err)
		}
		if !a.replay {
			placed++
		}
		stored, err := intake.GetOrder(ctx, c.DB, a.o.ID)
		if err != nil {
			t.Fatalf("%s: order %d: %v", cl.key, a.o.ID, err)
		}
		if stored.Resident != a.o.Resident || stored.TotalFen != a.o.TotalFen || stored.PickupPointID != c.Points[cl.point].ID ||
			len(stored.Lines) != 2 || len(a.o.Lines) != 2 {
			t.Fatalf("%s answered %+v, stored %+v", cl.key, a.o, stored)
		}
		for j := range stored.Lines {
			if s, g := stored.Lines[j], a.o.Lines[j]; s.ID != g.ID || s.SaleItemID != g.SaleItemID || s.Quantity != g.Quantity || s.AmountFen != g.AmountFen {
				t.Fatalf("%s line %d answered %+v, stored %+v", cl.key, j, g, s)
			}
		}
		if cl.req.Resident.ID == 0 && (a.o.Resident.Phone != cl.req.Resident.Phone || a.o.Resident.ID == 0) {
			t.Fatalf("%s: resident %+v", cl.key, a.o.Resident)
		}
	}
	if placed != 41 {
		t.Fatalf("%d orders placed, want 41", placed)
	}
	if n := c.Count(`SELECT count(*) FROM orders`); n != 41 {
		t.Fatalf("%d orders stored, want 41", n)
	}
	// 40 orders over 4 points and 6 phones: each point sees phones i%6 for
	// i ≡ point (mod 4), i.e. 3 phones each; 12 residents registered.
	if n := c.Count(`SELECT count(*) FROM residents WHERE phone LIKE '1390000%'`); n != 12 {
		t.Fatalf("%d residents registered, want 12", n)
	}
	if sold := c.Count(`SELECT sold FROM sale_items WHERE id = $1`, hot); sold != 41 {
		t.Fatalf("hot item sold %d, want 41", sold)
	}
	if n := c.Count(`SELECT sum(orders) + sum(lines) + sum(units) FROM wave_live_totals`); n != 41+82+41*3 {
		t.Fatalf("live totals orders+lines+units %d, want %d", n, 41+82+41*3)
	}
}

// TestRepublishDoesNotDeadlockWithAnOrder: an order of two sale items takes
// their stock in id order; republishing the two, listed the other way
// round, takes them in id order too, so the two never deadlock (each one
// costs the intake batch a second, and five in a row a 500).
func TestRepublishDoesNotDeadlockWithAnOrder(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	a := c.SaleItem(c.Product("AAA", fulfillment.Ambient, ""), 100, 50)
	b := c.SaleItem(c.Product("BBB", fulfillment.Ambient, ""), 200, 50)
	clk := clock.NewManual(fulfillmenttest.Now)
	in := newIntake(t, c, clk)
	deadlocks := func() int64 {
		return c.Count(`SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`)
	}
	waiting := func(n int64) {
		t.Helper()
		for c.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) < n {
			time.Sleep(5 * time.Millisecond)
		}
	}
	before := deadlocks()
	hold := c.DB.MustBegin() // any order or cancel holding item a for a moment
	hold.MustExec(`SELECT 1 FROM sale_items WHERE id = $1 FOR NO KEY UPDATE`, min(a, b))
	placed := make(chan error, 1)
	go func() {
		_, _, err := in.Place(ctx, c.Points[0].Leader, "two", intake.OrderRequest{Resident: intake.ResidentRef{ID: c.Points[0].Resident},
			Lines: []intake.LineRequest{{SaleItemID: a, Quantity: 1}, {SaleItemID: b, Quantity: 1}}})
		placed <- err
	}()
	waiting(1)
	published := make(chan error, 1)
	go func() {
		_, err := catalog.NewService(c.DB, clk).Publish(ctx, c.Warehouse, fulfillmenttest.Date,
			[]catalog.Offer{{SKU: "BBB", PriceFen: 210, StockCap: 60}, {SKU: "AAA", PriceFen: 110, StockCap: 60}})
		published <- err
	}()
	waiting(2)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-placed; err != nil {
		t.Errorf("order: %v", err)
	}
	if err := <-published; err != nil {
		t.Errorf("publish: %v", err)
	}
	// A deadlock is counted once its victim's session is idle again.
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if n := deadlocks() - before; n != 0 {
			t.Fatalf("the order and the republish deadlocked %d time(s)", n)
		}
	}
}

// TestACutoffInTheSpringGapDoesNotCloseEarly: New York's clocks skip
// 02:00-03:00 on 2026-03-08, and a cutoff of 02:30 is read as 03:30 EDT, as
// PostgreSQL reads it; ordering closed at 01:30 EST, an hour early.
func TestACutoffInTheSpringGapDoesNotCloseEarly(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	c.Exec(`UPDATE warehouses SET time_zone = 'America/New_York', cutoff_local = '02:30' WHERE id = $1`, c.Warehouse)
	c.Product("EGG", fulfillment.Chilled, "")
	date := fulfillment.Date{Time: time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)}
	clk := clock.NewManual(time.Date(2026, 3, 7, 15, 0, 0, 0, time.UTC))
	items, err := catalog.NewService(c.DB, clk).Publish(ctx, c.Warehouse, date, []catalog.Offer{{SKU: "EGG", PriceFen: 100, StockCap: 10}})
	if err != nil {
		t.Fatal(err)
	}
	in := newIntake(t, c, clk)
	clk.Set(time.Date(2026, 3, 8, 7, 15, 0, 0, time.UTC)) // 03:15 EDT: the wall clock jumped from 02:00 at 07:00Z
	if _, _, err := in.Place(ctx, c.Points[0].Leader, "k1", order("13700000001", items[0].ID, 1)); err != nil {
		t.Fatalf("an order at 03:15 EDT, before the cutoff of 02:30 read as 03:30 EDT: %v", err)
	}
	clk.Set(time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC))
	if _, _, err := in.Place(ctx, c.Points[0].Leader, "k2", order("13700000001", items[0].ID, 1)); !errors.Is(err, intake.ErrCutoffPassed) {
		t.Fatalf("an order at 03:30 EDT: %v", err)
	}
}

// TestAPreSaleFarAheadDoesNotStopIntake: a sale published beyond the nights
// whose partitions are made ahead brings its night's partitions, whose
// foreign keys lock orders, sale items and residents. Made inside the
// publish's transaction (the waves trigger), they were held until it
// committed and every order waited; Publish makes them first, in a
// transaction of their own (retention.EnsureNight), and the trigger then
// finds them made.
func TestAPreSaleFarAheadDoesNotStopIntake(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	egg := c.Product("EGG", fulfillment.Chilled, "")
	item := c.SaleItem(egg, 100, 1000)
	in := newIntake(t, c, clock.NewManual(fulfillmenttest.Now))
	far := fulfillment.Date{Time: fulfillmenttest.Date.AddDate(0, 0, 60)}
	if n, err := retention.EnsureNight(ctx, c.DB, far); err != nil || n == 0 {
		t.Fatalf("the far night's partitions: %d made, %v", n, err)
	}
	tx, err := c.DB.BeginTxx(ctx, nil) // the publish, still writing its offers
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck
	if _, err := catalog.PublishTx(ctx, tx, c.Warehouse, far, []catalog.Offer{{ProductID: egg, PriceFen: 100, StockCap: 10}}, fulfillmenttest.Now); err != nil {
		t.Fatal(err)
	}
	octx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := order("", item, 1)
	req.Resident = intake.ResidentRef{ID: c.Points[0].Resident}
	if _, _, err := in.Place(octx, c.Points[0].Leader, "tomorrow", req); err != nil {
		t.Fatalf("an order for tomorrow while a pre-sale for %s is being published: %v", far, err)
	}
}

// TestAnOrderReadsOnlyItsNightsPartitions: placing and cancelling an order
// read its lines (and their parcels, for the order's story) by order or
// line id alone, planning every night's partitions; they name the night.
func TestAnOrderReadsOnlyItsNightsPartitions(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	item := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 10)
	db, plans := c.Explained()
	c.DB = db // the intake's statements, explained from here
	in := newIntake(t, c, clock.NewManual(fulfillmenttest.Now))
	o, _, err := in.Place(ctx, c.Points[0].Leader, "k1", order("13700000001", item, 2))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.Cancel(ctx, c.Points[0].Leader, o.ID); err != nil {
		t.Fatal(err)
	}
	if plans.Count() == 0 {
		t.Fatal("no plan came back")
	}
	for _, q := range plans.Wide(1) {
		t.Errorf("scans every night's partitions: %s", q)
	}
}
