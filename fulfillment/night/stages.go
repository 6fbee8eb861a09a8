package night

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
)

// closeAtCutoff is the close stage as the scheduler runs it: an open wave
// closes once its cutoff has passed.
func closeAtCutoff(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
	return closeWave(ctx, tx, id, now, false)
}

// closeNow is the close stage as ops run it: the wave closes at once.
func closeNow(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
	return closeWave(ctx, tx, id, now, true)
}

// closeWave closes an open wave inside tx: it waits for the order batches in
// flight and freezes the totals. Before the cutoff it does nothing unless
// manual. Closing a closed wave does nothing: the scheduler of every worker
// process may ask for the same close. The purchase stage follows.
func closeWave(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, manual bool) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, id)
	if err != nil || w.State != wave.Open || (!manual && now.Before(w.CutoffAt)) {
		return stageResult{}, err
	}
	if _, err := tx.ExecContext(ctx, wholeNight); err != nil {
		return stageResult{}, err
	}
	totals, err := intake.WaveTotals(ctx, tx, w.WarehouseID, w.DeliveryDate)
	if err != nil {
		return stageResult{}, err
	}
	if err := wave.MarkClosed(ctx, tx, id, totals, now); err != nil {
		return stageResult{}, err
	}
	return movedOn(1, 1), nil
}

// purchase is the purchase stage: the closed wave's sales become purchase
// orders to the suppliers (package supply). Allocation follows at once only
// when the wave is ready for it (wave.ReadyToAllocate: nothing to wait for at
// the dock, the receipts typed already, or the deadline past); otherwise
// whoever makes it ready starts it (AllocateIfReady): the dock closing the
// last order, the sweep at the receiving deadline, final receipts by hand.
// Queued early, allocation would do nothing, and its task, retained under
// the same ID, would swallow the one asked for later.
func (r *Runner) purchase(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, progress func(int64, int64)) (stageResult, error) {
	moved, lines, err := r.opt.Supply.Purchase(ctx, tx, id, now, progress)
	if err != nil || !moved {
		return stageResult{}, err
	}
	w, err := wave.Get(ctx, tx, id)
	if err != nil {
		return stageResult{}, err
	}
	res := movedOn(lines, lines)
	res.nextWaits = !w.ReadyToAllocate(now)
	return res, nil
}

// refund is the refund stage, counting its refunds and notices.
func (r *Runner) refund(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, progress func(int64, int64)) (stageResult, error) {
	return refundWave(ctx, tx, r.opt.Metrics, id, now, progress)
}

// planRoutes prepares the route stage of a picked wave: it solves the
// routes outside any transaction, then returns the write, which re-checks
// the wave's state under its lock. A wave that is not picked gets a write
// that does nothing. While the solver runs, the stage's progress is the
// seconds of its budget used.
func (r *Runner) planRoutes(ctx context.Context, waveID int64, progress func(done, total int64)) (stageFunc, error) {
	w, err := wave.Get(ctx, r.db, waveID)
	if err != nil {
		return nil, err
	}
	if w.State != wave.Picked {
		return writeRoutes(nil), nil
	}
	stops, err := stopDemand(ctx, r.db, waveID)
	if err != nil {
		return nil, err
	}
	seed := r.opt.RouteSeed
	if seed == 0 {
		seed = waveID
	}
	solving := func(p wave.RouteProgress) {
		p.UpdatedAt = r.clock.Now()
		if err := wave.SaveRouteProgress(ctx, r.db, waveID, p); err != nil {
			r.log.WarnContext(ctx, "route progress", "wave", waveID, "err", err)
		}
	}
	plan, err := r.planner.Plan(ctx, routeplan.Request{Wave: w, Stops: stops, Seed: seed, Progress: progress, Solving: solving})
	if err != nil {
		// The solve has ended, if badly: the page stops counting down.
		if ferr := wave.FinishRouteProgress(context.WithoutCancel(ctx), r.db, waveID, r.clock.Now()); ferr != nil {
			r.log.WarnContext(ctx, "route progress", "wave", waveID, "err", ferr)
		}
		return nil, err
	}
	return writeRoutes(plan), nil
}

// stopDemand is what each pickup point of a wave receives: its bags.
func stopDemand(ctx context.Context, q sqlx.QueryerContext, waveID int64) ([]routeplan.StopDemand, error) {
	var out []routeplan.StopDemand
	err := sqlx.SelectContext(ctx, q, &out, `SELECT b.pickup_point_id, p.lat, p.lng, sum(b.weight_g) AS weight_g,
			sum(b.volume_ml) AS volume_ml, count(*) AS bags, p.receiving_from, p.receiving_until,
			bool_or(b.zone = 'chilled') AS chilled, bool_or(b.zone = 'frozen') AS frozen
		FROM bags b JOIN pickup_points p ON p.id = b.pickup_point_id WHERE b.wave_id = $1
		GROUP BY b.pickup_point_id, p.lat, p.lng, p.receiving_from, p.receiving_until ORDER BY b.pickup_point_id`, waveID)
	return out, err
}

// writeRoutes stores a solved plan inside tx if the wave is still picked.
// A solve whose routes another attempt wrote first ends the progress too:
// its reports after the winner's end would leave the page counting down.
func writeRoutes(plan *routeplan.Plan) stageFunc {
	return func(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
		w, err := wave.Lock(ctx, tx, waveID)
		if err != nil || plan == nil {
			return stageResult{}, err
		}
		if w.State != wave.Picked {
			return stageResult{}, wave.FinishRouteProgress(ctx, tx, waveID, now)
		}
		served, stops, err := plan.Write(ctx, tx, waveID)
		if err != nil {
			return stageResult{}, err
		}
		if err := wave.FinishRouteProgress(ctx, tx, waveID, now); err != nil {
			return stageResult{}, err
		}
		if _, err := wave.Advance(ctx, tx, waveID, wave.Picked, wave.Routed, now); err != nil {
			return stageResult{}, err
		}
		return movedOn(served, stops), nil
	}
}

// readyWave marks a routed wave ready for dispatch, with one delivery per
// pickup point for the leaders to receive.
func readyWave(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
	if moved, err := wave.Advance(ctx, tx, waveID, wave.Routed, wave.Ready, now); err != nil || !moved {
		return stageResult{}, err
	}
	if err := lastmile.MakeDeliveries(ctx, tx, waveID); err != nil {
		return stageResult{}, err
	}
	return movedOn(1, 1), nil
}
