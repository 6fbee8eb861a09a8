// Package supplytest builds the supply side's test night against a fresh
// PostgreSQL database: a warehouse selling eggs, rice, oil and dumplings,
// two suppliers on signed webhooks with their terms, and the wave open. The
// tests of supply and of the packages built on it (the supplier account)
// share it, so each describes the same night.
package supplytest

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
	"groupbuy/pickup/notify"
)

// Date is the test night's delivery date, 2026-12-01, at a Shanghai
// warehouse; the clock stands after the cutoff (2026-11-30 23:00 local).
var Date = fulfillmenttest.Date

// Fixture is the test night.
type Fixture struct {
	T     *testing.T
	Ctx   context.Context
	DB    *sqlx.DB
	City  *fulfillmenttest.City
	Clock *clock.Manual
	Svc   *supply.Service
	WH    pickup.Warehouse
	Wave  int64
	Items map[string]Item
	Sups  map[string]supply.Supplier
	Hook  *Receiver
}

// Item is a sale item of the fixture.
type Item struct{ ID, ProductID int64 }

// Receiver is a supplier's webhook endpoint: it checks the signature and
// keeps what it got.
type Receiver struct {
	Secret string
	mu     sync.Mutex
	got    []map[string]any
	keys   []string
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	key, err := notify.VerifyDelivery(r.Secret, req.Header, body, time.Now(), 0)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	var m map[string]any
	_ = json.Unmarshal(body, &m)
	r.mu.Lock()
	r.got, r.keys = append(r.got, m), append(r.keys, key)
	r.mu.Unlock()
}

// Count is how many posts the receiver accepted.
func (r *Receiver) Count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got) }

// Got returns the bodies and idempotency keys accepted so far.
func (r *Receiver) Got() ([]map[string]any, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...), append([]string(nil), r.keys...)
}

// New builds a warehouse selling EGG (chilled, 蛋类), RICE and OIL
// (ambient) and DUMPLING (frozen, no supplier) with units sold, two
// suppliers on webhooks, their terms, and the wave open.
func New(t *testing.T) *Fixture {
	t.Helper()
	ctx := context.Background()
	c := fulfillmenttest.New(t, 2)
	f := &Fixture{T: t, Ctx: ctx, DB: c.DB, City: c, Clock: clock.NewManual(fulfillmenttest.Cutoff.Add(30 * time.Minute)),
		Items: map[string]Item{}, Sups: map[string]supply.Supplier{}, Hook: &Receiver{Secret: "supplier-secret-0123456789"}}
	srv := httptest.NewServer(f.Hook)
	t.Cleanup(srv.Close)
	redisOpt, err := jobs.RedisOpt(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(redisOpt)
	t.Cleanup(func() { client.Close() })
	f.Svc = supply.NewService(f.DB, f.Clock, jobs.NewOutbox(f.DB, client, f.Clock, nil, jobs.Options{}), nil, supply.Options{})
	if f.WH, err = pickup.GetWarehouse(ctx, f.DB, c.Warehouse); err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct {
		sku      string
		zone     fulfillment.Zone
		category string
		sold     int64
	}{{"EGG", fulfillment.Chilled, "蛋类", 30}, {"RICE", fulfillment.Ambient, "粮油", 47}, {"OIL", fulfillment.Ambient, "粮油", 4},
		{"DUMPLING", fulfillment.Frozen, "", 9}} {
		it := Item{ProductID: c.Product(p.sku, p.zone, p.category)}
		it.ID = c.SaleItem(it.ProductID, 1000, 1000)
		c.Order(0, fulfillmenttest.Line{SaleItem: it.ID, Quantity: p.sold - 1})
		c.Order(1, fulfillmenttest.Line{SaleItem: it.ID, Quantity: 1})
		f.Items[p.sku] = it
	}
	f.Wave = c.Wave()
	for _, code := range []string{"A", "B"} {
		s, err := f.Svc.SaveSupplier(ctx, supply.SupplierInput{Code: code, Name: "供应商" + code, Contact: "王经理 13900000000",
			Channel: supply.ChannelWebhook, WebhookURL: srv.URL, WebhookSecret: f.Hook.Secret})
		if err != nil {
			t.Fatal(err)
		}
		f.Sups[code] = s
	}
	slot := clock.NewTimeOfDay(2, 0)
	f.Terms("EGG", supply.TermInput{SupplierID: f.Sups["A"].ID, Priority: 1, CasePack: 12, PriceFen: 120, DeliverySlot: clock.NewTimeOfDay(3, 0)})
	f.Terms("RICE", supply.TermInput{SupplierID: f.Sups["A"].ID, Priority: 1, SharePct: 60, CasePack: 10, PriceFen: 3000, DeliverySlot: slot},
		supply.TermInput{SupplierID: f.Sups["B"].ID, Priority: 2, SharePct: 40, CasePack: 5, PriceFen: 2900, DeliverySlot: slot})
	f.Terms("OIL", supply.TermInput{SupplierID: f.Sups["B"].ID, Priority: 1, CasePack: 4, PriceFen: 5000, DeliverySlot: slot})
	if _, err := f.Svc.SetMargin(ctx, supply.SafetyMargin{Category: "蛋类", Percent: 10}); err != nil {
		t.Fatal(err)
	}
	return f
}

// Terms sets a product's supply terms.
func (f *Fixture) Terms(sku string, terms ...supply.TermInput) {
	f.T.Helper()
	if _, err := f.Svc.SetTerms(f.Ctx, f.Items[sku].ProductID, terms); err != nil {
		f.T.Fatal(err)
	}
}

// Stock puts units of a product on hand as if received earlier.
func (f *Fixture) Stock(sku, lot string, expires *fulfillment.Date, n int64, source string) {
	f.T.Helper()
	err := pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
		return stock.Move(f.Ctx, tx, stock.Movement{Warehouse: f.WH.ID, Product: f.Items[sku].ProductID, Lot: lot, ExpiresOn: expires,
			Kind: stock.MoveReceived, Quantity: n, Source: source}, f.Clock.Now())
	})
	if err != nil {
		f.T.Fatal(err)
	}
}

// Close closes the wave for ordering.
func (f *Fixture) Close() {
	f.T.Helper()
	err := pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
		if _, err := wave.Lock(f.Ctx, tx, f.Wave); err != nil {
			return err
		}
		return wave.MarkClosed(f.Ctx, tx, f.Wave, wave.Totals{}, f.Clock.Now())
	})
	if err != nil {
		f.T.Fatal(err)
	}
}

// Purchase runs the purchase stage in a transaction of its own.
func (f *Fixture) Purchase() bool {
	f.T.Helper()
	var moved bool
	err := pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
		var err error
		moved, _, err = f.Svc.Purchase(f.Ctx, tx, f.Wave, f.Clock.Now(), func(int64, int64) {})
		return err
	})
	if err != nil {
		f.T.Fatal(err)
	}
	return moved
}

// Orders lists the wave's purchase orders.
func (f *Fixture) Orders() supply.WaveOrders {
	f.T.Helper()
	o, err := supply.ListPurchaseOrders(f.Ctx, f.DB, f.Wave)
	if err != nil {
		f.T.Fatal(err)
	}
	return o
}

// Count is the number of rows in table.
func (f *Fixture) Count(table string) int {
	f.T.Helper()
	var n int
	if err := f.DB.Get(&n, `SELECT count(*) FROM `+table); err != nil {
		f.T.Fatal(err)
	}
	return n
}

// LineScan is a scan on a purchase-order line.
type LineScan struct {
	Line int64
	Scan supply.Scan
}

// Scans records the scans at the dock, in order.
func (f *Fixture) Scans(scans ...LineScan) {
	f.T.Helper()
	for _, sc := range scans {
		if _, _, err := f.Svc.Receive(f.Ctx, sc.Line, sc.Scan, "dock"); err != nil {
			f.T.Fatal(err)
		}
	}
}

// LineOf is the line of a purchase order for a SKU.
func LineOf(t *testing.T, o supply.PurchaseOrder, sku string) supply.PurchaseOrderLine {
	t.Helper()
	for _, l := range o.Lines {
		if l.SKU == sku {
			return l
		}
	}
	t.Fatalf("%s has no line of %s", o.Number, sku)
	return supply.PurchaseOrderLine{}
}

// CodeOf is the error code of an application error, "" for others.
func CodeOf(err error) string {
	var e *apperr.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
