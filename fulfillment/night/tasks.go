package night

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/pg"
)

// Task types of the nightly wave.
const (
	// TaskWaveSweep finds open waves past their cutoff (of one warehouse, or
	// all) and enqueues their close. Every worker's scheduler sends it at each
	// warehouse's cutoff in the warehouse's time zone, and every minute as a
	// safety net for a scheduler that was down at the cutoff.
	TaskWaveSweep = "wave:sweep"
	// Each stage of a wave is a task "wave:<stage>" with payload {"wave_id"}:
	// wave:close, wave:allocate, wave:pick, wave:route, wave:ready.
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
	db    *sqlx.DB
	clock clock.Clock
	jobs  *jobs.Outbox
	log   *slog.Logger
	opt   WavesOptions
}

// WavesOptions tune the stages.
type WavesOptions struct {
	RouteBudget  time.Duration // the routing engine's time limit (default 60 s)
	RouteThreads int           // search threads (default 2)
	ServiceTime  time.Duration // time at each pickup point (default 5 min)
	Printer      *Printer      // renders the printouts in the pick and ready stages; nil: none

	// Metrics times each stage and counts the refunds and notices the
	// stages commit; nil fields: nothing.
	Metrics Metrics
}

// NewWaves returns the wave runner; the stages go through the job outbox jobs.
func NewWaves(db *sqlx.DB, clock clock.Clock, jobs *jobs.Outbox, log *slog.Logger, opt WavesOptions) *Waves {
	if opt.RouteBudget <= 0 {
		opt.RouteBudget = 60 * time.Second
	}
	if opt.RouteThreads <= 0 {
		opt.RouteThreads = 2
	}
	if opt.ServiceTime <= 0 {
		opt.ServiceTime = 5 * time.Minute
	}
	opt.Metrics = opt.Metrics.orNone()
	return &Waves{db: db, clock: clock, jobs: jobs, log: log, opt: opt}
}

// RetryDelay is the backoff between attempts of a wave stage: the night is
// short, so 2 s, 4 s, 8 s… up to a minute rather than asynq's default of
// tens of seconds growing to hours.
func RetryDelay(n int, _ error, t *asynq.Task) time.Duration {
	if !strings.HasPrefix(t.Type(), "wave:") {
		return asynq.DefaultRetryDelayFunc(n, nil, t)
	}
	return min(time.Minute, time.Duration(1<<min(n+1, 6))*time.Second)
}

// Register adds the wave task handlers to mux.
func (w *Waves) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskWaveSweep, w.handleSweep)
	for stage := range w.stages() {
		mux.HandleFunc("wave:"+string(stage), w.handleStage(stage))
	}
}

// addStage writes a stage of a wave into the job outbox inside tx, under a
// task ID, so the copies that several schedulers or retries ask for collapse
// into one task. The job is enqueued once tx commits (Jobs.Flush), or by the
// relay loop when Redis was unreachable: a committed stage never loses its
// successor, even if the process dies before the enqueue.
func (w *Waves) addStage(ctx context.Context, tx *sqlx.Tx, stage wave.Stage, waveID int64, suffix string) (int64, error) {
	b, _ := json.Marshal(wavePayload{WaveID: waveID})
	id := fmt.Sprintf("wave:%s:%d%s", stage, waveID, suffix)
	return w.jobs.Add(ctx, tx, asynq.NewTask("wave:"+string(stage), b), asynq.TaskID(id), asynq.Queue("critical"),
		asynq.MaxRetry(10), asynq.Timeout(10*time.Minute), asynq.Retention(48*time.Hour))
}

func (w *Waves) handleSweep(ctx context.Context, t *asynq.Task) error {
	var p sweepPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	due, err := wave.Due(ctx, w.db, w.clock.Now(), p.WarehouseID)
	if err != nil || len(due) == 0 {
		return err
	}
	var jobs []int64
	err = pg.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		jobs = jobs[:0]
		for _, id := range due {
			job, err := w.addStage(ctx, tx, wave.StageClose, id, "")
			if err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		return nil
	})
	if err != nil {
		return err
	}
	w.jobs.Flush(ctx, jobs...)
	return nil
}

// stageFunc runs one stage of a wave inside tx and reports whether it moved
// the wave on; a wave in any other state than the stage expects is left alone.
// A stage with long work reports its progress (outside tx) from its start.
type stageFunc func(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error)

// stages lists the stage functions and what follows each.
func (w *Waves) stages() map[wave.Stage]struct {
	run  stageFunc
	next wave.Stage
} {
	return map[wave.Stage]struct {
		run  stageFunc
		next wave.Stage
	}{
		wave.StageClose: {func(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
			return closeWave(ctx, tx, id, now, false)
		}, wave.StageAllocate},
		wave.StageAllocate: {func(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, progress func(int64, int64)) (stageResult, error) {
			return allocateWave(ctx, tx, w.opt.Metrics, id, now, progress)
		}, wave.StagePick},
		wave.StagePick:  {w.withPrintouts(wave.StagePick, pickWave), wave.StageRoute},
		wave.StageRoute: {nil, wave.StageReady}, // solved outside the transaction: see RunStage
		wave.StageReady: {w.withPrintouts(wave.StageReady, readyWave), ""},
	}
}

func (w *Waves) handleStage(stage wave.Stage) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p wavePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		_, err := w.RunStage(ctx, stage, p.WaveID)
		return err
	}
}

// RunStage runs one stage of a wave in one transaction, records a failure,
// and writes the next stage into the job outbox in the same transaction, to
// be enqueued once it has committed. Running it twice, or after a crash,
// gives the same result: each stage acts only on a wave in the state before
// it, and a stage that committed has its successor in the outbox.
func (w *Waves) RunStage(ctx context.Context, stage wave.Stage, waveID int64) (bool, error) {
	at := w.begin()
	st, ok := w.stages()[stage]
	if !ok {
		return false, apperr.InvalidField("stage", "unknown stage %q", stage)
	}
	if stage == wave.StageRoute {
		// The solver runs for its whole budget; no transaction stays open
		// meanwhile. The write re-checks the wave's state under its lock.
		plan, err := w.planRoutes(ctx, waveID, at)
		if err != nil {
			w.recordFailure(ctx, waveID, stage, at, err)
			return false, err
		}
		st.run = func(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
			return writeRoutes(ctx, tx, id, plan, now)
		}
	}
	return w.runStage(ctx, stage, waveID, st.run, st.next, at)
}

// attempt is one run of a stage: when it began on the clock the wave's
// times are kept in, and on the wall clock its duration metric is taken from.
type attempt struct {
	began time.Time
	wall  time.Time
}

func (w *Waves) begin() attempt { return attempt{began: w.clock.Now(), wall: time.Now()} }

// progressOf reports an attempt's progress from outside its transaction.
func (w *Waves) progressOf(ctx context.Context, waveID int64, stage wave.Stage, at attempt) func(done, total int64) {
	return func(done, total int64) {
		if err := wave.ReportProgress(ctx, w.db, waveID, stage, at.began, done, total); err != nil {
			w.log.WarnContext(ctx, "stage progress", "wave", waveID, "stage", stage, "err", err)
		}
	}
}

// runStage runs an attempt of a stage (the route stage's solver ran before,
// in the same attempt) and records it as the transaction's last statement:
// started_at is when the attempt began, finished_at when it commits.
func (w *Waves) runStage(ctx context.Context, stage wave.Stage, waveID int64, run stageFunc, next wave.Stage, at attempt) (bool, error) {
	progress := w.progressOf(ctx, waveID, stage, at)
	var done bool
	var job int64
	err := pg.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		job = 0
		res, err := run(ctx, tx, waveID, w.clock.Now(), progress)
		if done = res.moved; err != nil || !done {
			return err
		}
		if job, err = w.addNext(ctx, tx, stage, next, waveID); err != nil {
			return err
		}
		// Last, so that finished_at is as near the commit as it can be.
		return wave.FinishStage(ctx, tx, waveID, stage, at.began, w.clock.Now(), res.done, res.total)
	})
	if err != nil {
		w.recordFailure(ctx, waveID, stage, at, err)
		return false, err
	}
	if done {
		took := time.Since(at.wall)
		w.opt.Metrics.Stages.StageDone(stage, took)
		w.log.InfoContext(ctx, "wave stage done", "wave", waveID, "stage", stage, "ms", took.Milliseconds())
		if job != 0 {
			w.jobs.Flush(ctx, job)
		}
	}
	return done, nil
}

// addNext writes the stage after stage into the job outbox inside tx, to be
// enqueued once tx commits; 0 when there is none to add yet.
func (w *Waves) addNext(ctx context.Context, tx *sqlx.Tx, stage, next wave.Stage, waveID int64) (int64, error) {
	if next == "" {
		return 0, nil
	}
	if stage == wave.StageClose {
		// Allocation waits for the final receipts, which usually come
		// after the cutoff and then enqueue it (RecordReceipts). Queued
		// now, it would do nothing, and its task, retained under the
		// same ID, would swallow the one the receipts ask for.
		var final bool
		if err := tx.GetContext(ctx, &final, `SELECT receipts_final FROM waves WHERE id = $1`, waveID); err != nil || !final {
			return 0, err
		}
	}
	// The next stage starts only once this one has committed.
	return w.addStage(ctx, tx, next, waveID, "")
}

// recordFailure notes a failed attempt on the stage, for ops to see.
func (w *Waves) recordFailure(ctx context.Context, waveID int64, stage wave.Stage, at attempt, cause error) {
	if errors.Is(cause, wave.ErrNotFound) {
		return // nothing to record it on
	}
	// Recorded even when ctx ended (that may be the failure).
	if err := wave.FailStage(context.WithoutCancel(ctx), w.db, waveID, stage, at.began, cause); err != nil {
		w.log.ErrorContext(ctx, "record stage failure", "wave", waveID, "stage", stage, "err", err)
	}
}

// Close closes a wave now if its cutoff has passed, or at once when manual
// (ops closing early). It reports whether this call closed it; closing a
// closed wave is a no-op.
func (w *Waves) Close(ctx context.Context, waveID int64, manual bool) (bool, error) {
	return w.runStage(ctx, wave.StageClose, waveID, func(ctx context.Context, tx *sqlx.Tx, id int64, now time.Time, _ func(int64, int64)) (stageResult, error) {
		return closeWave(ctx, tx, id, now, manual)
	}, wave.StageAllocate, w.begin())
}

// RecordReceipts stores what the warehouse received for a wave (before it is
// allocated), optionally choosing the allocation policy. Final receipts of a
// closed wave start its allocation.
func (w *Waves) RecordReceipts(ctx context.Context, waveID int64, policy wave.Policy, final bool, receipts []Receipt) (wave.Wave, error) {
	if policy != "" && policy != wave.FirstComeFirstServed && policy != wave.SpreadEvenly {
		return wave.Wave{}, apperr.InvalidField("policy", "policy must be fcfs or even")
	}
	seen := map[int64]bool{}
	for i, r := range receipts {
		field := func(name string) string { return fulfillment.Field("items", i, name) }
		switch {
		case r.SaleItemID <= 0:
			return wave.Wave{}, apperr.InvalidField(field("sale_item_id"), "sale_item_id must be positive")
		case r.Received < 0 || r.Received > fulfillment.MaxStockCap:
			return wave.Wave{}, apperr.InvalidField(field("received"), "received must be between 0 and %d", fulfillment.MaxStockCap)
		case seen[r.SaleItemID]:
			return wave.Wave{}, apperr.InvalidField(field("sale_item_id"), "sale item %d appears twice", r.SaleItemID)
		}
		seen[r.SaleItemID] = true
	}
	var out wave.Wave
	var job int64
	err := pg.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		job = 0
		out, err = recordReceipts(ctx, tx, waveID, policy, final, receipts, w.clock.Now())
		if err == nil && out.ReceiptsFinal && out.State == wave.Closed {
			job, err = w.addStage(ctx, tx, wave.StageAllocate, waveID, "")
		}
		return err
	})
	if err != nil {
		return out, err
	}
	w.jobs.Flush(ctx, job)
	return out, nil
}

// Rerun enqueues a stage of a wave again, e.g. after fixing its input.
func (w *Waves) Rerun(ctx context.Context, waveID int64, stage wave.Stage) (string, error) {
	if _, err := wave.Get(ctx, w.db, waveID); err != nil {
		return "", err
	}
	if _, ok := w.stages()[stage]; !ok {
		return "", apperr.InvalidField("stage", "unknown stage %q (known: close, allocate, pick, route, ready)", stage)
	}
	suffix := fmt.Sprintf(":rerun:%d", w.clock.Now().UnixNano())
	var job int64
	err := pg.InTx(ctx, w.db, func(tx *sqlx.Tx) error {
		var err error
		job, err = w.addStage(ctx, tx, stage, waveID, suffix)
		return err
	})
	if err != nil {
		return "", err
	}
	w.jobs.Flush(ctx, job)
	return fmt.Sprintf("wave:%s:%d%s", stage, waveID, suffix), nil
}
