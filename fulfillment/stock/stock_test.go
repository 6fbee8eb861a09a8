package stock_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/supply/supplytest"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestStockFirstExpiryFirstOut: allocation takes the lot that expires first,
// and expired lots are written off once.
func TestStockFirstExpiryFirstOut(t *testing.T) {
	f := supplytest.New(t)
	soon, later := fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 2)}, fulfillment.Date{Time: supplytest.Date.AddDate(0, 0, 9)}
	f.Stock("EGG", "LATE", &later, 20, "seed:1")
	f.Stock("EGG", "SOON", &soon, 15, "seed:2")
	f.Close()
	f.Purchase() // stock covers the 30 eggs: no egg to buy
	for _, o := range f.Orders().Orders {
		for _, l := range o.Lines {
			if l.SKU == "EGG" {
				t.Fatalf("eggs bought though stock covers them: %+v", l)
			}
		}
	}
	w, _ := wave.Get(f.Ctx, f.DB, f.Wave)
	err := pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
		return stock.Allocate(f.Ctx, tx, w, map[int64]int64{f.Items["EGG"].ID: 30}, f.Clock.Now())
	})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := stock.StockOf(f.Ctx, f.DB, f.WH.ID, supplytest.Date)
	var lots []stock.Lot
	for _, p := range st.Products {
		if p.ProductID == f.Items["EGG"].ProductID {
			lots = p.Lots
		}
	}
	if len(lots) != 1 || lots[0].Lot != "LATE" || lots[0].Balance != 5 {
		t.Fatalf("after allocating 30 eggs: %+v", lots)
	}
	// Ten days on, lot LATE has expired: written off once, however often the job runs.
	f.Clock.Set(time.Date(2026, 12, 11, 2, 0, 0, 0, time.UTC))
	for range 2 {
		if _, err := stock.WriteOffExpired(f.Ctx, f.DB, f.Clock); err != nil {
			t.Fatal(err)
		}
	}
	var off int64
	if err := f.DB.Get(&off, `SELECT coalesce(sum(quantity), 0) FROM stock_movements WHERE kind = 'written_off'`); err != nil {
		t.Fatal(err)
	}
	if off != -5 {
		t.Fatalf("written off %d, want -5", off)
	}
}

// TestStockLockKey: the stock lock of a warehouse is (5315, id) for every id
// below 2^31, as it was before stock_lock, so old and new servers exclude
// each other during a deploy; a larger id is taken modulo 2^31 rather than
// refused; and a correction at the dock waits for it.
func TestStockLockKey(t *testing.T) {
	f := supplytest.New(t)
	for id, want := range map[int64]int64{7: 7, 1<<31 - 1: 1<<31 - 1, 1<<31 + 7: 7, 1 << 40: 0} {
		if err := pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
			if err := stock.LockStock(f.Ctx, tx, id); err != nil {
				return err
			}
			var class, obj int64
			if err := tx.GetContext(f.Ctx, &class, `SELECT classid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`); err != nil {
				return err
			}
			if err := tx.GetContext(f.Ctx, &obj, `SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()`); err != nil {
				return err
			}
			if class != 5315 || obj != want {
				return fmt.Errorf("key (%d, %d), want (5315, %d)", class, obj, want)
			}
			return nil
		}); err != nil {
			t.Fatalf("warehouse %d: %v", id, err)
		}
	}

	f.Close()
	f.Purchase()
	rice := supplytest.LineOf(t, f.Orders().Orders[0], "RICE")
	if _, _, err := f.Svc.Receive(f.Ctx, rice.ID, supply.Scan{ScanID: "in", Arrived: 10, Accepted: 10}, "dock"); err != nil {
		t.Fatal(err)
	}
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- pg.InTx(f.Ctx, f.DB, func(tx *sqlx.Tx) error {
			if err := stock.LockStock(f.Ctx, tx, f.WH.ID); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	ctx, cancel := context.WithTimeout(f.Ctx, 300*time.Millisecond)
	defer cancel()
	if _, _, err := f.Svc.Receive(ctx, rice.ID, supply.Scan{ScanID: "fix", Arrived: -2, Accepted: -2}, "dock"); err == nil {
		t.Fatal("a correction went through while another command held the warehouse's stock lock")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if r, _, err := f.Svc.Receive(f.Ctx, rice.ID, supply.Scan{ScanID: "fix", Arrived: -2, Accepted: -2}, "dock"); err != nil || r.Line.Accepted != 8 {
		t.Fatalf("the correction once the lock is free: %+v %v", r, err)
	}
}
