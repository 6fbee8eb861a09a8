package night

import (
	"context"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/wave"
	"time"

	"github.com/jmoiron/sqlx"
)

// closeWave closes an open wave inside tx: it waits for the order batches in
// flight and freezes the totals. Before the cutoff it does
// nothing unless manual. Closing a closed wave does nothing: the scheduler of
// every worker process may ask for the same close.
func closeWave(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, manual bool) (stageResult, error) {
	w, err := wave.Lock(ctx, tx, id)
	if err != nil || w.State != wave.Open || (!manual && now.Before(w.CutoffAt)) {
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

// stageResult is what one attempt of a stage did: nothing (the wave was not
// in the state before the stage), or moved the wave on, having done rows of
// total.
type stageResult struct {
	moved       bool
	done, total int64
}

// movedOn is the result of an attempt that moved the wave on.
func movedOn(done, total int64) stageResult {
	return stageResult{moved: true, done: done, total: total}
}
