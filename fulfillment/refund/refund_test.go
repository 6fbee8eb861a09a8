package refund_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestLedgerNeverRefundsALineTwice: rows added again for the same line and
// reason are skipped; the wave's summary names every reason.
func TestLedgerNeverRefundsALineTwice(t *testing.T) {
	ctx := context.Background()
	c := fulfillmenttest.New(t, 1)
	item := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 100)
	order := c.Order(0, fulfillmenttest.Line{SaleItem: item, Quantity: 5})
	line := c.Count(`SELECT id FROM order_lines WHERE order_id = $1`, order)
	wave, resident := c.Wave(), c.Points[0].Resident
	for range 2 {
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			var rows refund.Rows
			rows.Add(order, line, resident, fulfillment.ReasonShortage, 2, 200)
			rows.Add(order, line, resident, fulfillment.ReasonDamaged, 1, 100)
			return rows.Insert(ctx, tx, nil, wave, fulfillmenttest.Now)
		}); err != nil {
			t.Fatal(err)
		}
	}
	err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		_, err := refund.Add(ctx, tx, nil, refund.Row{WaveID: wave, OrderID: order, LineID: line, ResidentID: resident,
			Reason: fulfillment.ReasonDamaged, Quantity: 1, AmountFen: 100}, fulfillmenttest.Now)
		return err
	})
	if !errors.Is(err, refund.ErrDuplicate) {
		t.Fatalf("a second damaged refund of the line: %v, want %v", err, refund.ErrDuplicate)
	}
	s, err := refund.WaveSummary(ctx, c.DB, wave)
	if err != nil || s.Lines != 2 || s.Units != 3 || s.AmountFen != 300 || len(s.ByReason) != len(fulfillment.RefundReasons) ||
		s.ByReason[fulfillment.ReasonShortage].Units != 2 {
		t.Fatalf("summary %+v (%v)", s, err)
	}
	if ok, err := refund.Exists(ctx, c.DB, line, fulfillment.ReasonAfterSale); err != nil || ok {
		t.Fatalf("an after-sale refund that was never granted: %v %v", ok, err)
	}
}
