// Package jobs is how groupbuy starts asynq tasks: the job outbox, written
// in a command's own transaction and relayed to Redis after the commit, the
// Redis connection option, and the middleware that gives a task its
// request ID and log context.
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/clock"
	"groupbuy/internal/logctx"
	"groupbuy/internal/pg"
)

// Outbox is the job outbox: a command writes the asynq tasks it starts into
// the table jobs inside its own transaction (Add), and a relay hands them to
// Redis after the commit (Relay, right away, and a loop in every API and
// worker process). A change that committed therefore never loses the job
// that follows it, whether Redis was down or the process died between the
// commit and the enqueue. Every job has an asynq TaskID, so a job enqueued
// twice (by two relays, or a relay that died before marking it) collapses
// into one task.
type Outbox struct {
	db     *sqlx.DB
	client *asynq.Client
	clock  clock.Clock
	log    *slog.Logger
	opt    Options

	startOnce sync.Once
	stopOnce  sync.Once
	cancel    context.CancelFunc
	done      chan struct{}

	mu      sync.Mutex
	failing bool // the last relay could not reach Redis

	cannotConfirm sync.Once // warned that Redis refuses the replica wait
}

// Options tune the relay.
type Options struct {
	Batch        int           // rows relayed per transaction (default 100)
	FlushTimeout time.Duration // bound on the relay right after a commit (default 500 ms)
	KeepFor      time.Duration // enqueued rows are deleted after this long (default 7 days)
	// Replicas, the Redis the client enqueues to, is asked to confirm that a
	// replica has what a relay enqueued before the jobs are marked (see
	// waitReplicated); nil: marked once the primary has them.
	Replicas redis.UniversalClient
}

// NewOutbox returns the outbox over db, enqueuing through client.
func NewOutbox(db *sqlx.DB, client *asynq.Client, clock clock.Clock, log *slog.Logger, opt Options) *Outbox {
	if opt.Batch <= 0 {
		opt.Batch = 100
	}
	if opt.FlushTimeout <= 0 {
		opt.FlushTimeout = 500 * time.Millisecond
	}
	if opt.KeepFor <= 0 {
		opt.KeepFor = 7 * 24 * time.Hour
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Outbox{db: db, client: client, clock: clock, log: log, opt: opt}
}

// jobRow is one row of the table jobs.
type jobRow struct {
	ID          int64         `db:"id"`
	TaskType    string        `db:"task_type"`
	Payload     []byte        `db:"payload"`
	TaskID      string        `db:"task_id"`
	Queue       string        `db:"queue"`
	MaxRetry    sql.NullInt64 `db:"max_retry"`
	TimeoutMS   sql.NullInt64 `db:"timeout_ms"`
	RetentionMS sql.NullInt64 `db:"retention_ms"`
	RequestID   string        `db:"request_id"` // of the request that added it; the task's header request_id
}

// Add writes task into the outbox inside tx, to be enqueued once tx has
// committed (see the package function Add); its creation time is the
// outbox's clock.
func (j *Outbox) Add(ctx context.Context, tx sqlx.ExtContext, task *asynq.Task, opts ...asynq.Option) (int64, error) {
	return Add(ctx, tx, j.clock.Now(), task, opts...)
}

// Add writes task into the outbox inside tx, to be enqueued once tx has
// committed: right away when the command hands its id to Outbox.Flush, or
// else by the relay loop every API and worker process runs. opts must
// include asynq.TaskID; asynq.Queue, MaxRetry, Timeout and Retention are
// kept too, other options are refused. Adding a task ID that is already in
// the outbox asks for it to be enqueued again, which collapses into the
// existing task while Redis retains it, as a direct enqueue would. The
// request ID ctx carries (logctx.RequestID) goes with the job into its task.
// It returns the job's id, for Relay. A command that holds no Outbox (a
// ledger's insert deep in another command) adds its jobs through this.
func Add(ctx context.Context, tx sqlx.ExtContext, now time.Time, task *asynq.Task, opts ...asynq.Option) (int64, error) {
	r := jobRow{TaskType: task.Type(), Payload: task.Payload(), Queue: "default", RequestID: logctx.RequestID(ctx)}
	if r.Payload == nil {
		r.Payload = []byte{}
	}
	for _, o := range opts {
		switch o.Type() {
		case asynq.TaskIDOpt:
			r.TaskID = o.Value().(string)
		case asynq.QueueOpt:
			r.Queue = o.Value().(string)
		case asynq.MaxRetryOpt:
			r.MaxRetry = sql.NullInt64{Int64: int64(o.Value().(int)), Valid: true}
		case asynq.TimeoutOpt:
			r.TimeoutMS = sql.NullInt64{Int64: o.Value().(time.Duration).Milliseconds(), Valid: true}
		case asynq.RetentionOpt:
			r.RetentionMS = sql.NullInt64{Int64: o.Value().(time.Duration).Milliseconds(), Valid: true}
		default:
			return 0, fmt.Errorf("jobs: option %s is not kept in the outbox", o)
		}
	}
	if r.TaskID == "" {
		return 0, errors.New("jobs: a job needs asynq.TaskID, so that enqueuing it twice is harmless")
	}
	var id int64
	err := sqlx.GetContext(ctx, tx, &id, `INSERT INTO jobs (task_type, payload, task_id, queue, max_retry, timeout_ms, retention_ms, created_at, request_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (task_id) DO UPDATE SET enqueued_at = NULL, created_at = EXCLUDED.created_at, request_id = EXCLUDED.request_id
		RETURNING id`, r.TaskType, r.Payload, r.TaskID, r.Queue, r.MaxRetry, r.TimeoutMS, r.RetentionMS, now, r.RequestID)
	if err != nil {
		return 0, fmt.Errorf("jobs: add %s: %w", r.TaskID, err)
	}
	return id, nil
}

// Flush relays the given jobs right after their transaction committed, for
// low latency. It is best effort, bounded by FlushTimeout and independent of
// ctx's cancellation: whatever it cannot enqueue (Redis down) stays in the
// outbox for the relay loop.
func (j *Outbox) Flush(ctx context.Context, ids ...int64) {
	ids = slices.DeleteFunc(ids, func(id int64) bool { return id == 0 }) // 0: nothing was added
	if len(ids) == 0 {
		return
	}
	j.mu.Lock()
	failing := j.failing
	j.mu.Unlock()
	if failing {
		// Redis was unreachable a moment ago: do not make the caller wait
		// for it; the relay loop enqueues these when it returns.
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), j.opt.FlushTimeout)
	defer cancel()
	if _, err := j.Relay(ctx, ids...); err != nil {
		j.log.Warn("jobs: not enqueued yet, left in the outbox for the relay", "jobs", ids, "err", err)
	}
}

// FlushOnCommit flushes the given jobs once tx, begun by pg.InTx, has
// committed, and never if it rolls back or is retried: a command adds its
// jobs and hands them on inside its transaction, instead of carrying their
// ids out of it.
func (j *Outbox) FlushOnCommit(ctx context.Context, tx *sqlx.Tx, ids ...int64) {
	pg.AfterCommit(tx, func() { j.Flush(ctx, ids...) })
}

// Relay enqueues pending jobs in id order, one batch in one transaction,
// and marks them enqueued: the given ones, or else the oldest pending. Rows
// another relay holds are skipped. It stops at the first enqueue that fails
// (Redis is then most likely down) and returns how many it enqueued. With
// Options.Replicas, jobs are marked only once a replica has them, so a
// primary that fails over before replicating them leaves them pending, to be
// enqueued again on the replica it promoted.
func (j *Outbox) Relay(ctx context.Context, ids ...int64) (int, error) {
	tx, err := j.db.BeginTxx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit, a no-op
	var rows []jobRow
	const cols = `id, task_type, payload, task_id, queue, max_retry, timeout_ms, retention_ms, request_id`
	if len(ids) > 0 {
		err = tx.SelectContext(ctx, &rows, `SELECT `+cols+` FROM jobs WHERE id = ANY($1) AND enqueued_at IS NULL
			ORDER BY id FOR UPDATE SKIP LOCKED`, pq.Array(ids))
	} else {
		err = tx.SelectContext(ctx, &rows, `SELECT `+cols+` FROM jobs WHERE enqueued_at IS NULL
			ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, j.opt.Batch)
	}
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	var done []int64
	var enqErr error
	for _, r := range rows {
		opts := []asynq.Option{asynq.TaskID(r.TaskID), asynq.Queue(r.Queue)}
		if r.MaxRetry.Valid {
			opts = append(opts, asynq.MaxRetry(int(r.MaxRetry.Int64)))
		}
		if r.TimeoutMS.Valid {
			opts = append(opts, asynq.Timeout(time.Duration(r.TimeoutMS.Int64)*time.Millisecond))
		}
		if r.RetentionMS.Valid {
			opts = append(opts, asynq.Retention(time.Duration(r.RetentionMS.Int64)*time.Millisecond))
		}
		var headers map[string]string
		if r.RequestID != "" {
			headers = map[string]string{HeaderRequestID: r.RequestID}
		}
		_, err := j.client.EnqueueContext(ctx, asynq.NewTaskWithHeaders(r.TaskType, r.Payload, headers), opts...)
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			enqErr = fmt.Errorf("jobs: enqueue %s: %w", r.TaskID, err)
			break
		}
		done = append(done, r.ID)
	}
	if len(done) > 0 && j.opt.Replicas != nil {
		queues := map[string]bool{}
		for _, r := range rows[:len(done)] {
			if !queues[r.Queue] {
				queues[r.Queue] = true
				err := waitReplicated(ctx, j.opt.Replicas, r.Queue)
				if errors.Is(err, errCannotConfirm) {
					j.cannotConfirm.Do(func() { j.log.Warn("jobs: marked enqueued without a replica's confirmation", "err", err) })
					continue
				}
				if err != nil {
					// Unmarked, they are relayed again; the task IDs collapse.
					return 0, fmt.Errorf("jobs: %d enqueued, not yet confirmed by a replica: %w", len(done), err)
				}
			}
		}
	}
	if len(done) > 0 {
		if _, err := tx.ExecContext(ctx, `UPDATE jobs SET enqueued_at = $2 WHERE id = ANY($1)`, pq.Array(done), j.clock.Now()); err != nil {
			return 0, err
		}
		if err := tx.Commit(); err != nil {
			// The tasks are in Redis; relaying them again collapses by task ID.
			return 0, err
		}
	}
	return len(done), enqErr
}

// Pending counts the jobs not yet enqueued.
func (j *Outbox) Pending(ctx context.Context) (int, error) {
	var n int
	err := j.db.GetContext(ctx, &n, `SELECT count(*) FROM jobs WHERE enqueued_at IS NULL`)
	return n, err
}

// Start runs the relay loop every interval until Stop: it enqueues whatever
// could not be enqueued after its commit, e.g. while Redis was down. Every
// API and worker process runs one; they skip each other's rows. Calling
// Start again does nothing.
func (j *Outbox) Start(every time.Duration) {
	j.startOnce.Do(func() {
		ctx, cancel := context.WithCancel(context.Background())
		j.cancel, j.done = cancel, make(chan struct{})
		go j.loop(ctx, every)
	})
}

// Stop ends the relay loop started by Start and waits for it.
func (j *Outbox) Stop() {
	j.stopOnce.Do(func() {
		j.startOnce.Do(func() {}) // no Start after Stop
		if j.cancel != nil {
			j.cancel()
			<-j.done
		}
	})
}

func (j *Outbox) loop(ctx context.Context, every time.Duration) {
	defer close(j.done)
	t := time.NewTicker(every)
	defer t.Stop()
	lastPrune := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		j.relayAll(ctx)
		if time.Since(lastPrune) > time.Hour {
			lastPrune = time.Now()
			pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			if _, err := j.db.ExecContext(pctx, `DELETE FROM jobs WHERE enqueued_at < $1`, j.clock.Now().Add(-j.opt.KeepFor)); err != nil && ctx.Err() == nil {
				j.log.Warn("jobs: prune", "err", err)
			}
			cancel()
		}
	}
}

// relayAll relays batch after batch until the outbox is empty or Redis or
// the database fails, logging an outage once and its end once.
func (j *Outbox) relayAll(ctx context.Context) {
	total := 0
	for ctx.Err() == nil {
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		n, err := j.Relay(rctx)
		cancel()
		total += n
		if err != nil {
			j.mu.Lock()
			first := !j.failing
			j.failing = true
			j.mu.Unlock()
			if first && ctx.Err() == nil {
				j.log.Warn("jobs: relay failing; jobs wait in the outbox", "err", err)
			}
			return
		}
		if n < j.opt.Batch {
			break
		}
	}
	j.mu.Lock()
	recovered := j.failing && ctx.Err() == nil
	if recovered {
		j.failing = false
	}
	j.mu.Unlock()
	if recovered {
		j.log.Info("jobs: relay recovered", "enqueued", total)
	}
}
