package lastmile_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/lastmile/lastmiletest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// arrived seeds a wave whose trucks have left: point 0 ordered 2 and then 3
// eggs, and the night sorted the 5 into its bag; its delivery is on the way.
func arrived(t *testing.T) (c *fulfillmenttest.City, deliveryID int64, egg int64) {
	t.Helper()
	c = fulfillmenttest.New(t, 2)
	egg = c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 1000, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 2})
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 3})
	id := c.Wave()
	c.Exec(`UPDATE waves SET state = 'dispatched' WHERE id = $1`, id)
	c.Exec(`INSERT INTO sort_lines (wave_id, pickup_point_id, zone, sale_item_ids, quantities, delivery_date) VALUES ($1, $3, 'chilled', ARRAY[$2::bigint], '{5}', $4)`,
		id, egg, c.Points[0].ID, fulfillmenttest.Date)
	c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, 'chilled', 5, 1, 2500, 2500)`,
		id, c.Points[0].ID)
	if err := pg.InTx(context.Background(), c.DB, func(tx *sqlx.Tx) error {
		return lastmile.MakeDeliveries(context.Background(), tx, id)
	}); err != nil {
		t.Fatal(err)
	}
	c.Exec(`UPDATE deliveries SET state = 'dispatched' WHERE wave_id = $1`, id)
	return c, c.Count(`SELECT id FROM deliveries WHERE wave_id = $1`, id), egg
}

// received is arrived with the delivery received whole by point 0's leader
// the next day, on the clock it returns.
func received(t *testing.T) (*fulfillmenttest.City, *clock.Manual) {
	t.Helper()
	c, delivery, _ := arrived(t)
	clk := clock.NewManual(fulfillmenttest.Now.Add(24 * time.Hour))
	if _, err := lastmile.NewService(c.DB, clk, refund.Metrics{}).Receive(context.Background(), c.Points[0].Leader, delivery, lastmile.ReceiveRequest{}); err != nil {
		t.Fatal(err)
	}
	return c, clk
}

// TestReceiptRefundsTheLatestOrderAndTheDeskCollects: the leader reports
// one egg missing; the latest order loses it and is refunded, the resident
// gets a code, and collecting with it marks the parcel collected and
// accrues the leader's commission once.
func TestReceiptRefundsTheLatestOrderAndTheDeskCollects(t *testing.T) {
	ctx := context.Background()
	c, delivery, egg := arrived(t)
	clk := clock.NewManual(fulfillmenttest.Now.Add(24 * time.Hour))
	svc := lastmile.NewService(c.DB, clk, refund.Metrics{})
	if _, err := svc.Receive(ctx, c.Points[1].Leader, delivery, lastmile.ReceiveRequest{}); !errors.Is(err, lastmile.ErrDeliveryNotFound) {
		t.Fatalf("receipt by another point's leader: %v", err)
	}
	d, err := svc.Receive(ctx, c.Points[0].Leader, delivery, lastmile.ReceiveRequest{Lines: []lastmile.ReceiptLine{{SaleItemID: egg, Missing: 1}}})
	if err != nil || d.State != lastmile.DeliveryReceived {
		t.Fatalf("receive: %+v (%v)", d, err)
	}
	var ready []int64
	if err := c.DB.Select(&ready, `SELECT ready FROM parcel_lines ORDER BY order_line_id`); err != nil {
		t.Fatal(err)
	}
	if len(ready) != 2 || ready[0] != 2 || ready[1] != 2 {
		t.Fatalf("parcel lines ready %v, want [2 2]: the later order lost the missing egg", ready)
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE reason = 'missing' AND quantity = 1 AND amount_fen = 1000`); n != 1 {
		t.Fatalf("%d refunds of the missing egg, want 1", n)
	}
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	if _, err := desk.Verify(ctx, c.Points[1].Leader, code); !errors.Is(err, lastmile.ErrUnknownCode) {
		t.Fatalf("another point's leader verifies the code: %v", err)
	}
	parcels, err := desk.Verify(ctx, c.Points[0].Leader, code)
	if err != nil || len(parcels) != 1 || len(parcels[0].Lines) != 2 || parcels[0].Lines[0].State != lastmile.ParcelReady {
		t.Fatalf("verify: %+v (%v)", parcels, err)
	}
	for range 2 {
		parcels, err = desk.Collect(ctx, c.Points[0].Leader, code, nil)
		if err != nil || parcels[0].Lines[0].State != lastmile.ParcelCollected || parcels[0].Lines[1].State != lastmile.ParcelCollected {
			t.Fatalf("collect: %+v (%v)", parcels, err)
		}
	}
	// 4 eggs at 10 yuan, at the default rate of 10 %, booked once.
	if net := c.Count(`SELECT coalesce(sum(amount_fen), 0) FROM commission_entries WHERE leader_id = $1`, c.Points[0].Leader); net != 400 {
		t.Fatalf("commission %d fen, want 400", net)
	}
}

// TestDeskHandsOverLessWhatWasRefundedAfterSale: an egg refunded by an
// approved after-sales claim before collection is not handed over: the desk
// shows the line with one egg less and says why, collecting books the
// commission on what was handed over, and a later look shows the same.
func TestDeskHandsOverLessWhatWasRefundedAfterSale(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	var line struct {
		ID      int64 `db:"id"`
		OrderID int64 `db:"order_id"`
		WaveID  int64 `db:"wave_id"`
	}
	if err := c.DB.Get(&line, `SELECT ol.id, ol.order_id, d.wave_id FROM order_lines ol JOIN parcel_lines pl ON pl.order_line_id = ol.id
		JOIN deliveries d ON d.id = pl.delivery_id WHERE ol.quantity = 3`); err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		_, err := refund.Add(ctx, tx, nil, refund.Row{WaveID: line.WaveID, OrderID: line.OrderID, LineID: line.ID, ResidentID: c.Points[0].Resident,
			Reason: fulfillment.ReasonAfterSale, Quantity: 1, AmountFen: 1000}, clk.Now())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	quantities := func(ps []lastmile.Parcel) (got [][2]int64) {
		for _, l := range ps[0].Lines {
			got = append(got, [2]int64{l.Quantity, l.Refunded})
		}
		return got
	}
	want := [][2]int64{{2, 0}, {2, 1}}
	parcels, err := desk.Verify(ctx, c.Points[0].Leader, code)
	if err != nil || len(parcels) != 1 || fmt.Sprint(quantities(parcels)) != fmt.Sprint(want) {
		t.Fatalf("verify: %+v (%v), want quantity and refunded %v", parcels, err, want)
	}
	clk.Advance(time.Hour)
	if parcels, err = desk.Collect(ctx, c.Points[0].Leader, code, nil); err != nil || fmt.Sprint(quantities(parcels)) != fmt.Sprint(want) {
		t.Fatalf("collect: %+v (%v), want %v", parcels, err, want)
	}
	// 4 eggs handed over at 10 yuan, at the default rate of 10 %.
	if net := c.Count(`SELECT coalesce(sum(amount_fen), 0) FROM commission_entries WHERE leader_id = $1`, c.Points[0].Leader); net != 400 {
		t.Fatalf("commission %d fen, want 400", net)
	}
}

// TestSweepReturnsWhatNobodyCollected: after the last day the parcel goes
// back and is refunded, once.
func TestSweepReturnsWhatNobodyCollected(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	clk.Set(fulfillmenttest.Now.Add(5 * 24 * time.Hour))
	for i, want := range []int64{2, 0} {
		res, err := desk.Sweep(ctx)
		if err != nil || res.Returned != want {
			t.Fatalf("sweep %d: %+v (%v), want %d returned", i, res, err, want)
		}
	}
	if n := c.Count(`SELECT sum(quantity) FROM refunds WHERE reason = 'returned'`); n != 5 {
		t.Fatalf("%d units refunded as returned, want 5", n)
	}
}

// TestReceiptsOfArrivedStopsGoSideBySide: while another leader's receipt
// holds the wave (a share lock, taken here by hand), a delivery whose stop
// the driver has marked is received at once; one not yet arrived, which may
// be the wave's last stop and mark it delivered, waits for the wave.
func TestReceiptsOfArrivedStopsGoSideBySide(t *testing.T) {
	c, id, _ := arrived(t)
	svc := lastmile.NewService(c.DB, clock.NewManual(fulfillmenttest.Now), refund.Metrics{})
	ctx := context.Background()
	other, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Rollback()
	if _, err := other.ExecContext(ctx, `SELECT 1 FROM waves w JOIN deliveries d ON d.wave_id = w.id WHERE d.id = $1 FOR SHARE OF w`, id); err != nil {
		t.Fatal(err)
	}
	wait, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	if _, err := svc.Receive(wait, c.Points[0].Leader, id, lastmile.ReceiveRequest{}); err == nil {
		t.Fatal("a delivery not yet arrived was received while another receipt held the wave")
	}
	c.Exec(`UPDATE deliveries SET state = 'arrived', arrived_at = $2 WHERE id = $1`, id, fulfillmenttest.Now)
	soon, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	t0 := time.Now()
	d, err := svc.Receive(soon, c.Points[0].Leader, id, lastmile.ReceiveRequest{})
	if err != nil || d.State != lastmile.DeliveryReceived || time.Since(t0) > 2*time.Second {
		t.Fatalf("receive of an arrived delivery beside another receipt: %+v (%v) after %s", d, err, time.Since(t0))
	}
}

// TestACodeOfTwoResidentsCollectsOnlyTheLinesNamed: a code issued before
// codes were unique across dates may be resident B's of yesterday and
// resident A's of today. Verify shows both, with their names; collecting
// without naming lines is refused, and naming A's lines collects those only.
func TestACodeOfTwoResidentsCollectsOnlyTheLinesNamed(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	b := c.ID(`INSERT INTO residents (phone, name, pickup_point_id) VALUES ('13811112222', '居民B', $1) RETURNING id`, c.Points[0].ID)
	yesterday := fulfillmenttest.Date.AddDate(0, 0, -1)
	c.Exec(`SELECT night_partitions_ensure($1)`, yesterday)
	c.Exec(`INSERT INTO pickup_codes (pickup_point_id, delivery_date, resident_id, code, created_at) VALUES ($1, $2, $3, $4, $5)`,
		c.Points[0].ID, yesterday, b, code, fulfillmenttest.Now)
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	ps, err := desk.Verify(ctx, c.Points[0].Leader, code)
	if err != nil || len(ps) != 2 || ps[0].ResidentID != b || ps[1].ResidentID != c.Points[0].Resident || len(ps[1].Lines) != 2 {
		t.Fatalf("verify: %+v %v", ps, err)
	}
	if _, err := desk.Collect(ctx, c.Points[0].Leader, code, nil); !errors.Is(err, lastmile.ErrCodeAmbiguous) {
		t.Fatalf("collect without lines: %v", err)
	}
	if n := c.Count(`SELECT count(*) FROM parcel_lines WHERE state = 'collected'`); n != 0 {
		t.Fatalf("%d lines collected by an ambiguous code", n)
	}
	line := ps[1].Lines[0].OrderLineID
	if _, err := desk.Collect(ctx, c.Points[0].Leader, code, []int64{line}); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(`SELECT count(*) FROM parcel_lines WHERE state = 'collected' AND order_line_id = $1`, line); n != 1 ||
		c.Count(`SELECT count(*) FROM parcel_lines WHERE state = 'collected'`) != 1 {
		t.Fatalf("naming one line collected %d lines", c.Count(`SELECT count(*) FROM parcel_lines WHERE state = 'collected'`))
	}
}

// TestSweepWaitingForAnApprovalRefundsWhatIsLeft: a claim's approval
// refunds 2 of a line's 3 units while the return sweep waits for the line's
// lock; the sweep then returns and refunds the 1 unit left, not all 3.
func TestSweepWaitingForAnApprovalRefundsWhatIsLeft(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	line := c.Count(`SELECT id FROM order_lines WHERE quantity = 3`)
	clk.Set(fulfillmenttest.Now.Add(5 * 24 * time.Hour)) // past the last day
	desk := lastmiletest.NewDesk(t, c.DB, clk)
	tx, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := commission.RefundClaim(ctx, tx, refund.Metrics{}, line, 2, clk.Now()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := desk.Sweep(ctx); done <- err }()
	for i := 0; c.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) == 0; i++ {
		if i > 250 {
			t.Fatal("the sweep never waited for the approval's lock")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var got []string
	if err := c.DB.Select(&got, `SELECT reason || ' ' || quantity || ' ' || amount_fen FROM refunds WHERE order_line_id = $1 ORDER BY id`, line); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[after_sale 2 2000 returned 1 1000]" {
		t.Fatalf("refunds of the line of 3 at 1000 fen: %v", got)
	}
}

// lockWaiters counts the backends of the test database waiting for a lock.
func lockWaiters(c *fulfillmenttest.City) int64 {
	return c.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)
}

// TestAnApprovalThatWaitedForTheCollectionIsNotBeforeIt: a claim of 1 egg
// of a line of 3 is approved while the desk is collecting the line (the
// approval waits for the parcel line's lock, which the collection holds).
// The resident took all 3 eggs; the refund came after. The desk and the
// wave's outcome must still say 3 (5 in all) were handed over.
func TestAnApprovalThatWaitedForTheCollectionIsNotBeforeIt(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	line := c.Count(`SELECT id FROM order_lines WHERE quantity = 3`)
	claims := aftersale.NewService(c.DB, clk, aftersale.Options{})
	claim, err := claims.File(ctx, c.Points[0].Leader, aftersale.Filing{LineID: line, Reason: aftersale.Damaged, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	var code string
	if err := c.DB.Get(&code, `SELECT code FROM pickup_codes WHERE resident_id = $1`, c.Points[0].Resident); err != nil {
		t.Fatal(err)
	}
	desk := lastmiletest.NewDesk(t, c.DB, clk)

	// Something else holds the parcel line for a moment (here by hand).
	hold, err := c.DB.BeginTxx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Rollback()
	if _, err := hold.ExecContext(ctx, `SELECT 1 FROM parcel_lines WHERE order_line_id = $1 FOR UPDATE`, line); err != nil {
		t.Fatal(err)
	}
	collected := make(chan error, 1)
	go func() { _, err := desk.Collect(ctx, c.Points[0].Leader, code, nil); collected <- err }()
	for i := 0; lockWaiters(c) < 1; i++ {
		if i > 250 {
			t.Fatal("the collection never waited")
		}
		time.Sleep(20 * time.Millisecond)
	}
	approved := make(chan error, 1)
	go func() { _, err := claims.Approve(ctx, claim.ID, "ops"); approved <- err }()
	for i := 0; lockWaiters(c) < 2; i++ {
		if i > 250 {
			t.Fatal("the approval never waited")
		}
		time.Sleep(20 * time.Millisecond)
	}
	clk.Advance(time.Second) // the collection goes first, a second later
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-collected; err != nil {
		t.Fatal(err)
	}
	if err := <-approved; err != nil {
		t.Fatal(err)
	}
	if n := c.Count(`SELECT count(*) FROM parcel_lines WHERE state = 'collected'`); n != 2 {
		t.Fatalf("%d lines collected, want 2", n)
	}
	var times struct {
		Collected time.Time `db:"collected_at"`
		Refunded  time.Time `db:"created_at"`
	}
	if err := c.DB.Get(&times, `SELECT pl.collected_at, f.created_at FROM parcel_lines pl JOIN refunds f ON f.order_line_id = pl.order_line_id
		WHERE pl.order_line_id = $1 AND f.reason = 'after_sale'`, line); err != nil {
		t.Fatal(err)
	}
	if !times.Refunded.After(times.Collected) {
		t.Errorf("collected at %s, refunded after sale at %s: before it", times.Collected, times.Refunded)
	}
	ps, err := desk.Verify(ctx, c.Points[0].Leader, code)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range ps[0].Lines {
		if l.OrderLineID == line && (l.Quantity != 3 || l.Refunded != 0) {
			t.Errorf("desk: the line of 3 handed over %d, refunded before collection %d; want 3 and 0 (the refund came after)", l.Quantity, l.Refunded)
		}
	}
	o, err := lastmile.WaveOutcome(ctx, c.DB, c.Count(`SELECT id FROM waves`), fulfillmenttest.Date)
	if err != nil {
		t.Fatal(err)
	}
	if o.UnitsCollected != 5 || o.UnitsReady != 5 {
		t.Errorf("outcome: %d units ready, %d collected; want 5 and 5 (the resident took all 5 eggs)", o.UnitsReady, o.UnitsCollected)
	}
}

// readyNight is a ready wave of two points: point 0 ordered 3 eggs and
// its route R01 stops there; point 1 ordered 4 and no route serves it.
func readyNight(t *testing.T) (c *fulfillmenttest.City, id, route int64, svc *lastmile.Service) {
	t.Helper()
	ctx := context.Background()
	c = fulfillmenttest.New(t, 2)
	egg := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 1000, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 3})
	c.Order(1, fulfillmenttest.Line{SaleItem: egg, Quantity: 4})
	id = c.Wave()
	for i, q := range []int64{3, 4} {
		c.Exec(`INSERT INTO sort_lines (wave_id, pickup_point_id, zone, sale_item_ids, quantities, delivery_date) VALUES ($1, $3, 'chilled', ARRAY[$2::bigint], ARRAY[$5::int], $4)`,
			id, egg, c.Points[i].ID, fulfillmenttest.Date, q)
		c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, 'chilled', $3, 1, 500, 500)`,
			id, c.Points[i].ID, q)
	}
	van := c.Van()
	route = c.ID(`INSERT INTO routes (wave_id, route_no, code, vehicle_type_id, stops, weight_g, volume_ml, distance_m, departure_at, return_at, cost_fen)
		VALUES ($1, 1, 'R01', $2, 1, 1000, 1000, 1000, $3, $3, 0) RETURNING id`, id, van, fulfillmenttest.Now)
	c.Exec(`INSERT INTO route_stops (route_id, seq, pickup_point_id, arrival_at, start_at, departure_at, weight_g, volume_ml, bags)
		VALUES ($1, 1, $2, $3, $3, $3, 500, 500, 1)`, route, c.Points[0].ID, fulfillmenttest.Now)
	c.Exec(`INSERT INTO unserved_stops (wave_id, pickup_point_id, reason) VALUES ($1, $2, 'receiving hours miss the window')`, id, c.Points[1].ID)
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { return lastmile.MakeDeliveries(ctx, tx, id) }); err != nil {
		t.Fatal(err)
	}
	c.Exec(`UPDATE waves SET state = 'ready' WHERE id = $1`, id)
	return c, id, route, lastmile.NewService(c.DB, clock.NewManual(fulfillmenttest.Now.Add(20*time.Hour)), refund.Metrics{})
}

// TestThePointsNoRouteServesAreReceived: the night picked and bagged a
// point's eggs though no route serves it. The wave's dispatch sends its
// delivery too (however ops take the bags there), so its leader receives
// it, and the resident's eggs wait as parcels; it stayed pending, and 4
// eggs paid for ended neither ready, collected, returned nor refunded.
func TestThePointsNoRouteServesAreReceived(t *testing.T) {
	ctx := context.Background()
	c, id, route, svc := readyNight(t)
	if _, err := svc.Dispatch(ctx, id, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Arrive(ctx, route, 1); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(`SELECT count(*) FROM waves WHERE id = $1 AND state = 'delivered'`, id); n != 1 {
		t.Fatalf("wave not delivered")
	}
	for _, p := range []int{0, 1} {
		d := c.Count(`SELECT id FROM deliveries WHERE pickup_point_id = $1`, c.Points[p].ID)
		if _, err := svc.Receive(ctx, c.Points[p].Leader, d, lastmile.ReceiveRequest{}); err != nil {
			t.Fatalf("point %d receives delivery %d: %v", p, d, err)
		}
	}
	if n := c.Count(`SELECT coalesce(sum(ready), 0) FROM parcel_lines pl JOIN order_lines ol ON ol.id = pl.order_line_id
		JOIN orders o ON o.id = ol.order_id WHERE o.pickup_point_id = $1`, c.Points[1].ID); n != 4 {
		t.Fatalf("point 1's 4 eggs: %d waiting as parcels", n)
	}
}

// TestTheSecondDeliveryOfADayTellsItsRefunds: a pickup point moved from
// warehouse A to warehouse B (saving it with another warehouse_id) while
// both took orders for the same delivery date gets two deliveries that day,
// which the code expects ("a second delivery of the day sends the same
// code"). Each receipt has an egg missing and refunds it; the resident must
// hear of both refunds (1,000 fen each), but the second notice has the
// first's key (refund:receipt:<date>:<point>:<resident>) and is dropped.
func TestTheSecondDeliveryOfADayTellsItsRefunds(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	product := c.Product("EGG", fulfillment.Chilled, "")
	eggA := c.SaleItem(product, 1000, 100)
	c.Order(0, fulfillmenttest.Line{SaleItem: eggA, Quantity: 2})
	waveA := c.Wave()
	whB := c.ID(`INSERT INTO warehouses (code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
		VALUES ('WB', '二仓', '仓库路2号', 31.20, 121.50, 'Asia/Shanghai', '23:00', '07:00', '11:00') RETURNING id`)
	waveB := c.ID(`INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id`,
		whB, fulfillmenttest.Date, fulfillmenttest.Cutoff, fulfillmenttest.Now)
	eggB := c.ID(`INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, created_at, updated_at)
		VALUES ($1, $2, $3, 1000, 100, $4, $4) RETURNING id`, whB, product, fulfillmenttest.Date, fulfillmenttest.Now)
	p := c.Points[0]
	c.Exec(`UPDATE pickup_points SET warehouse_id = $2 WHERE id = $1`, p.ID, whB)
	order := c.ID(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key,
		request_hash, total_fen, created_at) VALUES ($1, $2, $3, $4, $5, 'placed', 'seed-b', '\x00', 3000, $6) RETURNING id`,
		p.Leader, p.ID, p.Resident, whB, fulfillmenttest.Date, fulfillmenttest.Now.Add(time.Minute))
	c.Exec(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date) VALUES ($1, $2, 3, 1000, $3)`,
		order, eggB, fulfillmenttest.Date)
	clk := clock.NewManual(fulfillmenttest.Now.Add(24 * time.Hour))
	svc := lastmile.NewService(c.DB, clk, refund.Metrics{})
	for _, w := range []struct{ wave, item, units int64 }{{waveA, eggA, 2}, {waveB, eggB, 3}} {
		c.Exec(`INSERT INTO sort_lines (wave_id, pickup_point_id, zone, sale_item_ids, quantities, delivery_date) VALUES ($1, $3, 'chilled', ARRAY[$2::bigint], ARRAY[$5::int], $4)`,
			w.wave, w.item, p.ID, fulfillmenttest.Date, w.units)
		c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, 'chilled', $3, 1, 500, 500)`,
			w.wave, p.ID, w.units)
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { return lastmile.MakeDeliveries(ctx, tx, w.wave) }); err != nil {
			t.Fatal(err)
		}
		c.Exec(`UPDATE deliveries SET state = 'dispatched' WHERE wave_id = $1`, w.wave)
		d := c.Count(`SELECT id FROM deliveries WHERE wave_id = $1`, w.wave)
		if _, err := svc.Receive(ctx, p.Leader, d, lastmile.ReceiveRequest{Lines: []lastmile.ReceiptLine{{SaleItemID: w.item, Missing: 1}}}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Hour)
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE reason = 'missing' AND resident_id = $1`, p.Resident); n != 2 {
		t.Fatalf("%d missing refunds, want 2", n)
	}
	told := c.Count(`SELECT coalesce(sum((payload->>'amount_fen')::bigint), 0) FROM outbox WHERE resident_id = $1 AND kind = 'refund'`, p.Resident)
	if told != 2000 {
		t.Fatalf("the resident's refund notices tell %d fen of the 2000 fen refunded at the two receipts", told)
	}
	// Nobody collects: both deliveries' parcels go back, 1 egg and 2.
	clk.Set(fulfillmenttest.Now.Add(10 * 24 * time.Hour))
	if _, err := lastmiletest.NewDesk(t, c.DB, clk).Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	returned := c.Count(`SELECT coalesce(sum(amount_fen), 0) FROM refunds WHERE reason = 'returned' AND resident_id = $1`, p.Resident)
	told = c.Count(`SELECT coalesce(sum((payload->>'amount_fen')::bigint), 0) FROM outbox WHERE resident_id = $1 AND kind = 'return'`, p.Resident)
	if returned != 3000 || told != returned {
		t.Fatalf("the resident's return notices tell %d fen of the %d fen refunded for the parcels returned", told, returned)
	}
}

// TestAnArrivalWaitingBehindTheDispatchFindsItDispatched: a driver's
// arrival that waits for the wave behind the dispatch of its route reads
// the route after the wait: it is dispatched by then, not 409.
func TestAnArrivalWaitingBehindTheDispatchFindsItDispatched(t *testing.T) {
	ctx := context.Background()
	c, id, route, svc := readyNight(t)
	hold := c.DB.MustBegin()
	defer hold.Rollback()
	hold.MustExec(`SELECT 1 FROM waves WHERE id = $1 FOR NO KEY UPDATE`, id)
	waiting := func(n int64) {
		for c.Count(`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`) < n {
			time.Sleep(5 * time.Millisecond)
		}
	}
	dispatched, arrived := make(chan error, 1), make(chan error, 1)
	go func() { _, err := svc.Dispatch(ctx, id, 0); dispatched <- err }()
	waiting(1)
	go func() { _, err := svc.Arrive(ctx, route, 1); arrived <- err }()
	waiting(2)
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := <-dispatched; err != nil {
		t.Fatal(err)
	}
	if err := <-arrived; err != nil {
		t.Fatalf("an arrival behind its route's dispatch: %v", err)
	}
}

// TestASweepGoesOnPastAFailingWarehouse: one warehouse that cannot be
// swept (here a time zone the server does not know) is reported, and the
// others' parcels are still returned.
func TestASweepGoesOnPastAFailingWarehouse(t *testing.T) {
	ctx := context.Background()
	c, clk := received(t)
	c.Exec(`INSERT INTO warehouses (id, code, name, address, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end)
		VALUES (0, 'AAA', '火星仓', '奥林匹斯山', 31.2, 121.5, 'Mars/Olympus', '23:00', '07:00', '11:00')`) // swept first
	clk.Set(fulfillmenttest.Now.Add(10 * 24 * time.Hour)) // past the parcels' last day
	res, err := lastmiletest.NewDesk(t, c.DB, clk).Sweep(ctx)
	if err == nil || !strings.Contains(err.Error(), "AAA") || res.Returned == 0 {
		t.Fatalf("sweep: %+v %v; want the parcels returned and warehouse AAA reported", res, err)
	}
}
