package notice

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"golang.org/x/sync/errgroup"

	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup/notify"
)

// TaskDispatchNotices sends the outbox's due notices. Every worker's
// scheduler sends it every few seconds; copies running at once in several
// workers claim disjoint rows.
const TaskDispatchNotices = "notices:dispatch"

// Dispatcher sends the notices queued in the outbox through the channels,
// in their fallback order, with retries and backoff per notice. A notice is
// sent at most once per key while its row says sent; a worker killed between
// sending and recording may send it again after the lease, with the same
// idempotency key, which receivers de-duplicate by.
type Dispatcher struct {
	db        *sqlx.DB
	clock     clock.Clock
	channels  []notify.Channel
	templates notify.Templates
	quiet     notify.QuietHours
	log       *slog.Logger
	opt       DispatchOptions
	// running lets one run at a time send from this process: the scheduler
	// starts a task every few seconds, and a long backlog must not fill every
	// asynq slot of the worker with copies.
	running sync.Mutex
}

// DispatchOptions tune the dispatcher.
type DispatchOptions struct {
	Batch       int           // notices claimed at once (default 500)
	Concurrency int           // sends in flight (default 64)
	Lease       time.Duration // how long a claim holds a row (default 1 min)
	MaxAttempts int           // then the notice is marked failed (default 12)
	RunFor      time.Duration // one task sends for at most this long, then leaves the rest to the next (default 5 min)

	// Metrics counts what became of each attempt, once recorded; nil: nothing.
	Metrics NoticeMetrics
}

// NewDispatcher returns a dispatcher over the channels, tried in order.
func NewDispatcher(db *sqlx.DB, clock clock.Clock, channels []notify.Channel, templates notify.Templates, quiet notify.QuietHours,
	log *slog.Logger, opt DispatchOptions) *Dispatcher {
	if opt.Batch <= 0 {
		opt.Batch = 500
	}
	if opt.Concurrency <= 0 {
		opt.Concurrency = 64
	}
	if opt.Lease <= 0 {
		opt.Lease = time.Minute
	}
	if opt.MaxAttempts <= 0 {
		opt.MaxAttempts = 12
	}
	if opt.RunFor <= 0 {
		opt.RunFor = 5 * time.Minute
	}
	if templates == nil {
		templates = notify.DefaultTemplates()
	}
	opt.Metrics = orNoMetrics(opt.Metrics)
	return &Dispatcher{db: db, clock: clock, channels: channels, templates: templates, quiet: quiet, log: log, opt: opt}
}

// Register adds the dispatch task handler to mux.
func (d *Dispatcher) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskDispatchNotices, func(ctx context.Context, _ *asynq.Task) error {
		_, err := d.Run(ctx)
		return err
	})
}

// DispatchResult counts what a run did.
type DispatchResult struct {
	Sent     int `json:"sent"`
	Retrying int `json:"retrying"` // failed this time, due again after a backoff
	Deferred int `json:"deferred"` // waiting out quiet hours
	Failed   int `json:"failed"`   // gave up
}

// Run sends due notices batch after batch until none is due, ctx ends or
// RunFor has passed.
func (d *Dispatcher) Run(ctx context.Context) (DispatchResult, error) {
	var total DispatchResult
	if len(d.channels) == 0 {
		// Nothing configured (a laptop): notices wait in the outbox rather
		// than fail for want of a channel.
		return total, nil
	}
	if !d.running.TryLock() {
		return total, nil
	}
	defer d.running.Unlock()
	stop := time.Now().Add(d.opt.RunFor)
	for time.Now().Before(stop) && ctx.Err() == nil {
		res, n, err := d.dispatchBatch(ctx)
		total.Sent += res.Sent
		total.Retrying += res.Retrying
		total.Deferred += res.Deferred
		total.Failed += res.Failed
		if err != nil || n < d.opt.Batch {
			return total, err
		}
	}
	return total, nil
}

// claimedNotice is an outbox row claimed for sending, with its resident.
type claimedNotice struct {
	ID         int64           `db:"id"`
	ResidentID int64           `db:"resident_id"`
	Kind       notify.Kind     `db:"kind"`
	Key        string          `db:"dedupe_key"`
	Payload    json.RawMessage `db:"payload"`
	CreatedAt  time.Time       `db:"created_at"`
	Attempts   int             `db:"attempts"`
	Phone      string          `db:"phone"`
	Name       string          `db:"name"`
	Email      string          `db:"email"`
	OptedOut   pq.StringArray  `db:"opted_out"`
	TimeZone   string          `db:"time_zone"`
}

// outcome is what became of one claimed notice.
type outcome struct {
	id      int64
	channel string    // sent through it
	next    time.Time // due again then
	undo    bool      // the attempt does not count (quiet hours, out of time)
	failed  bool      // gave up
	err     string
}

// quietUntil stands in for SMS during quiet hours: the notice waits.
type quietUntil struct{ end time.Time }

func (q quietUntil) Name() string { return notify.ChannelSMS }
func (q quietUntil) Send(context.Context, notify.Message) error {
	return errQuiet{q.end}
}

type errQuiet struct{ end time.Time }

func (e errQuiet) Error() string { return "quiet hours until " + e.end.Format(time.RFC3339) }

// recordTimeout bounds writing a batch's outcomes once its context ended.
const recordTimeout = 10 * time.Second

func (d *Dispatcher) dispatchBatch(ctx context.Context) (DispatchResult, int, error) {
	var res DispatchResult
	now := d.clock.Now()
	var rows []claimedNotice
	err := pg.InTx(ctx, d.db, func(tx *sqlx.Tx) error {
		return tx.SelectContext(ctx, &rows, `WITH due AS (
				SELECT id FROM outbox
				WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
				ORDER BY next_attempt_at, id LIMIT $2 FOR UPDATE SKIP LOCKED),
			claimed AS (
				UPDATE outbox o SET claimed_until = $3, attempts = o.attempts + 1 FROM due WHERE o.id = due.id
				RETURNING o.id, o.resident_id, o.kind, o.dedupe_key, o.payload, o.created_at, o.attempts)
			SELECT c.*, r.phone, r.name, r.email, r.opted_out, w.time_zone
			FROM claimed c JOIN residents r ON r.id = c.resident_id
			JOIN pickup_points p ON p.id = r.pickup_point_id JOIN warehouses w ON w.id = p.warehouse_id
			ORDER BY c.id`, now, d.opt.Batch, now.Add(d.opt.Lease))
	})
	if err != nil || len(rows) == 0 {
		return res, 0, err
	}
	// Sends stop well inside the lease, so no other worker claims a row
	// this one is still sending.
	sendCtx, cancel := context.WithTimeout(ctx, d.opt.Lease*3/4)
	defer cancel()
	// A batch spans a handful of warehouses: load each time zone once, not
	// once per notice (LoadLocation reads the zone file every call).
	zones := map[string]*time.Location{}
	for _, r := range rows {
		if _, ok := zones[r.TimeZone]; !ok {
			loc, err := time.LoadLocation(r.TimeZone)
			if err != nil {
				loc = time.UTC
			}
			zones[r.TimeZone] = loc
		}
	}
	outcomes := make([]outcome, len(rows))
	g := errgroup.Group{}
	g.SetLimit(d.opt.Concurrency)
	for i := range rows {
		g.Go(func() error {
			outcomes[i] = d.send(sendCtx, rows[i], zones[rows[i].TimeZone], now) // each goroutine its own element
			return nil
		})
	}
	_ = g.Wait()
	for _, o := range outcomes {
		switch {
		case o.channel != "":
			res.Sent++
		case o.failed:
			res.Failed++
		case o.undo:
			res.Deferred++
		default:
			res.Retrying++
		}
	}
	// What was sent must be written even when sending ran out of time or the
	// task's context ended (a deploy's shutdown, a lost lease): unrecorded,
	// those notices would go out again once the lease expires.
	recCtx, cancelRec := context.WithTimeout(context.WithoutCancel(ctx), recordTimeout)
	defer cancelRec()
	if err := d.record(recCtx, outcomes, d.clock.Now()); err != nil {
		return res, len(rows), err
	}
	for i, o := range outcomes {
		outcome := "retry"
		switch {
		case o.channel != "":
			outcome = "sent"
		case o.failed:
			outcome = "failed"
		case o.undo:
			outcome = "deferred"
		}
		d.opt.Metrics.NoticeDispatched(o.channel, rows[i].Kind, outcome)
	}
	return res, len(rows), nil
}

// send renders and sends one notice; it never returns an error, only the outcome.
func (d *Dispatcher) send(ctx context.Context, n claimedNotice, loc *time.Location, now time.Time) outcome {
	o := outcome{id: n.ID}
	var p struct {
		Vars map[string]string `json:"vars"`
	}
	text := ""
	err := json.Unmarshal(n.Payload, &p)
	if err == nil {
		text, err = d.templates.Render(n.Kind, p.Vars)
	}
	if err != nil {
		o.failed, o.err = true, "render: "+err.Error()
		return o
	}
	chans := d.channels
	if quiet, end := d.quiet.Until(now, loc); quiet {
		chans = make([]notify.Channel, len(d.channels))
		for i, c := range d.channels {
			chans[i] = c
			if c.Name() == notify.ChannelSMS {
				chans[i] = quietUntil{end}
			}
		}
	}
	m := notify.Message{Key: n.Key, Kind: n.Kind, ResidentID: n.ResidentID, Phone: n.Phone, Email: n.Email, Name: n.Name,
		Text: text, Vars: p.Vars, Payload: n.Payload, CreatedAt: n.CreatedAt}
	used, err := notify.SendFirst(ctx, chans, m, func(ch string) bool { return slices.Contains(n.OptedOut, ch) })
	if err == nil {
		o.channel = used
		return o
	}
	o.err = pg.Text(err.Error(), 500)
	var q errQuiet
	switch {
	case errors.As(err, &q):
		// Delayed, not dropped: due again when quiet hours end.
		o.next, o.undo = q.end, true
	case ctx.Err() != nil:
		o.next, o.undo = now, true
	case notify.IsPermanent(err) || n.Attempts >= d.opt.MaxAttempts:
		o.failed = true
	default:
		o.next = now.Add(Backoff(n.Attempts))
	}
	return o
}

// Backoff is the wait before attempt n+1 of a notice: 10 s doubling to an hour.
func Backoff(n int) time.Duration {
	return min(time.Hour, 10*time.Second<<min(max(n-1, 0), 10))
}

// record writes the outcomes of a batch in two statements.
func (d *Dispatcher) record(ctx context.Context, outs []outcome, now time.Time) error {
	var sentIDs, otherIDs []int64
	var sentVia, errs []string
	var next []time.Time
	var undo, failed []bool
	for _, o := range outs {
		if o.channel != "" {
			sentIDs, sentVia = append(sentIDs, o.id), append(sentVia, o.channel)
			continue
		}
		otherIDs, errs, next = append(otherIDs, o.id), append(errs, o.err), append(next, o.next)
		undo, failed = append(undo, o.undo), append(failed, o.failed)
	}
	return pg.InTx(ctx, d.db, func(tx *sqlx.Tx) error {
		if len(sentIDs) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE outbox o SET sent_at = $3, channel = t.ch, claimed_until = NULL, last_error = ''
				FROM unnest($1::bigint[], $2::text[]) AS t(id, ch) WHERE o.id = t.id AND o.sent_at IS NULL`,
				pq.Array(sentIDs), pq.Array(sentVia), now); err != nil {
				return err
			}
		}
		if len(otherIDs) == 0 {
			return nil
		}
		nextS := make([]string, len(next))
		for i, t := range next {
			nextS[i] = t.UTC().Format(time.RFC3339Nano)
		}
		_, err := tx.ExecContext(ctx, `UPDATE outbox o SET claimed_until = NULL, last_error = t.err,
				next_attempt_at = CASE WHEN t.failed THEN o.next_attempt_at ELSE t.next END,
				attempts = o.attempts - CASE WHEN t.undo THEN 1 ELSE 0 END,
				failed_at = CASE WHEN t.failed THEN $6::timestamptz END
			FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::bool[], $5::bool[]) AS t(id, err, next, undo, failed)
			WHERE o.id = t.id AND o.sent_at IS NULL`,
			pq.Array(otherIDs), pq.Array(errs), pq.Array(nextS), pq.Array(undo), pq.Array(failed), now)
		return err
	})
}

// NoticeStats counts the outbox by kind and state, for ops.
type NoticeStats struct {
	Kind     notify.Kind `db:"kind" json:"kind"`
	Queued   int64       `db:"queued" json:"queued"`
	Sent     int64       `db:"sent" json:"sent"`
	Failed   int64       `db:"failed" json:"failed"`
	Retrying int64       `db:"retrying" json:"retrying"` // queued after at least one failed attempt
}

// OutboxStats summarises the outbox by kind.
func OutboxStats(ctx context.Context, q sqlx.QueryerContext) ([]NoticeStats, error) {
	out := []NoticeStats{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT kind,
		count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued,
		count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
		count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
		count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL AND last_error <> '') AS retrying
		FROM outbox GROUP BY kind ORDER BY kind`)
	return out, err
}
