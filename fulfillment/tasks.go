package fulfillment

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/internal/platform"
)

// Task types of the nightly wave.
const (
	// TaskWaveSweep finds open waves past their cutoff (of one warehouse, or
	// all) and enqueues their close. Every worker's scheduler sends it at each
	// warehouse's cutoff in the warehouse's time zone, and every minute as a
	// safety net for a scheduler that was down at the cutoff.
	TaskWaveSweep = "wave:sweep"
	// TaskWaveClose closes one wave.
	TaskWaveClose = "wave:close"
	// TaskWaveAllocate allocates a closed wave whose receipts are final.
	TaskWaveAllocate = "wave:allocate"
)

type sweepPayload struct {
	WarehouseID int64 `json:"warehouse_id,omitempty"`
}

type wavePayload struct {
	WaveID int64 `json:"wave_id"`
}

// NewSweepTask returns the sweep task for a warehouse (0: every warehouse).
func NewSweepTask(warehouseID int64) *asynq.Task {
	b, _ := json.Marshal(sweepPayload{WarehouseID: warehouseID})
	return asynq.NewTask(TaskWaveSweep, b)
}

// Waves runs the stages of the night as asynq tasks.
type Waves struct {
	db     *sqlx.DB
	clock  platform.Clock
	client *asynq.Client
	log    *slog.Logger
}

// NewWaves returns the wave runner; client enqueues the stages.
func NewWaves(db *sqlx.DB, clock platform.Clock, client *asynq.Client, log *slog.Logger) *Waves {
	return &Waves{db: db, clock: clock, client: client, log: log}
}

// Register adds the wave task handlers to mux.
func (w *Waves) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskWaveSweep, w.handleSweep)
	mux.HandleFunc(TaskWaveClose, w.handleClose)
	mux.HandleFunc(TaskWaveAllocate, w.handleAllocate)
}

// enqueueStage enqueues a stage of a wave under a task ID, so the copies
// that several schedulers or retries ask for collapse into one task.
func (w *Waves) enqueueStage(ctx context.Context, stage Stage, waveID int64, suffix string) error {
	b, _ := json.Marshal(wavePayload{WaveID: waveID})
	id := fmt.Sprintf("wave:%s:%d%s", stage, waveID, suffix)
	_, err := w.client.EnqueueContext(ctx, asynq.NewTask("wave:"+string(stage), b), asynq.TaskID(id), asynq.Queue("critical"),
		asynq.MaxRetry(10), asynq.Timeout(10*time.Minute), asynq.Retention(48*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

func (w *Waves) handleSweep(ctx context.Context, t *asynq.Task) error {
	var p sweepPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	due, err := DueWaves(ctx, w.db, w.clock.Now(), p.WarehouseID)
	if err != nil {
		return err
	}
	for _, id := range due {
		if err := w.enqueueStage(ctx, StageClose, id, ""); err != nil {
			return err
		}
	}
	return nil
}

func (w *Waves) handleClose(ctx context.Context, t *asynq.Task) error {
	var p wavePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	_, err := w.Close(ctx, p.WaveID, false)
	return err
}

// Close closes a wave now if its cutoff has passed (or manual is set). It
// reports whether this call closed it; closing a closed wave is a no-op.
func (w *Waves) Close(ctx context.Context, waveID int64, manual bool) (bool, error) {
	var closed bool
	err := platform.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		closed, err = closeWave(ctx, tx, waveID, w.clock.Now(), manual)
		return err
	})
	if err != nil {
		if ferr := failStage(context.Background(), w.db, waveID, StageClose, w.clock.Now(), err); ferr != nil {
			w.log.Error("record stage failure", "wave", waveID, "err", ferr)
		}
		return false, err
	}
	if closed {
		w.log.Info("wave closed", "wave", waveID, "manual", manual)
		// The next stage starts only once this one has committed.
		if err := w.enqueueStage(ctx, StageAllocate, waveID, ""); err != nil {
			return true, err
		}
	}
	return closed, nil
}

func (w *Waves) handleAllocate(ctx context.Context, t *asynq.Task) error {
	var p wavePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	_, err := w.Allocate(ctx, p.WaveID)
	return err
}

// Allocate runs the allocate stage of a wave: cuts, refunds and notices for
// short SKUs, all in one transaction. It does nothing unless the wave is
// closed with final receipts, so running it twice, or after a crash, gives
// the same result.
func (w *Waves) Allocate(ctx context.Context, waveID int64) (bool, error) {
	var done bool
	err := platform.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		done, err = allocateWave(ctx, tx, waveID, w.clock.Now())
		return err
	})
	if err != nil {
		if ferr := failStage(context.Background(), w.db, waveID, StageAllocate, w.clock.Now(), err); ferr != nil {
			w.log.Error("record stage failure", "wave", waveID, "err", ferr)
		}
		return false, err
	}
	if done {
		w.log.Info("wave allocated", "wave", waveID)
	}
	return done, nil
}

// RecordReceipts stores what the warehouse received for a wave (before it is
// allocated), optionally choosing the allocation policy. Final receipts of a
// closed wave start its allocation.
func (w *Waves) RecordReceipts(ctx context.Context, waveID int64, policy Policy, final bool, receipts []Receipt) (Wave, error) {
	if policy != "" && policy != FirstComeFirstServed && policy != SpreadEvenly {
		return Wave{}, platform.InvalidField("policy", "policy must be fcfs or even")
	}
	seen := map[int64]bool{}
	for i, r := range receipts {
		field := func(name string) string { return "items[" + itoa(i) + "]." + name }
		switch {
		case r.SaleItemID <= 0:
			return Wave{}, platform.InvalidField(field("sale_item_id"), "sale_item_id must be positive")
		case r.Received < 0 || r.Received > MaxStockCap:
			return Wave{}, platform.InvalidField(field("received"), "received must be between 0 and %d", MaxStockCap)
		case seen[r.SaleItemID]:
			return Wave{}, platform.InvalidField(field("sale_item_id"), "sale item %d appears twice", r.SaleItemID)
		}
		seen[r.SaleItemID] = true
	}
	var out Wave
	err := platform.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = recordReceipts(ctx, tx, waveID, policy, final, receipts, w.clock.Now())
		return err
	})
	if err == nil && out.ReceiptsFinal && out.State == WaveClosed {
		err = w.enqueueStage(ctx, StageAllocate, waveID, "")
	}
	return out, err
}

// Rerun enqueues a stage of a wave again, e.g. after fixing its input.
func (w *Waves) Rerun(ctx context.Context, waveID int64, stage Stage) (string, error) {
	if _, err := GetWave(ctx, w.db, waveID); err != nil {
		return "", err
	}
	switch stage {
	case StageClose, StageAllocate:
	default:
		return "", platform.InvalidField("stage", "unknown stage %q (known: close, allocate)", stage)
	}
	suffix := fmt.Sprintf(":rerun:%d", w.clock.Now().UnixNano())
	return fmt.Sprintf("wave:%s:%d%s", stage, waveID, suffix), w.enqueueStage(ctx, stage, waveID, suffix)
}
