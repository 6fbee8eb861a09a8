package commission

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// commissionCity is the seeded city (fulfillmenttest), into which tests put
// order lines in any parcel state directly, as the collect flow would leave
// them; its leaders are the city's points.
type commissionCity struct {
	*fulfillmenttest.City
	t         *testing.T
	db        *sqlx.DB
	now       time.Time
	date      fulfillment.Date
	warehouse int64
	leaders   []commissionLeader
	seq       int
}

type commissionLeader struct{ ID, Point, Resident int64 }

var commissionDate = fulfillmenttest.Date

func newCommissionCity(t *testing.T, leaders int) *commissionCity {
	t.Helper()
	city := fulfillmenttest.New(t, leaders)
	c := &commissionCity{City: city, t: t, db: city.DB, now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), date: commissionDate,
		warehouse: city.Warehouse}
	for _, p := range city.Points {
		c.leaders = append(c.leaders, commissionLeader{ID: p.Leader, Point: p.ID, Resident: p.Resident})
	}
	return c
}

func addDays(d fulfillment.Date, n int) fulfillment.Date {
	return fulfillment.Date{Time: d.AddDate(0, 0, n)}
}

// product adds a product of a category ("" for none).
func (c *commissionCity) product(sku, category string) int64 {
	return c.ID(`INSERT INTO products (sku, name, unit, weight_g, volume_ml, zone, bin, category)
		VALUES ($1, $2, '份', 500, 500, 'ambient', 'A-01', $3) RETURNING id`, sku, "商品"+sku, category)
}

// line adds an order line of one unit-priced product for the leader on date,
// with a parcel line of ready units in state ("" for no parcel line at all).
func (c *commissionCity) line(leader int, date fulfillment.Date, product, priceFen, ready int64, state string) int64 {
	c.t.Helper()
	l := c.leaders[leader]
	c.seq++
	c.Exec(`INSERT INTO waves (warehouse_id, delivery_date, state, cutoff_at, created_at, updated_at)
		VALUES ($1, $2, 'delivered', $3, $3, $3) ON CONFLICT (warehouse_id, delivery_date) DO NOTHING`, c.warehouse, date, c.now)
	waveID := c.ID(`SELECT id FROM waves WHERE warehouse_id = $1 AND delivery_date = $2`, c.warehouse, date)
	item := c.ID(`INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, sold, created_at, updated_at)
		VALUES ($1, $2, $3, $4, 100000, 0, $5, $5)
		ON CONFLICT (warehouse_id, delivery_date, product_id) DO UPDATE SET updated_at = EXCLUDED.updated_at RETURNING id`,
		c.warehouse, product, date, priceFen, c.now)
	order := c.ID(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key,
		request_hash, total_fen, created_at) VALUES ($1, $2, $3, $4, $5, 'placed', $6, '\x00', $7, $8) RETURNING id`,
		l.ID, l.Point, l.Resident, c.warehouse, date, fmt.Sprintf("k%d", c.seq), ready*priceFen, c.now)
	line := c.ID(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
		order, item, ready, priceFen, date)
	if state == "" {
		return line
	}
	c.Exec(`INSERT INTO deliveries (wave_id, pickup_point_id, state, received_at) VALUES ($1, $2, 'received', $3)
		ON CONFLICT (wave_id, pickup_point_id) DO NOTHING`, waveID, l.Point, c.now)
	delivery := c.ID(`SELECT id FROM deliveries WHERE wave_id = $1 AND pickup_point_id = $2`, waveID, l.Point)
	c.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, state, ready_at, collected_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7 = 'collected' THEN $8::timestamptz END)`,
		line, delivery, l.Point, l.Resident, date, ready, state, c.now)
	return line
}

// nights are the delivery dates of lines' parcels.
func (c *commissionCity) nights(lines ...int64) []fulfillment.Date {
	c.t.Helper()
	var ds []fulfillment.Date
	if err := c.db.Select(&ds, `SELECT DISTINCT delivery_date FROM parcel_lines WHERE order_line_id = ANY($1)`, pq.Array(lines)); err != nil {
		c.t.Fatal(err)
	}
	return ds
}

// accrue runs AccrueCommission in a transaction of its own.
func (c *commissionCity) accrue(lines ...int64) int64 {
	c.t.Helper()
	var n int64
	err := pg.InTx(context.Background(), c.db, func(tx *sqlx.Tx) error {
		var err error
		n, err = AccrueCommission(context.Background(), tx, lines, c.nights(lines...), c.now)
		return err
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *commissionCity) setRate(key CommissionRateKey, bp int64) {
	c.t.Helper()
	if _, err := SetCommissionRate(context.Background(), c.db, key, bp, c.now); err != nil {
		c.t.Fatalf("set rate %+v: %v", key, err)
	}
}

func (c *commissionCity) service() *Service {
	return NewService(c.db, clock.NewManual(c.now), refund.Metrics{})
}

type ledgerRow struct {
	Kind      string `db:"kind"`
	Source    string `db:"source"`
	Quantity  int64  `db:"quantity"`
	BaseFen   int64  `db:"base_fen"`
	RateBP    int64  `db:"rate_bp"`
	AmountFen int64  `db:"amount_fen"`
}

// ledger returns a line's entries in booking order.
func (c *commissionCity) ledger(line int64) []ledgerRow {
	c.t.Helper()
	var rows []ledgerRow
	if err := c.db.Select(&rows, `SELECT kind, source, quantity, base_fen, rate_bp, amount_fen FROM commission_entries
		WHERE order_line_id = $1 ORDER BY id`, line); err != nil {
		c.t.Fatal(err)
	}
	return rows
}

func (c *commissionCity) net(line int64) int64 {
	var sum int64
	for _, r := range c.ledger(line) {
		sum += r.AmountFen
	}
	return sum
}

func TestCommissionRatePrecedence(t *testing.T) {
	c := newCommissionCity(t, 1)
	egg := c.product("EGG", "蛋类")       // product rate beats its category's
	duck := c.product("DUCK-EGG", "蛋类") // category rate
	free := c.product("SAMPLE", "蛋类")   // product rate 0 still beats the category
	rice := c.product("RICE", "粮油")     // no category rate: default
	plain := c.product("PLAIN", "")     // no category at all: default
	c.setRate(CommissionRateKey{Scope: ScopeCategory, Category: "蛋类"}, 1500)
	c.setRate(CommissionRateKey{Scope: ScopeProduct, ProductID: egg}, 2000)
	c.setRate(CommissionRateKey{Scope: ScopeProduct, ProductID: free}, 0)
	c.setRate(CommissionRateKey{Scope: ScopeCategory, Category: "蛋类"}, 1600) // the upsert changes, not adds
	c.setRate(CommissionRateKey{Scope: ScopeDefault}, 800)

	cases := []struct {
		name    string
		product int64
		rate    int64
	}{{"product", egg, 2000}, {"category", duck, 1600}, {"product zero", free, 0}, {"default", rice, 800}, {"uncategorised", plain, 800}}
	for _, tc := range cases {
		line := c.line(0, c.date, tc.product, 2500, 4, "collected")
		if n := c.accrue(line); n != 1 {
			t.Fatalf("%s: booked %d", tc.name, n)
		}
		got := c.ledger(line)
		want := ledgerRow{Kind: "accrual", Source: "collect", Quantity: 4, BaseFen: 10000, RateBP: tc.rate, AmountFen: tc.rate}
		if len(got) != 1 || got[0] != want {
			t.Errorf("%s: ledger %+v, want %+v", tc.name, got, want)
		}
	}

	rates, err := ListCommissionRates(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 4 || rates[0].Scope != ScopeDefault || rates[0].RateBP != 800 || rates[1].Category != "蛋类" || rates[1].RateBP != 1600 ||
		rates[2].SKU != "EGG" || rates[3].SKU != "SAMPLE" || rates[3].RateBP != 0 {
		t.Errorf("rates %+v", rates)
	}

	// With no rate at all, nothing is earned.
	c.Exec(`DELETE FROM commission_rates WHERE scope = 'default'`)
	line := c.line(0, addDays(c.date, 1), rice, 2500, 1, "collected")
	c.accrue(line)
	if got := c.ledger(line); len(got) != 1 || got[0].RateBP != 0 || got[0].AmountFen != 0 {
		t.Errorf("no rate: %+v", got)
	}
}

func TestCommissionDefaultRateFromMigration(t *testing.T) {
	c := newCommissionCity(t, 1)
	rates, err := ListCommissionRates(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	if len(rates) != 1 || rates[0].Scope != ScopeDefault || rates[0].RateBP != 1000 {
		t.Fatalf("fresh database rates %+v, want the default of 1000 bp", rates)
	}
}

func TestCommissionRateValidation(t *testing.T) {
	c := newCommissionCity(t, 1)
	p := c.product("EGG", "蛋类")
	cases := []struct {
		key   CommissionRateKey
		bp    int64
		field string
		code  string
	}{
		{CommissionRateKey{Scope: "global"}, 10, "scope", ""},
		{CommissionRateKey{Scope: ScopeDefault, Category: "x"}, 10, "scope", ""},
		{CommissionRateKey{Scope: ScopeCategory}, 10, "category", ""},
		{CommissionRateKey{Scope: ScopeCategory, Category: "  "}, 10, "category", ""},
		{CommissionRateKey{Scope: ScopeCategory, Category: "蛋类", ProductID: p}, 10, "product_id", ""},
		{CommissionRateKey{Scope: ScopeProduct}, 10, "product_id", ""},
		{CommissionRateKey{Scope: ScopeProduct, ProductID: p, Category: "蛋类"}, 10, "category", ""},
		{CommissionRateKey{Scope: ScopeDefault}, -1, "rate_bp", ""},
		{CommissionRateKey{Scope: ScopeDefault}, MaxRateBP + 1, "rate_bp", ""},
		{CommissionRateKey{Scope: ScopeProduct, ProductID: p + 1000}, 10, "", "unknown_product"},
	}
	for _, tc := range cases {
		_, err := SetCommissionRate(context.Background(), c.db, tc.key, tc.bp, c.now)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Field != tc.field || (tc.code != "" && e.Code != tc.code) {
			t.Errorf("%+v %d: got %v, want field %q code %q", tc.key, tc.bp, err, tc.field, tc.code)
		}
	}
	if _, err := SetCommissionRate(context.Background(), c.db, CommissionRateKey{Scope: ScopeDefault}, MaxRateBP, c.now); err != nil {
		t.Errorf("100 %%: %v", err)
	}
}

func TestCommissionRounding(t *testing.T) {
	c := newCommissionCity(t, 1)
	cases := []struct{ price, ready, rate, want int64 }{
		{333, 1, 1000, 33},                        // 33.3
		{999, 7, 1234, 862},                       // 6993 × 12.34 % = 862.93
		{9999, 1, 1, 0},                           // 0.9999
		{10000, 1, 1, 1},                          // exactly 1
		{1, 3, 10000, 3},                          // 100 %
		{99_999_999, 9999, 9999, 999_800_000_001}, // large: no overflow
	}
	for i, tc := range cases {
		p := c.product(fmt.Sprintf("R%d", i), "")
		c.setRate(CommissionRateKey{Scope: ScopeProduct, ProductID: p}, tc.rate)
		line := c.line(0, c.date, p, tc.price, tc.ready, "collected")
		c.accrue(line)
		got := c.ledger(line)
		if len(got) != 1 || got[0].BaseFen != tc.price*tc.ready || got[0].AmountFen != tc.want {
			t.Errorf("%d × %d fen at %d bp: %+v, want %d fen", tc.ready, tc.price, tc.rate, got, tc.want)
		}
	}
}

func TestCommissionAccrualIdempotent(t *testing.T) {
	c := newCommissionCity(t, 1)
	p := c.product("EGG", "蛋类")
	a := c.line(0, c.date, p, 1890, 2, "collected")
	b := c.line(0, c.date, p, 1890, 1, "collected")
	waiting := c.line(0, c.date, p, 1890, 1, "ready")
	returned := c.line(0, c.date, p, 1890, 1, "returned")
	noParcel := c.line(0, c.date, p, 1890, 1, "")
	lines := []int64{a, b, waiting, returned, noParcel, 999_999}
	if n := c.accrue(lines...); n != 2 {
		t.Fatalf("first run booked %d, want 2 (only the collected lines)", n)
	}
	c.setRate(CommissionRateKey{Scope: ScopeDefault}, 5000) // a later rate does not rebook
	if n := c.accrue(lines...); n != 0 {
		t.Fatalf("second run booked %d, want 0", n)
	}
	if n := c.accrue(); n != 0 {
		t.Fatalf("no lines booked %d", n)
	}
	var rows int
	if err := c.db.Get(&rows, `SELECT count(*) FROM commission_entries`); err != nil {
		t.Fatal(err)
	}
	if rows != 2 {
		t.Fatalf("%d ledger rows, want 2", rows)
	}
	if got := c.ledger(a); got[0].RateBP != 1000 || got[0].AmountFen != 378 {
		t.Errorf("line a: %+v, want 10 %% of 3780", got)
	}
	// Once the waiting line is collected, the next run books it alone.
	c.Exec(`UPDATE parcel_lines SET state = 'collected', collected_at = $2 WHERE order_line_id = $1`, waiting, c.now)
	if n := c.accrue(lines...); n != 1 {
		t.Fatalf("after collecting one more: booked %d, want 1", n)
	}
	if got := c.ledger(waiting); len(got) != 1 || got[0].RateBP != 5000 {
		t.Errorf("late line: %+v, want the rate in force when it was booked", got)
	}
}

func TestCommissionAfterSaleReversal(t *testing.T) {
	c := newCommissionCity(t, 1)
	p := c.product("EGG", "蛋类")
	c.setRate(CommissionRateKey{Scope: ScopeProduct, ProductID: p}, 1234)
	ctx := context.Background()
	svc := c.service()

	// Partial: 7 × 1000 fen at 12.34 % accrues 863; 3 of 7 reverse floor(863 × 3 / 7) = 369.
	line := c.line(0, c.date, p, 1000, 7, "collected")
	c.accrue(line)
	r, err := svc.RefundAfterSale(ctx, line, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Quantity != 3 || r.AmountFen != 3000 || r.ResidentID != c.leaders[0].Resident || r.WaveID == 0 || r.SKU != "EGG" ||
		r.Reversal.AmountFen != -369 || r.Reversal.Kind != CommissionReversal || r.Reversal.Source != fmt.Sprintf("refund:%d", r.RefundID) ||
		r.Reversal.LeaderID != c.leaders[0].ID || r.Reversal.OrderLineID != line || r.Reversal.BaseFen != 3000 || r.Reversal.RateBP != 1234 {
		t.Fatalf("partial refund %+v", r)
	}
	if got := c.net(line); got != 863-369 {
		t.Errorf("net after a partial refund %d, want %d", got, 863-369)
	}
	var ledgerRefund struct {
		Reason    string `db:"reason"`
		Quantity  int64  `db:"quantity"`
		AmountFen int64  `db:"amount_fen"`
		Resident  int64  `db:"resident_id"`
		Wave      int64  `db:"wave_id"`
	}
	if err := c.db.Get(&ledgerRefund, `SELECT reason, quantity, amount_fen, resident_id, wave_id FROM refunds WHERE id = $1`, r.RefundID); err != nil {
		t.Fatal(err)
	}
	waveID := c.ID(`SELECT id FROM waves WHERE delivery_date = $1`, c.date)
	if ledgerRefund.Reason != "after_sale" || ledgerRefund.Quantity != 3 || ledgerRefund.AmountFen != 3000 || ledgerRefund.Resident != c.leaders[0].Resident || ledgerRefund.Wave != waveID {
		t.Errorf("refund row %+v", ledgerRefund)
	}
	var payload []byte
	if err := c.db.Get(&payload, `SELECT payload FROM outbox WHERE dedupe_key = $1 AND kind = 'refund' AND resident_id = $2`,
		fmt.Sprintf("refund:after_sale:%d", line), c.leaders[0].Resident); err != nil {
		t.Fatalf("refund notice: %v", err)
	}
	var notice struct {
		Vars      map[string]string `json:"vars"`
		AmountFen int64             `json:"amount_fen"`
		Items     []map[string]any  `json:"items"`
	}
	if err := json.Unmarshal(payload, &notice); err != nil || notice.Vars["reason"] != fulfillment.ReasonAfterSale.Text() || notice.AmountFen != 3000 ||
		len(notice.Items) != 1 || notice.Items[0]["sku"] != "EGG" || notice.Items[0]["reason"] != "after_sale" {
		t.Errorf("notice %s (%v)", payload, err)
	}

	// A second after-sale refund of the line is refused and changes nothing.
	_, err = svc.RefundAfterSale(ctx, line, 1)
	if !errors.Is(err, ErrAlreadyRefunded) || apperr.KindOf(err) != apperr.Conflict {
		t.Fatalf("second refund: %v, want already_refunded", err)
	}
	if got := c.ledger(line); len(got) != 2 {
		t.Errorf("ledger after a refused refund: %+v", got)
	}

	// Full refunds reverse exactly the accrual, however it was rounded.
	for i, tc := range []struct{ price, ready, rate int64 }{{1000, 7, 1234}, {333, 3, 1000}, {1, 1, 1}, {9999, 13, 777}, {5, 2, 0}} {
		fp := c.product(fmt.Sprintf("F%d", i), "")
		c.setRate(CommissionRateKey{Scope: ScopeProduct, ProductID: fp}, tc.rate)
		fl := c.line(0, c.date, fp, tc.price, tc.ready, "collected")
		c.accrue(fl)
		if _, err := svc.RefundAfterSale(ctx, fl, tc.ready); err != nil {
			t.Fatal(err)
		}
		if got := c.ledger(fl); len(got) != 2 || got[0].AmountFen+got[1].AmountFen != 0 {
			t.Errorf("full refund of %d × %d at %d bp: ledger %+v does not net to 0", tc.ready, tc.price, tc.rate, got)
		}
	}

	// A collected line whose accrual was never booked is accrued, then reversed.
	late := c.line(0, c.date, p, 1000, 2, "collected")
	if _, err := svc.RefundAfterSale(ctx, late, 1); err != nil {
		t.Fatal(err)
	}
	if got := c.ledger(late); len(got) != 2 || got[0].AmountFen != 246 || got[1].AmountFen != -123 {
		t.Errorf("unaccrued line: %+v", got)
	}
}

func TestCommissionAfterSaleRefused(t *testing.T) {
	c := newCommissionCity(t, 1)
	p := c.product("EGG", "")
	ctx := context.Background()
	svc := c.service()
	waiting := c.line(0, c.date, p, 1000, 2, "ready")
	returned := c.line(0, c.date, p, 1000, 2, "returned")
	noParcel := c.line(0, c.date, p, 1000, 2, "")
	collected := c.line(0, c.date, p, 1000, 2, "collected")
	cases := []struct {
		name     string
		line     int64
		quantity int64
		want     error
		kind     apperr.Kind
	}{
		{"ready", waiting, 1, ErrNotCollected, apperr.Conflict},
		{"returned", returned, 1, ErrNotCollected, apperr.Conflict},
		{"no parcel", noParcel, 1, ErrNotCollected, apperr.Conflict},
		{"unknown line", 999_999, 1, ErrOrderLineNotFound, apperr.NotFound},
		{"zero", collected, 0, nil, apperr.Invalid},
		{"more than collected", collected, 3, nil, apperr.Unprocessable},
	}
	for _, tc := range cases {
		_, err := svc.RefundAfterSale(ctx, tc.line, tc.quantity)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || apperr.KindOf(err) != tc.kind {
			t.Errorf("%s: got %v, want %v (%s)", tc.name, err, tc.want, tc.kind)
		}
	}
	var refunds, entries, notices int
	if err := c.db.Get(&refunds, `SELECT count(*) FROM refunds`); err != nil {
		t.Fatal(err)
	}
	_ = c.db.Get(&entries, `SELECT count(*) FROM commission_entries`)
	_ = c.db.Get(&notices, `SELECT count(*) FROM outbox`)
	if refunds+entries+notices != 0 {
		t.Errorf("refused refunds left %d refunds, %d entries, %d notices", refunds, entries, notices)
	}
}

func TestCommissionLeaderSeesOwnEntries(t *testing.T) {
	c := newCommissionCity(t, 2)
	p := c.product("EGG", "")
	ctx := context.Background()
	var mine []int64
	for d := range 3 {
		date := addDays(c.date, d)
		mine = append(mine, c.line(0, date, p, 1000, 1, "collected"), c.line(0, date, p, 2000, 1, "collected"))
		c.line(1, date, p, 5000, 1, "collected")
	}
	var all []int64
	if err := c.db.Select(&all, `SELECT order_line_id FROM parcel_lines`); err != nil {
		t.Fatal(err)
	}
	c.accrue(all...)
	if _, err := c.service().RefundAfterSale(ctx, mine[1], 1); err != nil {
		t.Fatal(err)
	}

	page, err := LeaderCommissions(ctx, c.db, CommissionFilter{LeaderID: c.leaders[0].ID, From: c.date, To: addDays(c.date, 1)})
	if err != nil {
		t.Fatal(err)
	}
	// Days 1 and 2: four accruals of 100 and 200 fen, one reversal of 200.
	want := CommissionTotals{Entries: 5, AccruedFen: 600, ReversedFen: -200, NetFen: 400}
	if page.Totals != want || len(page.Entries) != 5 || page.HasMore {
		t.Fatalf("page %+v, want totals %+v", page, want)
	}
	for _, e := range page.Entries {
		if e.LeaderID != c.leaders[0].ID || e.PickupPointID != c.leaders[0].Point || e.DeliveryDate.After(addDays(c.date, 1).Time) {
			t.Errorf("entry of another leader or day: %+v", e)
		}
	}

	// Pages of two walk the same entries.
	var walked []int64
	f := CommissionFilter{LeaderID: c.leaders[0].ID, From: c.date, To: addDays(c.date, 2), Limit: 2}
	for {
		pg, err := LeaderCommissions(ctx, c.db, f)
		if err != nil {
			t.Fatal(err)
		}
		if pg.Totals.Entries != 7 {
			t.Fatalf("totals of a page cover %d entries, want 7", pg.Totals.Entries)
		}
		for _, e := range pg.Entries {
			walked = append(walked, e.ID)
		}
		if !pg.HasMore {
			break
		}
		f.AfterID = pg.NextID
	}
	if len(walked) != 7 {
		t.Errorf("paging walked %d entries, want 7", len(walked))
	}

	// Over HTTP the leader sees only their own.
	s := newCommissionServer(t, c)
	var got CommissionPage
	s.do(t, "GET", "/api/v1/leader/commissions?from=2026-12-01&to=2026-12-03", s.leaders[1], nil, http.StatusOK, &got)
	if got.LeaderID != c.leaders[1].ID || got.Totals.Entries != 3 || got.Totals.NetFen != 1500 || len(got.Entries) != 3 {
		t.Errorf("leader 1 sees %+v", got)
	}
	for _, e := range got.Entries {
		if e.LeaderID != c.leaders[1].ID {
			t.Errorf("leader 1 sees an entry of leader %d", e.LeaderID)
		}
	}
	for _, bad := range []string{"", "?from=2026-12-01", "?to=2026-12-01", "?from=2026-12-02&to=2026-12-01",
		"?from=2026-01-01&to=2027-01-02", "?from=2026-12-01&to=2026-12-40", "?from=2026-12-01&to=2026-12-02&limit=1001"} {
		s.do(t, "GET", "/api/v1/leader/commissions"+bad, s.leaders[0], nil, http.StatusBadRequest, nil)
	}
	// 366 days, a leap year's worth, is the most.
	s.do(t, "GET", "/api/v1/leader/commissions?from=2028-01-01&to=2028-12-31", s.leaders[0], nil, http.StatusOK, nil)
	s.do(t, "GET", "/api/v1/leader/commissions?from=2026-12-01&to=2026-12-02", s.ops, nil, http.StatusForbidden, nil)
}

func TestCommissionStatementCSV(t *testing.T) {
	c := newCommissionCity(t, 2)
	egg := c.product("EGG", "")
	rice := c.product("=RICE", "") // starts like a spreadsheet formula
	ctx := context.Background()
	dates := []fulfillment.Date{addDays(c.date, -1), c.date, addDays(c.date, 15), addDays(c.date, 30), addDays(c.date, 31)} // Nov 30, Dec 1, 16, 31, Jan 1
	var lines []int64
	for i, d := range dates {
		lines = append(lines, c.line(0, d, egg, 1890+int64(i), 3, "collected"), c.line(0, d, rice, 3990, 2, "collected"))
		lines = append(lines, c.line(1, d, egg, 1890, 1, "collected"))
	}
	c.accrue(lines...)
	svc := c.service()
	if _, err := svc.RefundAfterSale(ctx, lines[3], 1); err != nil { // Dec 1, leader 0, partial
		t.Fatal(err)
	}
	if _, err := svc.RefundAfterSale(ctx, lines[10], 2); err != nil { // Dec 31, leader 0, full
		t.Fatal(err)
	}

	var wantNet int64
	var wantRows int
	if err := c.db.Get(&wantNet, `SELECT sum(amount_fen) FROM commission_entries
		WHERE leader_id = $1 AND delivery_date BETWEEN '2026-12-01' AND '2026-12-31'`, c.leaders[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.db.Get(&wantRows, `SELECT count(*) FROM commission_entries
		WHERE leader_id = $1 AND delivery_date BETWEEN '2026-12-01' AND '2026-12-31'`, c.leaders[0].ID); err != nil {
		t.Fatal(err)
	}

	s := newCommissionServer(t, c)
	resp := s.do(t, "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv?month=2026-12", c.leaders[0].ID), s.warehouse, nil, http.StatusOK, nil)
	if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, fmt.Sprintf(`filename="commission-leader%d-2026-12.csv"`, c.leaders[0].ID)) {
		t.Errorf("content disposition %q", cd)
	}
	body, ok := bytes.CutPrefix(resp.Body, []byte("\xef\xbb\xbf"))
	if !ok {
		t.Fatal("the CSV does not start with a UTF-8 byte-order mark")
	}
	records, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("the statement does not parse as CSV: %v\n%s", err, body)
	}
	if strings.Join(records[0], ",") != strings.Join(StatementCSVHeader, ",") {
		t.Fatalf("header %v", records[0])
	}
	data, total := records[1:len(records)-1], records[len(records)-1]
	if len(data) != wantRows {
		t.Fatalf("%d entry rows, want %d", len(data), wantRows)
	}
	var sum int64
	kinds := map[string]int{}
	for _, row := range data {
		if !strings.HasPrefix(row[0], "2026-12-") {
			t.Errorf("row of another month: %v", row)
		}
		n, err := strconv.ParseInt(row[9], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += n
		kinds[row[5]]++
		if row[3] == "=RICE" {
			t.Errorf("a formula-like SKU is not neutralised: %v", row)
		}
		if row[4] != "商品EGG" && row[4] != "商品=RICE" {
			t.Errorf("name %q", row[4])
		}
	}
	if total[0] != "total" || total[9] != strconv.FormatInt(wantNet, 10) || sum != wantNet {
		t.Errorf("total row %v, rows sum to %d, ledger says %d", total, sum, wantNet)
	}
	if kinds["accrual"] != 6 || kinds["reversal"] != 2 {
		t.Errorf("kinds %v", kinds)
	}

	// An empty month still has a header and a zero total; bad requests are refused.
	resp = s.do(t, "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv?month=2025-01", c.leaders[0].ID), s.ops, nil, http.StatusOK, nil)
	records, err = csv.NewReader(bytes.NewReader(bytes.TrimPrefix(resp.Body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil || len(records) != 2 || records[1][0] != "total" || records[1][9] != "0" {
		t.Errorf("empty month: %v %v", records, err)
	}
	s.do(t, "GET", "/api/v1/ops/leaders/999999/commission-statement.csv?month=2026-12", s.ops, nil, http.StatusNotFound, nil)
	s.do(t, "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv?month=2026-13", c.leaders[0].ID), s.ops, nil, http.StatusBadRequest, nil)
	s.do(t, "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv", c.leaders[0].ID), s.ops, nil, http.StatusBadRequest, nil)
	s.do(t, "GET", fmt.Sprintf("/api/v1/ops/leaders/%d/commission-statement.csv?month=2026-12", c.leaders[0].ID), s.leaders[0], nil, http.StatusForbidden, nil)
}

func TestCommissionOpsHTTP(t *testing.T) {
	c := newCommissionCity(t, 1)
	egg := c.product("EGG", "蛋类")
	s := newCommissionServer(t, c)

	var rate CommissionRate
	s.do(t, "PUT", "/api/v1/ops/commission-rates", s.ops, `{"scope":"product","product_id":`+strconv.FormatInt(egg, 10)+`,"rate_bp":1500}`, http.StatusOK, &rate)
	if rate.Scope != ScopeProduct || rate.ProductID != egg || rate.SKU != "EGG" || rate.RateBP != 1500 {
		t.Errorf("set rate: %+v", rate)
	}
	s.do(t, "PUT", "/api/v1/ops/commission-rates", s.ops, `{"scope":"category","category":"蛋类","rate_bp":1200}`, http.StatusOK, nil)
	for body, code := range map[string]string{
		`{"scope":"default"}`:                         "invalid_field", // a missing rate is not 0 %
		`{"scope":"default","rate_bp":10001}`:         "invalid_field",
		`{"scope":"category","rate_bp":100}`:          "invalid_field",
		`{"scope":"default","rate_bp":100,"extra":1}`: "invalid_field",
		`{"scope":"default","rate_bp":"100"}`:         "invalid_field",
		`not json`:                                    "bad_json",
	} {
		resp := s.do(t, "PUT", "/api/v1/ops/commission-rates", s.ops, body, http.StatusBadRequest, nil)
		if got := envelopeCode(t, resp.Body); got != code {
			t.Errorf("%s: code %s, want %s", body, got, code)
		}
	}
	resp := s.do(t, "PUT", "/api/v1/ops/commission-rates", s.ops, `{"scope":"product","product_id":999999,"rate_bp":1}`, http.StatusUnprocessableEntity, nil)
	if got := envelopeCode(t, resp.Body); got != "unknown_product" {
		t.Errorf("unknown product: %s", got)
	}
	s.do(t, "PUT", "/api/v1/ops/commission-rates", s.warehouse, `{"scope":"default","rate_bp":1}`, http.StatusForbidden, nil)
	s.do(t, "PUT", "/api/v1/ops/commission-rates", "", `{"scope":"default","rate_bp":1}`, http.StatusUnauthorized, nil)

	var list struct {
		Rates []CommissionRate `json:"rates"`
	}
	s.do(t, "GET", "/api/v1/ops/commission-rates", s.warehouse, nil, http.StatusOK, &list)
	if len(list.Rates) != 3 || list.Rates[0].RateBP != 1000 || list.Rates[1].RateBP != 1200 || list.Rates[2].RateBP != 1500 {
		t.Errorf("rates %+v", list.Rates)
	}

	line := c.line(0, c.date, egg, 2000, 2, "collected")
	c.accrue(line)
	path := fmt.Sprintf("/api/v1/ops/order-lines/%d/refund", line)
	var r AfterSaleRefund
	s.do(t, "POST", path, s.ops, `{"quantity":2}`, http.StatusCreated, &r)
	if r.OrderLineID != line || r.AmountFen != 4000 || r.Reversal.AmountFen != -600 || r.Reversal.Kind != CommissionReversal {
		t.Errorf("refund %+v", r)
	}
	resp = s.do(t, "POST", path, s.ops, `{"quantity":1}`, http.StatusConflict, nil)
	if got := envelopeCode(t, resp.Body); got != "already_refunded" {
		t.Errorf("second refund: %s", got)
	}
	waiting := c.line(0, addDays(c.date, 1), egg, 2000, 2, "ready")
	resp = s.do(t, "POST", fmt.Sprintf("/api/v1/ops/order-lines/%d/refund", waiting), s.ops, `{"quantity":1}`, http.StatusConflict, nil)
	if got := envelopeCode(t, resp.Body); got != "not_collected" {
		t.Errorf("not collected: %s", got)
	}
	s.do(t, "POST", path, s.ops, `{}`, http.StatusBadRequest, nil)
	s.do(t, "POST", "/api/v1/ops/order-lines/0/refund", s.ops, `{"quantity":1}`, http.StatusBadRequest, nil)
	s.do(t, "POST", "/api/v1/ops/order-lines/999999/refund", s.ops, `{"quantity":1}`, http.StatusNotFound, nil)
	s.do(t, "POST", path, s.warehouse, `{"quantity":1}`, http.StatusForbidden, nil)
}

// commissionServer serves the commission routes over the city's database as
// the app mounts them, with a token per role.
type commissionServer struct {
	srv            *httptest.Server
	ops, warehouse string
	leaders        []string
}

func newCommissionServer(t *testing.T, c *commissionCity) *commissionServer {
	t.Helper()
	clock := clock.NewManual(c.now)
	authn := auth.NewAuthenticator(c.db, clock, time.Second)
	h := NewHandlers(NewService(c.db, clock, refund.Metrics{}))
	r := httpx.NewEngine(slog.New(slog.DiscardHandler))
	// The rows of the app's route table that serve commission.
	leader := api.Access{Name: "leader", Roles: []auth.Role{auth.RoleLeader}}
	reads := api.Access{Name: "staff reads", Roles: []auth.Role{auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}}
	writes := api.Access{Name: "ops writes", Roles: []auth.Role{auth.RoleOps, auth.RoleAdmin}}
	api.Register(r, api.Authenticated(authn, ""), []api.Route{
		{Method: "GET", Path: "/api/v1/leader/commissions", Access: leader, Handler: api.JSON(h.LeaderCommissions), Hidden: true},
		{Method: "PUT", Path: "/api/v1/ops/commission-rates", Access: writes, Handler: api.JSON(h.SetRate), Hidden: true},
		{Method: "GET", Path: "/api/v1/ops/commission-rates", Access: reads, Handler: api.JSON(h.Rates), Hidden: true},
		{Method: "GET", Path: "/api/v1/ops/leaders/:id/commission-statement.csv", Access: reads,
			Handler: api.File(h.Statement, "text/csv"), Hidden: true},
		{Method: "POST", Path: "/api/v1/ops/order-lines/:id/refund", Access: writes, Handler: api.JSON(h.RefundAfterSale),
			Status: http.StatusCreated, Hidden: true},
	})
	s := &commissionServer{srv: httptest.NewServer(r)}
	t.Cleanup(s.srv.Close)
	issue := func(spec auth.TokenSpec) string {
		tok, _, err := auth.IssueToken(context.Background(), c.db, c.now, spec)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	s.ops = issue(auth.TokenSpec{Role: auth.RoleOps, Name: "ops"})
	s.warehouse = issue(auth.TokenSpec{Role: auth.RoleWarehouse, Name: "warehouse"})
	for _, l := range c.leaders {
		s.leaders = append(s.leaders, issue(auth.TokenSpec{Role: auth.RoleLeader, LeaderID: l.ID, Name: "leader"}))
	}
	return s
}

type commissionResponse struct {
	Header http.Header
	Body   []byte
}

// do sends a request, checks the status and decodes a JSON answer into out.
func (s *commissionServer) do(t *testing.T, method, path, token string, body any, status int, out any) commissionResponse {
	t.Helper()
	var rd io.Reader
	if b, ok := body.(string); ok {
		rd = strings.NewReader(b)
	}
	req, err := http.NewRequest(method, s.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := s.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return commissionResponse{Header: resp.Header, Body: raw}
}

func envelopeCode(t *testing.T, body []byte) string {
	t.Helper()
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("not an error envelope: %s", body)
	}
	return env.Error.Code
}

// TestCommissionConcurrentRefundsAndAccruals races the same line from many
// transactions: one accrual and one after-sale refund, the others refused.
func TestCommissionConcurrentRefundsAndAccruals(t *testing.T) {
	c := newCommissionCity(t, 1)
	p := c.product("EGG", "")
	line := c.line(0, c.date, p, 1000, 3, "collected")
	svc := c.service()
	const n = 8
	errs := make(chan error, 2*n)
	for range n {
		go func() { _, err := svc.RefundAfterSale(context.Background(), line, 3); errs <- err }()
		go func() {
			errs <- pg.InTx(context.Background(), c.db, func(tx *sqlx.Tx) error {
				_, err := AccrueCommission(context.Background(), tx, []int64{line}, c.nights(line), c.now)
				return err
			})
		}()
	}
	var ok, refused int
	for range 2 * n {
		switch err := <-errs; {
		case err == nil:
			ok++
		case errors.Is(err, ErrAlreadyRefunded):
			refused++
		default:
			t.Errorf("unexpected: %v", err)
		}
	}
	if ok != n+1 || refused != n-1 {
		t.Errorf("%d succeeded and %d refused, want %d and %d", ok, refused, n+1, n-1)
	}
	if got := c.ledger(line); len(got) != 2 || got[0].AmountFen != 300 || got[1].AmountFen != -300 {
		t.Errorf("ledger %+v", got)
	}
}
