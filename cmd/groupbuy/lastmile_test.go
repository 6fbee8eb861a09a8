package main

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/testenv"
)

// lastMileCity is a test city whose wave is ready to dispatch, with a
// webhook receiver on loopback taking the notices.
type lastMileCity struct {
	*testCity
	wave     wave.Wave
	path     string
	receiver *webhook.Receiver
}

// newLastMileCity runs a night for 3 leaders, each with residents ordering
// eggs, rice and dumplings, through to ready; eggs arrive 2 short.
func newLastMileCity(t *testing.T) *lastMileCity {
	c := newTestCity(t, 3)
	egg, rice, dumpling := c.item("EGG"), c.item("RICE"), c.item("DUMPLING")
	c.addVans("冷藏车", 2)
	for l := range 3 {
		for i := range 3 {
			body := orderBody(fmt.Sprintf("1592%02d%05d", l, i), fmt.Sprintf("居民%d", i), egg.ID, 2, rice.ID, 1, dumpling.ID, int64(1+i))
			c.placeOrder(l, fmt.Sprintf("lm%d", i), body)
		}
	}
	m := &lastMileCity{testCity: c, receiver: c.notifyByWebhook("test-webhook-secret")}
	m.path = c.wavePath()
	if r := c.do("PUT", m.path+"/receipts", c.admin, map[string]any{"policy": "fcfs", "final": true,
		"items": []map[string]any{{"sale_item_id": egg.ID, "received": 16}}}); r.Status != http.StatusOK {
		t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
	m.wave = runNightToReady(t, c, m.path)
	return m
}

// deliveryOf returns leader l's delivery of the test date.
func (m *lastMileCity) deliveryOf(l int) lastmile.Delivery {
	m.t.Helper()
	var out struct{ Deliveries []lastmile.Delivery }
	r := m.do("GET", "/api/v1/leader/deliveries?date=2026-12-01", m.leaders[l], nil)
	r.json(m.t, &out)
	if r.Status != http.StatusOK || len(out.Deliveries) != 1 {
		m.t.Fatalf("deliveries of leader %d: %d %s", l, r.Status, r.Body)
	}
	return out.Deliveries[0]
}

// waitForNotices waits until the receiver holds n distinct notices whose
// keys start with prefix.
func (m *lastMileCity) waitForNotices(prefix string, n int) {
	m.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := 0
		for key := range m.receiver.Notices() {
			if strings.HasPrefix(key, prefix) {
				got++
			}
		}
		if got == n {
			return
		}
		if got > n || time.Now().After(deadline) {
			m.t.Fatalf("%d notices %s…, want %d", got, prefix, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestDispatchArrivalReceiptAndPickup(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	// Leaders see tomorrow's delivery before the trucks leave.
	d0 := m.deliveryOf(0)
	if d0.State != lastmile.DeliveryPending || d0.RouteCode == nil || len(d0.Bags) != 3 || len(d0.Lines) != 3 {
		t.Fatalf("delivery before dispatch: %+v", d0)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], map[string]any{"lines": []any{}}); r.Status != http.StatusConflict {
		t.Fatalf("receipt before dispatch: %d %s", r.Status, r.Body)
	}

	var plan routeplan.WaveRoutes
	c.do("GET", m.path+"/routes", c.admin, nil).json(t, &plan)
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/stops/1/arrive", plan.Routes[0].ID), c.staffToken("warehouse"), nil); r.Status != http.StatusConflict {
		t.Fatalf("arrival before dispatch: %d %s", r.Status, r.Body)
	}
	var wv wave.Wave
	r := c.do("POST", m.path+"/dispatch", c.staffToken("warehouse"), nil)
	r.json(t, &wv)
	if r.Status != http.StatusOK || wv.State != wave.Dispatched {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", m.path+"/dispatch", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch again: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", m.path+"/dispatch", c.leaders[0], nil); r.Status != http.StatusForbidden {
		t.Fatalf("a leader dispatching: %d %s", r.Status, r.Body)
	}

	// Leader 0 receives before the driver marks the stop: 1 egg missing, 1 dumpling damaged.
	egg, dumpling := c.item("EGG"), c.item("DUMPLING")
	receipt := map[string]any{"lines": []map[string]any{
		{"sale_item_id": egg.ID, "missing": 1},
		{"sale_item_id": dumpling.ID, "damaged": 1, "received": 5},
	}}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[1], receipt); r.Status != http.StatusNotFound {
		t.Fatalf("another leader's delivery: %d %s", r.Status, r.Body)
	}
	bad := map[string]any{"lines": []map[string]any{{"sale_item_id": dumpling.ID, "damaged": 1, "received": 6}}}
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], bad); r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "receipt_mismatch" {
		t.Fatalf("receipt that does not add up: %d %s", r.Status, r.Body)
	}
	var got lastmile.Delivery
	r = c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], receipt)
	r.json(t, &got)
	if r.Status != http.StatusOK || got.State != lastmile.DeliveryReceived {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	counts := func() string {
		return fmt.Sprintf("refunds=%d parcels=%d codes=%d outbox=%d", c.count("refunds"), c.count("parcel_lines"), c.count("pickup_codes"), c.count("outbox"))
	}
	before := counts()
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receive again: %d %s", r.Status, r.Body)
	}
	if after := counts(); after != before {
		t.Fatalf("receiving twice changed rows: %s, then %s", before, after)
	}
	// The latest order loses: resident 2 ordered last, so loses the egg and a dumpling.
	var lost []struct {
		Phone    string `db:"phone"`
		Reason   string `db:"reason"`
		Quantity int    `db:"quantity"`
		Amount   int64  `db:"amount_fen"`
	}
	if err := c.app.db.Select(&lost, `SELECT r.phone, f.reason, f.quantity, f.amount_fen FROM refunds f JOIN residents r ON r.id = f.resident_id
		WHERE f.reason IN ('missing', 'damaged') ORDER BY f.reason`); err != nil {
		t.Fatal(err)
	}
	if len(lost) != 2 || lost[0].Reason != "damaged" || lost[0].Phone != "15920000002" || lost[0].Amount != dumpling.PriceFen ||
		lost[1].Reason != "missing" || lost[1].Phone != "15920000002" || lost[1].Amount != egg.PriceFen {
		t.Fatalf("receipt refunds: %+v", lost)
	}

	// Every stop arrives: the wave is delivered.
	wh := c.staffToken("warehouse")
	for _, rt := range plan.Routes {
		if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/dispatch", rt.ID), wh, nil); r.Status != http.StatusOK {
			t.Fatalf("dispatch route: %d %s", r.Status, r.Body)
		}
		for _, s := range rt.Stops {
			if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/stops/%d/arrive", rt.ID, s.Seq), wh, nil); r.Status != http.StatusOK {
				t.Fatalf("arrive: %d %s", r.Status, r.Body)
			}
		}
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/routes/%d/stops/99/arrive", plan.Routes[0].ID), wh, nil); r.Status != http.StatusNotFound {
		t.Fatalf("arrival at no stop: %d %s", r.Status, r.Body)
	}
	c.do("GET", m.path, c.admin, nil).json(t, &wv)
	if wv.State != wave.Delivered {
		t.Fatalf("wave after every arrival: %s", wv.State)
	}
	if d := m.deliveryOf(1); d.State != lastmile.DeliveryArrived || d.ArrivedAt == nil {
		t.Fatalf("leader 1's delivery after arrival: %+v", d)
	}

	// Arrival notices reach the webhook, one per resident, with a code that opens their parcel.
	m.waitForNotices("arrival:2026-12-01:", 3)
	m.waitForNotices("refund:receipt:2026-12-01:", 1)
	if _, _, bad := m.receiver.Stats(); bad != 0 {
		t.Fatalf("%d notices with a bad signature", bad)
	}
	var arrivals []webhook.Notice
	for key, n := range m.receiver.Notices() {
		if strings.HasPrefix(key, "arrival:2026-12-01:") {
			arrivals = append(arrivals, n)
			if !strings.Contains(n.Text, "提货码"+n.Vars["code"]) || !strings.Contains(n.Text, "测试自提点0") || n.Vars["hours"] != "08:00-21:00" {
				t.Fatalf("arrival notice %s: %+v", key, n)
			}
		}
	}
	if len(arrivals) != 3 {
		t.Fatalf("%d arrival notices, want 3", len(arrivals))
	}
	code := arrivals[0].Vars["code"]
	var verified struct{ Parcels []lastmile.Parcel }
	r = c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": code})
	r.json(t, &verified)
	if r.Status != http.StatusOK || len(verified.Parcels) != 1 || verified.Parcels[0].ResidentID != arrivals[0].ResidentID ||
		len(verified.Parcels[0].Lines) == 0 || !strings.Contains(verified.Parcels[0].Phone, "****") {
		t.Fatalf("verify: %d %s", r.Status, r.Body)
	}
	// The code is no use at another leader's point.
	if r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[1], map[string]any{"code": code}); r.Status != http.StatusNotFound {
		t.Fatalf("code at another point: %d %s", r.Status, r.Body)
	}
	// Collect one line, then the rest; confirming again changes nothing.
	first := verified.Parcels[0].Lines[0].OrderLineID
	r = c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[0], map[string]any{"code": code, "order_line_ids": []int64{first}})
	r.json(t, &verified)
	if r.Status != http.StatusOK || verified.Parcels[0].Lines[0].State != lastmile.ParcelCollected || verified.Parcels[0].Lines[1].State != lastmile.ParcelReady {
		t.Fatalf("collect one line: %d %s", r.Status, r.Body)
	}
	for range 2 {
		r = c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[0], map[string]any{"code": code})
		r.json(t, &verified)
		for _, l := range verified.Parcels[0].Lines {
			if l.State != lastmile.ParcelCollected {
				t.Fatalf("collect all: %d %s", r.Status, r.Body)
			}
		}
	}
	var accruals int
	if err := c.app.db.Get(&accruals, `SELECT count(*) FROM commission_entries WHERE kind = 'accrual'`); err != nil {
		t.Fatal(err)
	}
	if accruals != len(verified.Parcels[0].Lines) {
		t.Fatalf("%d commission accruals for %d collected lines", accruals, len(verified.Parcels[0].Lines))
	}
}

func TestWrongPickupCodesAreRateLimited(t *testing.T) {
	m := newLastMileCity(t)
	c := m.testCity
	m.dispatch(c.admin)
	d := m.deliveryOf(0)
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d.ID), c.leaders[0], map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	var codes []string
	if err := c.app.db.Select(&codes, `SELECT code FROM pickup_codes`); err != nil {
		t.Fatal(err)
	}
	taken := map[string]bool{}
	for _, code := range codes {
		taken[code] = true
	}
	wrong := func(i int) string {
		for {
			code := fmt.Sprintf("%06d", 100000+i*7919%900000)
			if !taken[code] {
				return code
			}
			i++
		}
	}
	if r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": "12ab56"}); r.Status != http.StatusBadRequest {
		t.Fatalf("malformed code: %d %s", r.Status, r.Body)
	}
	for i := range 10 {
		if r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": wrong(i)}); r.Status != http.StatusNotFound {
			t.Fatalf("wrong code %d: %d %s", i, r.Status, r.Body)
		}
	}
	// The 11th try in the minute is refused, even with a right code.
	r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": codes[0]})
	if r.Status != http.StatusTooManyRequests || r.Header.Get("Retry-After") == "" || r.errorCode(t) != "too_many_attempts" {
		t.Fatalf("after 10 wrong codes: %d %s", r.Status, r.Body)
	}
	// Other leaders are not affected; the next minute the leader may try again.
	if r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[1], map[string]any{"code": wrong(50)}); r.Status != http.StatusNotFound {
		t.Fatalf("another leader: %d %s", r.Status, r.Body)
	}
	c.clock.Advance(time.Minute)
	if r := c.do("POST", "/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": codes[0]}); r.Status != http.StatusOK {
		t.Fatalf("a minute later: %d %s", r.Status, r.Body)
	}

	// Without Redis the wrong codes cannot be counted, and pickups go on.
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg := c.app.cfg
	cfg.RedisURL = fmt.Sprintf("redis://127.0.0.1:%d/0", port)
	a := startApp(t, cfg, c.app.log, c.clock)
	noRedis := apiServer(t, a)
	for i, code := range []string{wrong(60), codes[0]} {
		t0 := time.Now()
		r := doHTTP(t, noRedis.Client(), "POST", noRedis.URL+"/api/v1/leader/pickups/verify", c.leaders[0], map[string]any{"code": code})
		if want := []int{http.StatusNotFound, http.StatusOK}[i]; r.Status != want || time.Since(t0) > 2*time.Second {
			t.Fatalf("verify without Redis: %d in %v, want %d %s", r.Status, time.Since(t0), want, r.Body)
		}
	}
}

func TestUncollectedParcelsAreRemindedThenReturned(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	m.dispatch(c.admin)
	c.clock.Set(time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)) // 09:00 in Shanghai on the delivery day
	d := m.deliveryOf(2)
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d.ID), c.leaders[2], map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	ctx := context.Background()
	sweep := func(at time.Time) lastmile.SweepResult {
		t.Helper()
		c.clock.Set(at)
		res, err := c.app.desk.Sweep(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	// No reminder in the afternoon; one each evening (19:00-21:00 Shanghai), however often the sweep runs.
	if res := sweep(time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)); res.Reminded != 0 {
		t.Fatalf("afternoon sweep: %+v", res)
	}
	for range 2 {
		if res := sweep(time.Date(2026, 12, 1, 11, 30, 0, 0, time.UTC)); res.Returned != 0 {
			t.Fatalf("evening sweep: %+v", res)
		}
	}
	var reminders int
	if err := c.app.db.Get(&reminders, `SELECT count(*) FROM outbox WHERE kind = 'reminder'`); err != nil {
		t.Fatal(err)
	}
	if reminders != 3 {
		t.Fatalf("%d reminders after the first evening, want one per resident (3)", reminders)
	}
	// Collect one resident's parcel; the other two go back after the third day.
	var code string
	if err := c.app.db.Get(&code, `SELECT code FROM pickup_codes ORDER BY resident_id LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[2], map[string]any{"code": code}); r.Status != http.StatusOK {
		t.Fatalf("collect: %d %s", r.Status, r.Body)
	}
	if res := sweep(time.Date(2026, 12, 4, 15, 59, 0, 0, time.UTC)); res.Returned != 0 { // 23:59 on the third day after
		t.Fatalf("returned too early: %+v", res)
	}
	res := sweep(time.Date(2026, 12, 4, 16, 1, 0, 0, time.UTC))
	again := sweep(time.Date(2026, 12, 4, 16, 6, 0, 0, time.UTC))
	var refunded, waiting int64
	if err := c.app.db.Get(&refunded, `SELECT coalesce(sum(quantity), 0) FROM refunds WHERE reason = 'returned'`); err != nil {
		t.Fatal(err)
	}
	if err := c.app.db.Get(&waiting, `SELECT coalesce(sum(ready), 0) FROM parcel_lines WHERE state = 'returned'`); err != nil {
		t.Fatal(err)
	}
	var returns int
	if err := c.app.db.Get(&returns, `SELECT count(*) FROM outbox WHERE kind = 'return'`); err != nil {
		t.Fatal(err)
	}
	if res.Returned == 0 || again.Returned != 0 || refunded != waiting || returns != 2 {
		t.Fatalf("returns: first %+v, again %+v; %d units refunded for %d returned; %d return notices", res, again, refunded, waiting, returns)
	}
	// A returned parcel cannot be collected any more.
	var returnedCode string
	if err := c.app.db.Get(&returnedCode, `SELECT code FROM pickup_codes ORDER BY resident_id DESC LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	var after struct{ Parcels []lastmile.Parcel }
	c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[2], map[string]any{"code": returnedCode}).json(t, &after)
	for _, l := range after.Parcels[0].Lines {
		if l.State != lastmile.ParcelReturned {
			t.Fatalf("returned line collected: %+v", l)
		}
	}
}
