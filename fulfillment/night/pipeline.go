// Package night runs a wave's night: one table of stages (close, purchase,
// allocate, pick, refund, route, ready) that the Runner follows as asynq
// tasks, each stage in one transaction that writes its successor into the
// job outbox. It owns
// what the stages make: wave_receipts, line_cuts, pick_lines, sort_lines,
// bags and printouts. It reads the orders and sale items (intake's and
// catalog's tables) in SQL, as the allocation and pick plans are joins over
// them, but writes only its own tables; a wave's state and stage records
// change through package wave, the routes through routeplan, the refunds
// through refund, and the ready stage makes the deliveries through lastmile.
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
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
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
	// wave:close, wave:purchase, wave:allocate, wave:pick, wave:refund,
	// wave:route, wave:ready.
)

type sweepPayload struct {
	WarehouseID int64 `json:"warehouse_id,omitempty"`
}

type wavePayload struct {
	WaveID int64 `json:"wave_id"`
	// At is when the stage was asked for, on the asker's clock. A stage
	// that waits for a time (the close for the cutoff, allocation for the
	// receiving deadline) takes it as passed when the asker saw it passed:
	// on a worker whose clock runs a little behind, it would otherwise do
	// nothing, and its task, retained under the stage's ID, would swallow
	// every later ask.
	At time.Time `json:"at,omitzero"`
}

// NewSweepTask returns the sweep task for a warehouse (0: every warehouse).
func NewSweepTask(warehouseID int64) *asynq.Task {
	b, _ := json.Marshal(sweepPayload{WarehouseID: warehouseID})
	return asynq.NewTask(TaskWaveSweep, b)
}

// Runner runs the stages of the night as asynq tasks, following one table
// of stages (stages).
type Runner struct {
	db      *sqlx.DB
	clock   clock.Clock
	jobs    *jobs.Outbox
	log     *slog.Logger
	planner *routeplan.Planner
	opt     Options
	table   []stage
}

// Options tune the stages.
type Options struct {
	Route routeplan.Options // the route stage's solver
	// RouteSeed seeds the route stage's solver; 0 seeds each wave with its
	// id, so a rerun of a wave's route stage plans the same routes.
	RouteSeed int64
	Printer   *Printer // renders the printouts in the pick and ready stages; nil: none
	// Supply makes the purchase stage's orders; nil: a service of the
	// runner's own, with the default options.
	Supply *supply.Service

	// Metrics times each stage and counts the refunds and notices the
	// stages commit; nil fields: nothing.
	Metrics Metrics
}

// NewRunner returns the wave runner; the stages go through the job outbox jobs.
func NewRunner(db *sqlx.DB, clock clock.Clock, jobs *jobs.Outbox, log *slog.Logger, opt Options) *Runner {
	opt.Metrics = opt.Metrics.orNone()
	if opt.Supply == nil {
		opt.Supply = supply.NewService(db, clock, jobs, log, supply.Options{})
	}
	r := &Runner{db: db, clock: clock, jobs: jobs, log: log, opt: opt, planner: routeplan.NewPlanner(db, log, opt.Route)}
	r.table = r.stages()
	return r
}

// stageFunc runs one stage of a wave inside tx and reports whether it moved
// the wave on; a wave in any other state than the stage expects is left alone.
// A stage with long work reports its progress (outside tx) from its start.
type stageFunc func(ctx context.Context, tx *sqlx.Tx, waveID int64, now time.Time, progress func(done, total int64)) (stageResult, error)

// stage is one entry of the night's table: the stage, what it does, and the
// stage that follows once it has committed ("" for the last).
type stage struct {
	name wave.Stage
	// prepare, when set, does the stage's long work before its transaction
	// and returns what the transaction then runs: no transaction stays open
	// while the route solver uses its whole budget.
	prepare func(ctx context.Context, waveID int64, progress func(done, total int64)) (stageFunc, error)
	run     stageFunc
	next    wave.Stage
}

// stages is the night, in order: each stage acts only on a wave in the
// state the one before leaves it in.
func (r *Runner) stages() []stage {
	return []stage{
		{name: wave.StageClose, run: closeAtCutoff, next: wave.StagePurchase},
		{name: wave.StagePurchase, run: r.purchase, next: wave.StageAllocate},
		{name: wave.StageAllocate, run: allocateWave, next: wave.StagePick},
		{name: wave.StagePick, run: r.withPrintouts(wave.StagePick, pickWave), next: wave.StageRefund},
		{name: wave.StageRefund, run: r.refund, next: wave.StageRoute},
		{name: wave.StageRoute, prepare: r.planRoutes, next: wave.StageReady},
		{name: wave.StageReady, run: r.withPrintouts(wave.StageReady, readyWave)},
	}
}

// stage returns the table's entry of a stage.
func (r *Runner) stage(name wave.Stage) (stage, bool) {
	for _, st := range r.table {
		if st.name == name {
			return st, true
		}
	}
	return stage{}, false
}

// stageResult is what one attempt of a stage did: nothing (the wave was not
// in the state before the stage), or moved the wave on, having done rows of
// total. nextWaits holds the next stage back: it needs someone else's part
// first, and whoever brings it enqueues the stage.
type stageResult struct {
	moved       bool
	done, total int64
	nextWaits   bool
}

// movedOn is the result of an attempt that moved the wave on.
func movedOn(done, total int64) stageResult {
	return stageResult{moved: true, done: done, total: total}
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
func (r *Runner) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskWaveSweep, r.handleSweep)
	for _, st := range r.table {
		mux.HandleFunc("wave:"+string(st.name), r.handleStage(st.name))
	}
}

// addStage writes a stage of a wave into the job outbox inside tx, under a
// task ID, so the copies that several schedulers or retries ask for collapse
// into one task. The job is enqueued once tx commits (Jobs.Flush), or by the
// relay loop when Redis was unreachable: a committed stage never loses its
// successor, even if the process dies before the enqueue.
func (r *Runner) addStage(ctx context.Context, tx *sqlx.Tx, stage wave.Stage, waveID int64, suffix string) (int64, error) {
	b, _ := json.Marshal(wavePayload{WaveID: waveID, At: r.clock.Now()})
	id := fmt.Sprintf("wave:%s:%d%s", stage, waveID, suffix)
	queue, timeout := jobs.QueueCritical, stageTimeout
	if stage == wave.StageRoute {
		queue = jobs.QueueRoute // long and CPU-bound: workers of its own, so no city's short stages wait behind it
		// A large wave solves for its whole budget (up to an hour): the task
		// outlasts it by the time the plan's reading and writing take.
		timeout += r.opt.Route.Budget
	}
	return r.jobs.Add(ctx, tx, asynq.NewTask("wave:"+string(stage), b), asynq.TaskID(id), asynq.Queue(queue),
		asynq.MaxRetry(stageRetries), asynq.Timeout(timeout), asynq.Retention(48*time.Hour))
}

const (
	// progressWait bounds a progress report (see progressOf).
	progressWait = 250 * time.Millisecond
	// stageTimeout bounds one attempt of a stage.
	stageTimeout = 10 * time.Minute
	// stageRetries: a stage is idempotent, and nothing else asks for the
	// pick, refund, route or ready stages again, so it retries a minute
	// apart (RetryDelay) for a week rather than be archived after a few
	// minutes of a database outage, leaving the night stalled.
	stageRetries = 7 * 24 * 60
)

func (r *Runner) handleSweep(ctx context.Context, t *asynq.Task) error {
	var p sweepPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	due, err := wave.Due(ctx, r.db, r.clock.Now(), p.WarehouseID)
	if err != nil {
		return err
	}
	// Closed waves past their receiving deadline (or otherwise ready) are
	// allocated: the deadline passes without anyone's doing.
	ready, err := wave.DueForAllocation(ctx, r.db, r.clock.Now())
	if err != nil || len(due)+len(ready) == 0 {
		return err
	}
	err = pg.InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var jobs []int64
		for _, id := range due {
			job, err := r.addStage(ctx, tx, wave.StageClose, id, "")
			if err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		for _, id := range ready {
			job, err := r.AllocateIfReady(ctx, tx, id)
			if err != nil {
				return err
			}
			jobs = append(jobs, job)
		}
		r.jobs.FlushOnCommit(ctx, tx, jobs...)
		return nil
	})
	return err
}

func (r *Runner) handleStage(stage wave.Stage) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p wavePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		_, err := r.runAsked(ctx, stage, p.WaveID, p.At)
		return err
	}
}

// RunStage runs one stage of a wave in one transaction, records a failure,
// and writes the next stage into the job outbox in the same transaction, to
// be enqueued once it has committed. Running it twice, or after a crash,
// gives the same result: each stage acts only on a wave in the state before
// it, and a stage that committed has its successor in the outbox.
func (r *Runner) RunStage(ctx context.Context, name wave.Stage, waveID int64) (bool, error) {
	return r.runAsked(ctx, name, waveID, time.Time{})
}

// runAsked runs a stage asked for at asked (wavePayload.At; zero: now).
func (r *Runner) runAsked(ctx context.Context, name wave.Stage, waveID int64, asked time.Time) (bool, error) {
	st, ok := r.stage(name)
	if !ok {
		return false, apperr.InvalidField("stage", "unknown stage %q", name)
	}
	at := r.begin()
	at.notBefore = asked
	return r.runStage(ctx, st, waveID, at)
}

// attempt is one run of a stage: when it began on the clock the wave's
// times are kept in, and on the wall clock its duration metric is taken from.
type attempt struct {
	began time.Time
	wall  time.Time
	// notBefore is the earliest now the stage is run with (wavePayload.At).
	notBefore time.Time
}

// now is the time the attempt's stage runs at.
func (r *Runner) now(at attempt) time.Time {
	if now := r.clock.Now(); now.After(at.notBefore) {
		return now
	}
	return at.notBefore
}

func (r *Runner) begin() attempt { return attempt{began: r.clock.Now(), wall: time.Now()} }

// progressOf reports an attempt's progress from outside its transaction,
// on a connection of its own. It waits progressWait at most and is dropped
// after that: stages holding every connection of the pool, each waiting
// for one more to report on, held each other until their tasks timed out.
func (r *Runner) progressOf(ctx context.Context, waveID int64, stage wave.Stage, at attempt) func(done, total int64) {
	return func(done, total int64) {
		ctx, cancel := context.WithTimeout(ctx, progressWait)
		defer cancel()
		if err := wave.ReportProgress(ctx, r.db, waveID, stage, at.began, done, total); err != nil {
			r.log.WarnContext(ctx, "stage progress", "wave", waveID, "stage", stage, "err", err)
		}
	}
}

// runStage runs an attempt of a stage (its prepare first, when it has one)
// and records it as the transaction's last statement: started_at is when
// the attempt began, finished_at when it commits.
func (r *Runner) runStage(ctx context.Context, st stage, waveID int64, at attempt) (bool, error) {
	progress := r.progressOf(ctx, waveID, st.name, at)
	run := st.run
	if st.prepare != nil {
		var err error
		if run, err = st.prepare(ctx, waveID, progress); err != nil {
			r.recordFailure(ctx, waveID, st.name, at, err)
			return false, err
		}
	}
	var done bool
	err := pg.InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		res, err := run(ctx, tx, waveID, r.now(at), progress)
		if done = res.moved; err != nil || !done {
			return err
		}
		// The next stage starts only once this one has committed.
		if st.next != "" && !res.nextWaits {
			job, err := r.addStage(ctx, tx, st.next, waveID, "")
			if err != nil {
				return err
			}
			r.jobs.FlushOnCommit(ctx, tx, job)
		}
		// Last, so that finished_at is as near the commit as it can be.
		return wave.FinishStage(ctx, tx, waveID, st.name, at.began, r.clock.Now(), res.done, res.total)
	})
	if err != nil {
		r.recordFailure(ctx, waveID, st.name, at, err)
		return false, err
	}
	if done {
		took := time.Since(at.wall)
		r.opt.Metrics.Stages.StageDone(st.name, took)
		r.log.InfoContext(ctx, "wave stage done", "wave", waveID, "stage", st.name, "ms", took.Milliseconds())
	}
	return done, nil
}

// recordFailure notes a failed attempt on the stage, for ops to see.
func (r *Runner) recordFailure(ctx context.Context, waveID int64, stage wave.Stage, at attempt, cause error) {
	if errors.Is(cause, wave.ErrNotFound) {
		return // nothing to record it on
	}
	// Recorded even when ctx ended (that may be the failure).
	if err := wave.FailStage(context.WithoutCancel(ctx), r.db, waveID, stage, at.began, cause); err != nil {
		r.log.ErrorContext(ctx, "record stage failure", "wave", waveID, "stage", stage, "err", err)
	}
}

// Close closes a wave now if its cutoff has passed, or at once when manual
// (ops closing early): the close stage's entry, run with the manual rule.
// It reports whether this call closed it; closing a closed wave is a no-op.
func (r *Runner) Close(ctx context.Context, waveID int64, manual bool) (bool, error) {
	st, _ := r.stage(wave.StageClose)
	if manual {
		st.run = closeNow
	}
	return r.runStage(ctx, st, waveID, r.begin())
}

// AllocateIfReady starts a wave's allocation inside tx when the wave is
// ready for it (wave.ReadyToAllocate), returning the job to flush once tx
// has committed; 0 when it is not ready.
func (r *Runner) AllocateIfReady(ctx context.Context, tx *sqlx.Tx, waveID int64) (int64, error) {
	w, err := wave.Lock(ctx, tx, waveID)
	if err != nil || !w.ReadyToAllocate(r.clock.Now()) {
		return 0, err
	}
	return r.addStage(ctx, tx, wave.StageAllocate, waveID, "")
}

// RecordReceipts stores what the warehouse received for a wave (before it is
// allocated), typed by hand: it overrides what receiving counted, and is
// kept with who did it (by) and what it replaced. Optionally it chooses the
// allocation policy. Final receipts of a closed wave start its allocation.
func (r *Runner) RecordReceipts(ctx context.Context, waveID int64, policy wave.Policy, final bool, receipts []Receipt, by string) (wave.Wave, error) {
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
	err := pg.InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		var err error
		if out, err = recordReceipts(ctx, tx, waveID, policy, final, receipts, by, r.clock.Now()); err != nil {
			return err
		}
		job, err := r.AllocateIfReady(ctx, tx, waveID)
		r.jobs.FlushOnCommit(ctx, tx, job)
		return err
	})
	return out, err
}

// Rerun enqueues a stage of a wave again, e.g. after fixing its input.
func (r *Runner) Rerun(ctx context.Context, waveID int64, name wave.Stage) (string, error) {
	if _, err := wave.Get(ctx, r.db, waveID); err != nil {
		return "", err
	}
	if _, ok := r.stage(name); !ok {
		known := make([]string, len(r.table))
		for i, st := range r.table {
			known[i] = string(st.name)
		}
		return "", apperr.InvalidField("stage", "unknown stage %q (known: %s)", name, strings.Join(known, ", "))
	}
	suffix := fmt.Sprintf(":rerun:%d", r.clock.Now().UnixNano())
	err := pg.InTx(ctx, r.db, func(tx *sqlx.Tx) error {
		job, err := r.addStage(ctx, tx, name, waveID, suffix)
		if err != nil {
			return err
		}
		r.jobs.FlushOnCommit(ctx, tx, job)
		return wave.Record(ctx, tx, waveID, wave.EventStageRerun, name, "", r.clock.Now())
	})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("wave:%s:%d%s", name, waveID, suffix), nil
}
