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
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/intake"
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
