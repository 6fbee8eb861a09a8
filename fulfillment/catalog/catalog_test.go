package catalog_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestPublishOpensTheWaveAndTheSaleFreezesAtClose(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	c.Product("EGG", fulfillment.Chilled, "")
	svc := catalog.NewService(c.DB, clock.NewManual(fulfillmenttest.Now))
	items, err := svc.Publish(ctx, c.Warehouse, fulfillmenttest.Date, []catalog.Offer{{SKU: "EGG", PriceFen: 1290, StockCap: 10}})
	if err != nil || len(items) != 1 || items[0].Remaining != 10 || items[0].SKU != "EGG" {
		t.Fatalf("publish: %+v (%v)", items, err)
	}
	w, err := wave.Of(ctx, c.DB, c.Warehouse, fulfillmenttest.Date)
	if err != nil || w.State != wave.Open {
		t.Fatalf("publishing should open the wave: %+v (%v)", w, err)
	}
	// Too far ahead is refused before anything is written.
	far := fulfillment.Date{Time: fulfillmenttest.Date.AddDate(0, 0, catalog.MaxSaleDaysAhead+1)}
	if _, err := svc.Publish(ctx, c.Warehouse, far, []catalog.Offer{{SKU: "EGG", PriceFen: 1, StockCap: 1}}); err == nil {
		t.Fatal("a sale more than MaxSaleDaysAhead ahead was published")
	}
	c.Exec(`UPDATE waves SET state = 'closed' WHERE id = $1`, w.ID)
	if _, err := svc.Publish(ctx, c.Warehouse, fulfillmenttest.Date, []catalog.Offer{{SKU: "EGG", PriceFen: 990, StockCap: 10}}); !errors.Is(err, wave.ErrNotOpen) {
		t.Fatalf("republish after close: %v, want %v", err, wave.ErrNotOpen)
	}
	if _, err := svc.SetCap(ctx, items[0].ID, 20); !errors.Is(err, wave.ErrNotOpen) {
		t.Fatalf("set cap after close: %v, want %v", err, wave.ErrNotOpen)
	}
	if _, err := svc.SetCap(ctx, items[0].ID+100, 20); !errors.Is(err, catalog.ErrSaleItemNotFound) {
		t.Fatalf("set cap of no sale item: %v", err)
	}
}

// TestStockNeverExceedsTheCap: the cap cannot go below what is sold, taking
// more than is left is refused, and returned stock is on sale again.
func TestStockNeverExceedsTheCap(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	item := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 3990, 5)
	c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 3})
	svc := catalog.NewService(c.DB, clock.NewManual(fulfillmenttest.Now))
	if _, err := svc.SetCap(ctx, item, 2); !errors.Is(err, catalog.ErrCapBelowSold) {
		t.Fatalf("cap below sold: %v", err)
	}
	si, err := svc.SetCap(ctx, item, 3)
	if err != nil || si.Remaining != 0 {
		t.Fatalf("cap at sold: %+v (%v)", si, err)
	}
	take := func(n int64) error {
		return pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			return catalog.TakeStock(ctx, tx, map[int64]int64{item: n}, fulfillmenttest.Now)
		})
	}
	if err := take(1); !errors.Is(err, catalog.ErrStockRace) {
		t.Fatalf("taking past the cap: %v, want %v", err, catalog.ErrStockRace)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		return catalog.ReturnStock(ctx, tx, map[int64]int64{item: 2}, fulfillmenttest.Now)
	}); err != nil {
		t.Fatal(err)
	}
	if err := take(2); err != nil {
		t.Fatalf("taking returned stock: %v", err)
	}
	if sold := c.Count(`SELECT sold FROM sale_items WHERE id = $1`, item); sold != 3 {
		t.Fatalf("sold %d, want 3", sold)
	}
}
