package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// Day is the demo city's day on an accelerated clock, from the evening's
// orders to the next evening's reminders, each step through the domain
// code the API runs: leaders order for their residents until the cutoff;
// the worker closes the wave and sends the purchase orders; the dock
// receives each at its delivery slot (Dock: a few lines short, a few units
// rejected) and closes it, so the night allocates, picks, routes and
// readies on its own; at 05:00 the trucks leave and reach their stops
// about when planned (some late); leaders receive, now and then with a
// damaged unit; residents collect over the morning, and those who did not
// are reminded in the evening.
type Day struct {
	Services
	// Accel is the services' clock, which the day runs on.
	Accel *clock.Accelerated
	Dock  Dock
	// Orders are placed through the evening at the first Points points (0: all).
	Orders, Points int
	// Skip sets the clock ahead to each next step instead of waiting for
	// it, so a test passes the day in seconds.
	Skip bool
	Seed uint64
}

// The day's hours, local time at the warehouse: the evening's orders begin
// at DayStarts on the day before delivery; trucks leave at dispatchAt;
// residents collect until collectUntil; reminders are sent at remindAt.
var (
	DayStarts    = clock.NewTimeOfDay(20, 0)
	dispatchAt   = clock.NewTimeOfDay(5, 0)
	collectFrom  = clock.NewTimeOfDay(8, 0)
	collectUntil = clock.NewTimeOfDay(13, 0)
	remindAt     = clock.NewTimeOfDay(19, 5)
)

// DayDate is the delivery date of the next demo day: tomorrow at the
// warehouse, or the first date after it whose wave has not closed, so a
// restarted `groupbuy dev` runs a new day rather than a finished one.
func DayDate(ctx context.Context, db sqlx.QueryerContext, clk clock.Clock) (fulfillment.Date, error) {
	date := Tomorrow(clk)
	w, err := pickup.WarehouseByCode(ctx, db, Warehouse.Code)
	if errors.Is(err, pickup.ErrWarehouseNotFound) {
		return date, nil
	}
	for ; err == nil; date.Time = date.AddDate(0, 0, 1) {
		var wv wave.Wave
		if wv, err = wave.Of(ctx, db, w.ID, date); err == nil && (wv.ID == 0 || wv.State == wave.Open) {
			return date, nil
		}
	}
	return date, err
}

// DayStart is when the demo day of delivery date begins: DayStarts on the
// evening before, at the demo warehouse.
func DayStart(date fulfillment.Date) time.Time {
	loc, _ := time.LoadLocation(Warehouse.TimeZone)
	return DayStarts.On(date.AddDate(0, 0, -1), loc)
}

// at is local time of day t on the delivery date.
func at(date fulfillment.Date, t clock.TimeOfDay, loc *time.Location) time.Time {
	return t.On(date.Time, loc)
}

// Run passes the day of the demo warehouse's delivery date and returns its wave.
func (d Day) Run(ctx context.Context, date fulfillment.Date) (wave.Wave, error) {
	w, err := pickup.WarehouseByCode(ctx, d.DB, Warehouse.Code)
	if err != nil {
		return wave.Wave{}, err
	}
	loc, err := w.Location()
	if err != nil {
		return wave.Wave{}, err
	}
	// Seeding took time on the running clock: the day starts now.
	d.Accel.Set(DayStart(date))
	rng := rand.New(rand.NewPCG(d.Seed, uint64(date.Unix())))
	residents, err := d.order(ctx, rng, w, date)
	if err != nil {
		return wave.Wave{}, fmt.Errorf("the evening's orders: %w", err)
	}
	wv, err := wave.Of(ctx, d.DB, w.ID, date)
	if err != nil || wv.ID == 0 {
		return wv, cmp.Or(err, errors.New("the day has no wave"))
	}
	if err := d.await(ctx, wv.CutoffAt.Add(time.Minute)); err != nil {
		return wv, err
	}
	purchased := func(w wave.Wave) bool { return w.PurchasedAt != nil || w.State != wave.Closed && w.State != wave.Open }
	if wv, err = d.waitWave(ctx, wv.ID, "the purchase orders", purchased); err != nil {
		return wv, err
	}
	if err := d.receive(ctx, wv.ID, date); err != nil {
		return wv, fmt.Errorf("the dock: %w", err)
	}
	if wv, err = d.waitWave(ctx, wv.ID, "the night's stages", func(w wave.Wave) bool { return w.State == wave.Ready }); err != nil {
		return wv, err
	}
	if err := d.await(ctx, at(date, dispatchAt, loc)); err != nil {
		return wv, err
	}
	if _, err := d.Deliveries.Dispatch(ctx, wv.ID, 0); err != nil {
		return wv, fmt.Errorf("dispatch: %w", err)
	}
	d.Log.Info("the trucks left", "wave", wv.ID)
	if err := d.lastMile(ctx, rng, wv.ID, date, loc, residents); err != nil {
		return wv, fmt.Errorf("the last mile: %w", err)
	}
	if err := d.await(ctx, at(date, remindAt, loc)); err != nil {
		return wv, err
	}
	res, err := d.Desk.Sweep(ctx)
	if err != nil {
		return wv, fmt.Errorf("the evening's reminders: %w", err)
	}
	d.Log.Info("the evening's reminders", "wave", wv.ID, "reminded", res.Reminded)
	return wave.Get(ctx, d.DB, wv.ID)
}

// await lets the clock reach t, or sets it there when the day skips.
func (d Day) await(ctx context.Context, t time.Time) error {
	if d.Skip {
		if d.Accel.Now().Before(t) {
			d.Accel.Set(t)
		}
		return nil
	}
	return d.Accel.Await(ctx, t)
}

// waitWave polls the wave until done, as long as ctx lasts.
func (d Day) waitWave(ctx context.Context, id int64, what string, done func(wave.Wave) bool) (wave.Wave, error) {
	for {
		w, err := wave.Get(ctx, d.DB, id)
		if err != nil || done(w) {
			return w, err
		}
		select {
		case <-ctx.Done():
			return w, fmt.Errorf("waiting for %s at %s: %w", what, w.State, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// order places the evening's orders, spread until a quarter of an hour
// before the cutoff, and returns the residents served at each point.
func (d Day) order(ctx context.Context, rng *rand.Rand, w pickup.Warehouse, date fulfillment.Date) (map[int64][]int64, error) {
	items, err := catalog.ListSaleItems(ctx, d.DB, w.ID, date)
	if err != nil {
		return nil, err
	}
	points, err := pickup.ListPoints(ctx, d.DB, w.ID)
	if err != nil {
		return nil, err
	}
	if d.Points > 0 && d.Points < len(points) {
		points = points[:d.Points]
	}
	if len(items) == 0 || len(points) == 0 {
		return nil, errors.New("no sale or no pickup points")
	}
	cutoff, err := w.Cutoff(date.Time)
	if err != nil {
		return nil, err
	}
	from := d.Accel.Now()
	span := cutoff.Add(-15 * time.Minute).Sub(from)
	residents := map[int64][]int64{}
	placed := 0
	for i := range d.Orders {
		if err := d.await(ctx, from.Add(span*time.Duration(i+1)/time.Duration(d.Orders+1))); err != nil {
			return nil, err
		}
		p := points[rng.IntN(len(points))]
		req := intake.OrderRequest{Resident: intake.ResidentRef{Phone: fmt.Sprintf("137%04d%04d", p.ID%10000, rng.IntN(8)), Name: "居民"},
			DeliveryDate: &date}
		for _, k := range rng.Perm(len(items))[:1+rng.IntN(3)] {
			req.Lines = append(req.Lines, intake.LineRequest{SaleItemID: items[k].ID, Quantity: int64(1 + rng.IntN(2))})
		}
		o, _, err := d.Intake.Place(ctx, p.LeaderID, fmt.Sprintf("day-%s-%d", date, i), req)
		if errors.Is(err, intake.ErrSoldOut) {
			continue // as in a real evening: the resident orders something else tomorrow
		}
		if errors.Is(err, intake.ErrCutoffPassed) {
			// A clock faster than the orders can be placed passed the cutoff.
			d.Log.Warn("the cutoff came before the evening's orders were all placed", "placed", placed, "of", d.Orders)
			break
		}
		if err != nil {
			return nil, err
		}
		if !slices.Contains(residents[p.ID], o.Resident.ID) {
			residents[p.ID] = append(residents[p.ID], o.Resident.ID)
		}
		placed++
	}
	d.Log.Info("the evening's orders", "date", date.String(), "orders", placed, "points", len(residents))
	return residents, nil
}

// receive runs the dock: each purchase order's scans at its expected time,
// then the order closed as received.
func (d Day) receive(ctx context.Context, waveID int64, date fulfillment.Date) error {
	wo, err := supply.ListPurchaseOrders(ctx, d.DB, waveID)
	if err != nil {
		return err
	}
	poOf := map[int64]int64{}
	var orders []supply.PurchaseOrder
	for _, po := range wo.Orders {
		if po.Latest && po.ClosedAt == nil {
			orders = append(orders, po)
			for _, l := range po.Lines {
				poOf[l.ID] = po.ID
			}
		}
	}
	slices.SortStableFunc(orders, func(a, b supply.PurchaseOrder) int { return a.ExpectedAt.Compare(b.ExpectedAt) })
	scans := map[int64][]DockScan{}
	for _, s := range d.Dock.Scans(wo, date) {
		scans[poOf[s.LineID]] = append(scans[poOf[s.LineID]], s)
	}
	var rejected int64
	for _, po := range orders {
		if err := d.await(ctx, po.ExpectedAt); err != nil {
			return err
		}
		for _, s := range scans[po.ID] {
			if _, _, err := d.Supply.Receive(ctx, s.LineID, s.Scan, "dock"); err != nil {
				return fmt.Errorf("scan %s: %w", s.Scan.ScanID, err)
			}
			rejected += s.Scan.Rejected
		}
		if _, err := d.Supply.Close(ctx, po.ID, supply.OutcomeReceived, "dock"); err != nil {
			return err
		}
	}
	d.Log.Info("the dock received", "wave", waveID, "purchase_orders", len(orders), "rejected_units", rejected)
	return nil
}

// step is one thing that happens on the last mile.
type step struct {
	at              time.Time
	kind            int // arrive, receive or collect
	route           int64
	seq             int
	point, resident int64
}

const (
	stepArrive = iota
	stepReceive
	stepCollect
)

// lastMile moves the trucks along their routes, has each leader receive
// (the first and every eighth after report a damaged unit), and residents
// collect over the morning (every tenth does not come).
func (d Day) lastMile(ctx context.Context, rng *rand.Rand, waveID int64, date fulfillment.Date, loc *time.Location, residents map[int64][]int64) error {
	plan, err := routeplan.ListRoutes(ctx, d.DB, waveID)
	if err != nil {
		return err
	}
	from, until := at(date, collectFrom, loc), at(date, collectUntil, loc)
	var steps []step
	residentsSeen := 0
	for _, r := range plan.Routes {
		late := time.Duration(0)
		for _, s := range r.Stops {
			// Traffic: most stops about on time, now and then a jam that the
			// rest of the route carries.
			if rng.IntN(10) == 0 {
				late += time.Duration(10+rng.IntN(30)) * time.Minute
			}
			arrive := s.ArrivalAt.Add(late + time.Duration(rng.IntN(7)-3)*time.Minute)
			receive := arrive.Add(time.Duration(5+rng.IntN(15)) * time.Minute)
			steps = append(steps, step{at: arrive, kind: stepArrive, route: r.ID, seq: s.Seq, point: s.PickupPointID},
				step{at: receive, kind: stepReceive, point: s.PickupPointID})
			for _, res := range residents[s.PickupPointID] {
				if residentsSeen++; residentsSeen%10 == 0 {
					continue
				}
				start := receive
				if start.Before(from) {
					start = from
				}
				t := start.Add(time.Duration(rng.Int64N(int64(max(until.Sub(start), time.Minute)))))
				steps = append(steps, step{at: t, kind: stepCollect, point: s.PickupPointID, resident: res})
			}
		}
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.kind, b.kind)) })
	leaders := map[int64]int64{}
	var reached, received, damaged, collected int
	for _, s := range steps {
		if err := d.await(ctx, s.at); err != nil {
			return err
		}
		leader, ok := leaders[s.point]
		if !ok {
			p, err := pickup.GetPoint(ctx, d.DB, s.point)
			if err != nil {
				return err
			}
			leader, leaders[s.point] = p.LeaderID, p.LeaderID
		}
		switch s.kind {
		case stepArrive:
			if _, err := d.Deliveries.Arrive(ctx, s.route, s.seq); err != nil {
				return err
			}
			reached++
		case stepReceive:
			ds, err := d.Deliveries.LeaderDeliveries(ctx, leader, date)
			if err != nil {
				return err
			}
			for _, dl := range ds {
				if dl.WaveID != waveID || dl.State == lastmile.DeliveryReceived {
					continue
				}
				var req lastmile.ReceiveRequest
				if len(dl.Lines) > 0 && received%8 == 0 {
					req.Lines = []lastmile.ReceiptLine{{SaleItemID: dl.Lines[0].SaleItemID, Damaged: 1}}
					damaged++
				}
				if _, err := d.Deliveries.Receive(ctx, leader, dl.ID, req); err != nil {
					return err
				}
				received++
			}
		case stepCollect:
			code, err := pickup.ResidentCode(ctx, d.DB, s.point, date.Time, s.resident)
			if errors.Is(err, pickup.ErrCodeNotFound) {
				continue // everything the resident ordered was cut or damaged
			}
			if err != nil {
				return err
			}
			if _, err := d.Desk.Collect(ctx, leader, code, nil); err != nil {
				return err
			}
			collected++
		}
	}
	d.Log.Info("the morning's deliveries", "wave", waveID, "stops_reached", reached, "received", received,
		"damaged_reports", damaged, "residents_collected", collected)
	return nil
}
