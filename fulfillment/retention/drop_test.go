package retention

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
)

// TestARowChangedAfterItsArchiveStopsTheDrop: a parcel collected between
// the night's archive and its drop has as many rows as the archive, but not
// the same ones: the drop refuses, and the next run archives the night as it
// is now.
func TestARowChangedAfterItsArchiveStopsTheDrop(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	egg := c.SaleItem(c.Product("EGG", fulfillment.Ambient, ""), 100, 1000)
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 2})
	d := c.ID(`INSERT INTO deliveries (wave_id, pickup_point_id, state) VALUES ($1, $2, 'received') RETURNING id`, c.Wave(), c.Points[0].ID)
	c.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
		SELECT l.id, $1, o.pickup_point_id, o.resident_id, o.delivery_date, l.quantity, $2
		FROM order_lines l JOIN orders o ON o.id = l.order_id`, d, fulfillmenttest.Now)
	dir := t.TempDir()
	s := NewService(c.DB, clock.NewManual(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)), slog.New(slog.DiscardHandler), Policy{Days: 30, Dir: dir})
	tables, err := Tables(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	var files []archiveFile
	for _, table := range tables {
		f, err := s.archive(ctx, detail{Partition: Partition{Parent: table, Night: fulfillmenttest.Date}, part: 1})
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	c.Exec(`UPDATE parcel_lines SET state = 'collected', collected_at = $1`, fulfillmenttest.Now.Add(time.Hour))
	if err := s.drop(ctx, files); err == nil {
		t.Fatal("the night was dropped though a parcel changed after its archive")
	}
	if n := c.Count(`SELECT count(*) FROM archived_partitions`); n != 0 {
		t.Fatalf("%d archives recorded by a drop that did not happen", n)
	}
	if _, err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	archived, err := List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	var state string
	for _, a := range archived {
		if a.Parent != "parcel_lines" {
			continue
		}
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			if _, err := tx.Exec(`CREATE TEMPORARY TABLE r (LIKE parcel_lines) ON COMMIT DROP`); err != nil {
				return err
			}
			if _, err := Restore(ctx, tx, dir, a, "r"); err != nil {
				return err
			}
			return tx.Get(&state, `SELECT state FROM r`)
		}); err != nil {
			t.Fatal(err)
		}
	}
	if state != "collected" {
		t.Fatalf("the parcel's archive says %q, want collected", state)
	}
}
