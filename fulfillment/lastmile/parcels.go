package lastmile

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// SweepResult counts what one sweep of waiting parcels did.
type SweepResult struct {
	Reminded int64 `json:"reminded"` // reminder notices queued
	Returned int64 `json:"returned"` // parcel lines returned and refunded
}

// Sweep returns and refunds parcels waiting past their last day, and in the
// evening reminds residents of the rest; each warehouse by its own clock.
// Every notice has a key per parcel (resident, point and delivery date), and
// a reminder per evening too, so sweeping again changes nothing.
func (p *Desk) Sweep(ctx context.Context) (SweepResult, error) {
	var total SweepResult
	whs, err := pickup.ListWarehouses(ctx, p.db)
	if err != nil {
		return total, err
	}
	// One warehouse failing does not keep the others' parcels from their
	// returns and reminders: its error is told with the rest swept.
	var failed []error
	for _, w := range whs {
		if ctx.Err() != nil {
			return total, errors.Join(append(failed, ctx.Err())...)
		}
		var res SweepResult
		err := func() error {
			loc, err := w.Location()
			if err != nil {
				return err
			}
			return pg.InTx(ctx, p.db, func(tx *sqlx.Tx) error {
				var err error
				res, err = p.sweepWarehouse(ctx, tx, w.ID, p.clock.Now(), loc)
				return err
			})
		}()
		if err != nil {
			failed = append(failed, fmt.Errorf("sweep parcels of warehouse %s: %w", w.Code, err))
			continue
		}
		total.Reminded += res.Reminded
		total.Returned += res.Returned
	}
	return total, errors.Join(failed...)
}

// waitingLine is a parcel line still waiting at its point.
type waitingLine struct {
	LineID       int64            `db:"order_line_id"`
	OrderID      int64            `db:"order_id"`
	ResidentID   int64            `db:"resident_id"`
	PointID      int64            `db:"pickup_point_id"`
	DeliveryDate fulfillment.Date `db:"delivery_date"`
	WaveID       int64            `db:"wave_id"`
	Ready        int64            `db:"ready"`
	PriceFen     int64            `db:"price_fen"`
	SKU          string           `db:"sku"`
	Name         string           `db:"name"`
	Code         string           `db:"code"`
}

// parcelOf groups a resident's waiting lines of one point and delivery date.
type parcelOf struct {
	point, resident int64
	date            fulfillment.Date
}

func (p *Desk) sweepWarehouse(ctx context.Context, tx *sqlx.Tx, warehouseID int64, now time.Time, loc *time.Location) (SweepResult, error) {
	var res SweepResult
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	lastDelivery := today.AddDate(0, 0, -p.opt.ReturnAfterDays) // delivered before this: past the last day
	remindFrom := p.opt.RemindAt.On(local, loc)
	var err error
	evening := !local.Before(remindFrom) && local.Before(remindFrom.Add(2*time.Hour))
	// Lines past their last day change (below); in the evening, the others
	// are read to remind their residents, skipping those already
	// reminded today, so a sweep every few minutes stays cheap on a city's
	// worth of waiting parcels. Units an approved after-sales claim refunded
	// before collection are neither returned nor refunded again.
	const waiting = `SELECT pl.order_line_id, ol.order_id, pl.resident_id, pl.pickup_point_id, pl.delivery_date,
			d.wave_id, pl.ready - af.units AS ready, ol.price_fen, pr.sku, pr.name, coalesce(c.code, '') AS code
		FROM parcel_lines pl JOIN deliveries d ON d.id = pl.delivery_id JOIN waves w ON w.id = d.wave_id
		` + commission.RefundedBeforeCollection + `
		JOIN order_lines ol ON ol.id = pl.order_line_id AND ol.delivery_date = pl.delivery_date JOIN sale_items si ON si.id = ol.sale_item_id
		JOIN products pr ON pr.id = si.product_id
		LEFT JOIN pickup_codes c ON c.pickup_point_id = pl.pickup_point_id AND c.delivery_date = pl.delivery_date
		     AND c.resident_id = pl.resident_id
		WHERE pl.state = 'ready' AND w.warehouse_id = $1 `
	const order = ` ORDER BY pl.delivery_date, pl.pickup_point_id, pl.resident_id, pl.order_line_id`
	// Lines past their last day are locked first and read after, in a
	// statement of their own: under READ COMMITTED a statement that waited
	// for a line's lock still reads the refunds as they were when it began,
	// and would miss the after-sales refund of the approval it waited for.
	var due []int64
	if err := tx.SelectContext(ctx, &due, `SELECT pl.order_line_id FROM parcel_lines pl
		JOIN deliveries d ON d.id = pl.delivery_id JOIN waves w ON w.id = d.wave_id
		WHERE pl.state = 'ready' AND w.warehouse_id = $1 AND pl.delivery_date < $2
		ORDER BY pl.order_line_id FOR UPDATE OF pl`, warehouseID, lastDelivery); err != nil {
		return res, err
	}
	var lines []waitingLine
	if len(due) > 0 {
		if err := tx.SelectContext(ctx, &lines, waiting+`AND pl.delivery_date < $2 AND pl.order_line_id = ANY($3)`+order,
			warehouseID, lastDelivery, pq.Array(due)); err != nil {
			return res, err
		}
	}
	if evening {
		var remind []waitingLine
		if err := tx.SelectContext(ctx, &remind, waiting+`AND pl.delivery_date BETWEEN $2 AND $3
			AND NOT EXISTS (SELECT 1 FROM outbox o
				WHERE o.dedupe_key = 'reminder:' || to_char(pl.delivery_date, 'YYYY-MM-DD') || ':' || pl.pickup_point_id || ':'
					|| pl.resident_id || ':' || $4)`+order,
			warehouseID, lastDelivery, today, today.Format(time.DateOnly)); err != nil {
			return res, err
		}
		lines = append(lines, remind...)
	}

	var keys []parcelOf
	groups := map[parcelOf][]waitingLine{}
	for _, l := range lines {
		k := parcelOf{l.PointID, l.ResidentID, l.DeliveryDate}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], l)
	}
	points := map[int64]pickup.Point{}
	var notices, reminders []notice.Notice
	var returned []int64
	var returnedNights fulfillment.Dates // theirs, so only their partitions are read
	refunds := map[int64]*refund.Rows{}  // by wave
	for _, k := range keys {
		g := groups[k]
		pt, ok := points[k.point]
		if !ok {
			if pt, err = pickup.GetPoint(ctx, tx, k.point); err != nil {
				return res, err
			}
			points[k.point] = pt
		}
		vars := pointVars(pt)
		if k.date.Before(lastDelivery) {
			returnedNights = append(returnedNights, k.date)
			var items []refund.NoticeItem
			var amount int64
			for _, l := range g {
				returned = append(returned, l.LineID)
				if l.Ready == 0 {
					continue
				}
				if refunds[l.WaveID] == nil {
					refunds[l.WaveID] = &refund.Rows{}
				}
				refunds[l.WaveID].Add(l.OrderID, l.LineID, l.ResidentID, fulfillment.ReasonReturned, l.Ready, l.Ready*l.PriceFen)
				items = append(items, refund.NoticeItem{OrderID: l.OrderID, SKU: l.SKU, Name: l.Name, Quantity: l.Ready,
					AmountFen: l.Ready * l.PriceFen, Reason: fulfillment.ReasonReturned})
				amount += l.Ready * l.PriceFen
			}
			if len(items) == 0 {
				continue
			}
			vars["amount"], vars["items"] = notify.Yuan(amount), refund.ItemsText(items)
			// Keyed by its first line too (lines come in line order): a point
			// with two deliveries of a date (moved between warehouses)
			// returns each in its own sweep.
			notices = append(notices, notice.Notice{ResidentID: k.resident, Kind: notify.KindReturn,
				Key: parcelKey("return", k.date, k.point, k.resident) + ":" + strconv.FormatInt(g[0].LineID, 10),
				Payload: map[string]any{"vars": vars, "delivery_date": k.date.String(), "pickup_point_id": k.point, "items": items,
					"amount_fen": amount}})
			continue
		}
		last := k.date.AddDate(0, 0, p.opt.ReturnAfterDays)
		vars["code"], vars["deadline"] = g[0].Code, fmt.Sprintf("%d月%d日", last.Month(), last.Day())
		var items []refund.NoticeItem
		for _, l := range g {
			if l.Ready > 0 {
				items = append(items, refund.NoticeItem{OrderID: l.OrderID, SKU: l.SKU, Name: l.Name, Quantity: l.Ready})
			}
		}
		if len(items) == 0 {
			continue
		}
		reminders = append(reminders, notice.Notice{ResidentID: k.resident, Kind: notify.KindReminder,
			// One reminder per evening per parcel.
			Key:     reminderKey(k.date, k.point, k.resident, today),
			Payload: map[string]any{"vars": vars, "delivery_date": k.date.String(), "pickup_point_id": k.point, "items": items}})
	}
	if len(returned) > 0 {
		r, err := tx.ExecContext(ctx, `UPDATE parcel_lines SET state = 'returned', returned_at = $2
			WHERE order_line_id = ANY($1) AND delivery_date = ANY($3::date[]) AND state = 'ready'`, pq.Array(returned), now, returnedNights)
		if err != nil {
			return res, err
		}
		res.Returned, _ = r.RowsAffected()
		for waveID, rows := range refunds {
			if err := rows.Insert(ctx, tx, p.opt.Metrics.Refunds, waveID, now); err != nil {
				return res, err
			}
		}
	}
	if _, err := notice.QueueNotices(ctx, tx, p.opt.Metrics.Notices, notices, now); err != nil {
		return res, err
	}
	res.Reminded, err = notice.QueueNotices(ctx, tx, p.opt.Metrics.Notices, reminders, now)
	return res, err
}

// TaskParcelSweep reminds residents of waiting parcels in the evening and
// returns those past their last day. Every worker's scheduler sends it every
// few minutes; the notices' keys make the copies harmless.
const TaskParcelSweep = "parcels:sweep"

// Register adds the parcel sweep handler to mux.
func (p *Desk) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskParcelSweep, func(ctx context.Context, _ *asynq.Task) error {
		res, err := p.Sweep(ctx)
		if err == nil && (res.Reminded > 0 || res.Returned > 0) {
			p.log.InfoContext(ctx, "parcel sweep", "reminded", res.Reminded, "returned", res.Returned)
		}
		return err
	})
}
