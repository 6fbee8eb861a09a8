package wave_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// inTx runs f in a transaction of its own and fails the test on an error.
func inTx(t *testing.T, db *sqlx.DB, f func(tx *sqlx.Tx) error) {
	t.Helper()
	if err := pg.InTx(context.Background(), db, f); err != nil {
		t.Fatal(err)
	}
}

func TestEnsureOpensOnceAndLockOpenRefusesAClosedWave(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	wh, err := pickup.GetWarehouse(ctx, c.DB, c.Warehouse)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		inTx(t, c.DB, func(tx *sqlx.Tx) error { return wave.Ensure(ctx, tx, wh, fulfillmenttest.Date, fulfillmenttest.Now) })
	}
	if n := c.Count(`SELECT count(*) FROM waves`); n != 1 {
		t.Fatalf("%d waves after two Ensure, want 1", n)
	}
	w, err := wave.Of(ctx, c.DB, c.Warehouse, fulfillmenttest.Date)
	if err != nil || w.State != wave.Open || !w.CutoffAt.Equal(fulfillmenttest.Cutoff) {
		t.Fatalf("wave %+v (%v), want open with cutoff %s", w, err, fulfillmenttest.Cutoff)
	}
	inTx(t, c.DB, func(tx *sqlx.Tx) error { return wave.LockOpen(ctx, tx, c.Warehouse, fulfillmenttest.Date) })
	inTx(t, c.DB, func(tx *sqlx.Tx) error {
		return wave.MarkClosed(ctx, tx, w.ID, wave.Totals{Orders: 2, Lines: 3, Units: 4, AmountFen: 500}, fulfillmenttest.Now)
	})
	other := fulfillment.Date{Time: fulfillmenttest.Date.AddDate(0, 0, 1)}
	for date, want := range map[fulfillment.Date]error{fulfillmenttest.Date: wave.ErrNotOpen, other: wave.ErrNotFound} {
		err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { return wave.LockOpen(ctx, tx, c.Warehouse, date) })
		if !errors.Is(err, want) {
			t.Errorf("LockOpen %s: %v, want %v", date, err, want)
		}
	}
	got, err := wave.Get(ctx, c.DB, w.ID)
	if err != nil || got.State != wave.Closed || got.Units != 4 || got.WaitingFor == nil || got.WaitingFor.What != "purchase" {
		t.Fatalf("closed wave %+v (%v): want closed, its totals, waiting for its purchase orders", got, err)
	}
	// Purchased with nothing bought by purchase order: it waits for receipts by hand.
	inTx(t, c.DB, func(tx *sqlx.Tx) error {
		return wave.SetPurchased(ctx, tx, w.ID, wave.Receiving{}, fulfillmenttest.Now)
	})
	if got, _ = wave.Get(ctx, c.DB, w.ID); got.WaitingFor == nil || got.WaitingFor.What != "receipts" {
		t.Fatalf("waits for %+v, want receipts", got.WaitingFor)
	}
}

// TestReadyToAllocate: a closed, purchased wave is allocated when its
// receipts are final, its deadline has passed or every order is closed.
func TestReadyToAllocate(t *testing.T) {
	now := fulfillmenttest.Cutoff.Add(5 * time.Hour)
	past, later := now.Add(-time.Minute), now.Add(time.Minute)
	n := func(v int64) *int64 { return &v }
	for _, c := range []struct {
		name string
		w    wave.Wave
		want bool
		wait string
	}{
		{"open", wave.Wave{State: wave.Open, PurchasedAt: &past, ReceiptsFinal: true}, false, ""},
		{"not purchased", wave.Wave{State: wave.Closed, ReceiptsFinal: true}, false, ""},
		{"nothing bought, no receipts", wave.Wave{State: wave.Closed, PurchasedAt: &past}, false, "receipts"},
		{"receipts by hand", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(3), ReceiptsFinal: true}, true, ""},
		{"orders open", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(3), PurchaseOrdersClosed: 2}, false,
			"waiting for receiving: 2 of 3 purchase orders closed"},
		{"orders closed", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(3), PurchaseOrdersClosed: 3}, true, ""},
		{"nothing to buy", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(0)}, true, ""},
		{"before the deadline", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(3), ReceivingDeadlineAt: &later,
			ReceivingDeadline: clock.NewTimeOfDay(4, 0)}, false, "waiting for receiving: 0 of 3 purchase orders closed, deadline 04:00"},
		{"at the deadline", wave.Wave{State: wave.Closed, PurchasedAt: &past, PurchaseOrders: n(3), ReceivingDeadlineAt: &now}, true, ""},
		{"allocated", wave.Wave{State: wave.Allocated, PurchasedAt: &past, ReceiptsFinal: true}, false, ""},
	} {
		if got := c.w.ReadyToAllocate(now); got != c.want {
			t.Errorf("%s: ready %v, want %v", c.name, got, c.want)
		}
		if c.wait != "" && !strings.Contains(c.w.WaitsFor().Message, c.wait) && c.w.WaitsFor().What != c.wait {
			t.Errorf("%s: waits for %+v, want %q", c.name, c.w.WaitsFor(), c.wait)
		}
	}
}

func TestAdvanceMovesOnlyFromItsState(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	id := c.Wave()
	advance := func(from, to wave.State) bool {
		var moved bool
		inTx(t, c.DB, func(tx *sqlx.Tx) error {
			var err error
			moved, err = wave.Advance(ctx, tx, id, from, to, fulfillmenttest.Now)
			return err
		})
		return moved
	}
	if advance(wave.Closed, wave.Allocated) {
		t.Fatal("an open wave was allocated")
	}
	c.Exec(`UPDATE waves SET state = 'closed' WHERE id = $1`, id)
	if !advance(wave.Closed, wave.Allocated) || advance(wave.Closed, wave.Allocated) {
		t.Fatal("a closed wave should be allocated once")
	}
	if _, err := wave.Get(ctx, c.DB, id+1); !errors.Is(err, wave.ErrNotFound) {
		t.Fatalf("a missing wave: %v", err)
	}
}

func TestOrderingEndsAtTheEarlierOfCutoffAndClose(t *testing.T) {
	cutoff := fulfillmenttest.Cutoff
	early, late := cutoff.Add(-time.Hour), cutoff.Add(time.Hour)
	for _, c := range []struct {
		closed *time.Time
		want   time.Time
	}{{nil, cutoff}, {&early, early}, {&late, cutoff}} {
		if got := (wave.Wave{CutoffAt: cutoff, ClosedAt: c.closed}).OrderingEnds(); !got.Equal(c.want) {
			t.Errorf("closed %v: ordering ends %s, want %s", c.closed, got, c.want)
		}
	}
}

// TestStageRecords: a finished stage keeps its times through a later
// failure and ignores progress; the wave lists its stages.
func TestStageRecords(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	id := c.Wave()
	began, finished := fulfillmenttest.Now, fulfillmenttest.Now.Add(time.Minute)
	if err := wave.ReportProgress(ctx, c.DB, id, wave.StageClose, began, 1, 4); err != nil {
		t.Fatal(err)
	}
	inTx(t, c.DB, func(tx *sqlx.Tx) error {
		return wave.FinishStage(ctx, tx, id, wave.StageClose, began, finished, 4, 4)
	})
	if err := wave.FailStage(ctx, c.DB, id, wave.StageClose, finished.Add(time.Hour), errors.New("boom")); err != nil {
		t.Fatal(err)
	}
	if err := wave.ReportProgress(ctx, c.DB, id, wave.StageClose, began, 0, 9); err != nil {
		t.Fatal(err)
	}
	w, err := wave.Get(ctx, c.DB, id)
	if err != nil || len(w.Stages) != 1 {
		t.Fatalf("stages %+v (%v)", w.Stages, err)
	}
	s := w.Stages[0]
	if s.Attempts != 2 || s.LastError != "boom" || !s.StartedAt.Equal(began) || !s.FinishedAt.Equal(finished) || s.RowsTotal != 4 {
		t.Fatalf("stage record %+v: want 2 attempts, the failure, the finished attempt's times and rows", s)
	}
	at, err := wave.StageFinishedAt(ctx, c.DB, id, wave.StageClose)
	if err != nil || !at.Equal(finished) {
		t.Fatalf("finished at %s (%v)", at, err)
	}
}
