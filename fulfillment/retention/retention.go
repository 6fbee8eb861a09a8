// Package retention keeps the per-night tables in bounds: it has pg_partman
// make each night's partitions ahead of the night, and archives the partitions of
// nights older than the retention to compressed files before dropping them.
// The partitioned tables are declared in migration 00060
// (night_partitioned_tables); the per-night rows of tables that cannot be
// partitioned are archived and deleted with them (prunedTables); the
// aggregates (waves, refunds, commission, purchase orders) stay.
package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/fulfillment"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// Policy says how far ahead partitions are made and how long nights stay.
type Policy struct {
	// Days is how many nights before today keep their detail; older ones
	// are archived and dropped.
	Days int
	// Dir is where archives are written; "" turns archiving (and so
	// dropping) off.
	Dir string
	// Ahead is how many nights after today get their partitions made
	// before anything is written to them.
	Ahead int
}

// DefaultDays and DefaultAhead are the retention and horizon used when
// none is configured.
const (
	DefaultDays  = 90
	DefaultAhead = 35
)

// LeastDays is the shortest retention that drops no night still in use:
// its pickup codes live pickup.CodeLifeDays (a new code is checked against
// them), and its lines may be claimed for claimWindow after collection,
// which can be as late as the day its parcels are returned
// (returnAfterDays). Claims take a day more, as retention counts days by
// the UTC date, a day ahead of a warehouse west of it.
func LeastDays(returnAfterDays int, claimWindow time.Duration) int {
	claimDays := int((claimWindow + 24*time.Hour - 1) / (24 * time.Hour))
	return max(pickup.CodeLifeDays+2, returnAfterDays+claimDays+3)
}

// lockTimeout bounds how long partition DDL waits behind the night's
// writers: a job that cannot get its lock fails and runs again later,
// rather than stalling intake behind it.
const lockTimeout = "10s"

// dropLockTimeout bounds the wait of a night's drop for the locks of the
// tables its partitions reference: below the deadlock timeout (1 s), and
// short enough that the orders queued behind it are not shed.
const dropLockTimeout = "300ms"

// dropTries is how often a run tries a night's drop that timed out on those
// locks; then it goes again at the next run.
const dropTries = 5

// Service runs the partition jobs of one database.
type Service struct {
	db     *sqlx.DB
	clock  clock.Clock
	log    *slog.Logger
	policy Policy
}

// NewService returns the retention service of db under policy.
func NewService(db *sqlx.DB, clk clock.Clock, log *slog.Logger, policy Policy) *Service {
	if policy.Days <= 0 {
		policy.Days = DefaultDays
	}
	if policy.Ahead <= 0 {
		policy.Ahead = DefaultAhead
	}
	return &Service{db: db, clock: clk, log: log, policy: policy}
}

// today is the current UTC date: partition bounds are dates, and a day's
// difference at the edges of time zones is within any retention.
func (s *Service) today() fulfillment.Date {
	now := s.clock.Now().UTC()
	return fulfillment.Date{Time: time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)}
}

// EnsureAhead makes the partitions of today and the Ahead nights after it
// that are missing, one night per transaction, and returns how many
// partitions it made. Running it again makes none.
func (s *Service) EnsureAhead(ctx context.Context) (int, error) {
	created := 0
	today := s.today()
	for i := 0; i <= s.policy.Ahead; i++ {
		n, err := EnsureNight(ctx, s.db, fulfillment.Date{Time: today.AddDate(0, 0, i)})
		created += n
		if err != nil {
			return created, err
		}
	}
	return created, nil
}

// EnsureNight makes the partitions of one night that are missing, in a
// transaction of its own, and returns how many it made. A command that
// brings a night beyond those made ahead (a pre-sale published further out)
// calls it before its own transaction: made inside it (by the waves
// trigger), the partitions' foreign keys locked orders, sale items and
// residents until it committed, and every order waited.
func EnsureNight(ctx context.Context, db *sqlx.DB, night fulfillment.Date) (int, error) {
	var n int
	err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
			return err
		}
		return tx.GetContext(ctx, &n, `SELECT night_partitions_ensure($1)`, night)
	})
	if err != nil {
		return 0, fmt.Errorf("partitions of %s: %w", night, err)
	}
	return n, nil
}

// Partition is one table's partition of one night.
type Partition struct {
	Parent string
	Night  fulfillment.Date
}

// Name is the partition's table name (night_partition_name in SQL, and the
// names pg_partman is set to give): order_lines_p20261201. A pruned table's
// archive files take the same name.
func (p Partition) Name() string { return p.Parent + "_p" + p.Night.Format("20060102") }

// Tables returns the partitioned tables in the order their partitions are
// made; they are dropped in the reverse order.
func Tables(ctx context.Context, q sqlx.QueryerContext) ([]string, error) {
	var tables pq.StringArray
	err := sqlx.GetContext(ctx, q, &tables, `SELECT night_partitioned_tables()`)
	return tables, err
}

// pruned is a table with rows of each night that is not partitioned (see
// migration 00060 for why): a night's rows are archived like a partition,
// then deleted in the transaction that drops the night's partitions.
type pruned struct {
	table string
	// nights selects the nights before $1 that have rows to go; of is the
	// condition on the table's rows (as t) of night $1 that go. A row that
	// only qualifies once its night has been archived (a notice given up
	// late) goes with the next run, in a later part of the night.
	nights, of string
}

// prunedTables are pruned in this order, after the partitions are dropped
// (order_lines references orders).
var prunedTables = []pruned{
	{table: "delivery_lines",
		nights: `SELECT w.delivery_date FROM waves w WHERE w.delivery_date < $1
			AND EXISTS (SELECT 1 FROM deliveries d JOIN delivery_lines l ON l.delivery_id = d.id WHERE d.wave_id = w.id)`,
		of: `t.delivery_id IN (SELECT d.id FROM deliveries d JOIN waves w ON w.id = d.wave_id WHERE w.delivery_date = $1)`},
	// An order a refund or an after-sale claim names stays with them: their
	// pages read the order's point and date.
	{table: "orders",
		nights: `SELECT DISTINCT t.delivery_date FROM orders t WHERE t.delivery_date < $1 AND ` + orderGoes,
		of:     `t.delivery_date = $1 AND ` + orderGoes},
	// Notices sent or given up; the night is the UTC date they were queued.
	{table: "outbox",
		nights: `SELECT DISTINCT (t.created_at AT TIME ZONE 'UTC')::date FROM outbox t
			WHERE (t.created_at AT TIME ZONE 'UTC')::date < $1 AND ` + noticeDone,
		of: `(t.created_at AT TIME ZONE 'UTC')::date = $1 AND ` + noticeDone},
	// The road matrices cached for a wave's routing.
	ofWave("wave_matrices"),
	// The night's plan: what allocation cut from each short line (a row per
	// cut line, tens of thousands on a night the dock came up short), and
	// the pick's lines and bags. The refunds the cuts made stay.
	ofWave("line_cuts"),
	ofWave("pick_lines"),
	ofWave("bags"),
}

// ofWave is a pruned table whose rows belong to a wave (wave_id, indexed):
// they go with the wave's night.
func ofWave(table string) pruned {
	return pruned{table: table,
		nights: `SELECT w.delivery_date FROM waves w WHERE w.delivery_date < $1
			AND EXISTS (SELECT 1 FROM ` + table + ` t WHERE t.wave_id = w.id)`,
		of: `t.wave_id IN (SELECT w.id FROM waves w WHERE w.delivery_date = $1)`}
}

const (
	orderGoes = `NOT EXISTS (SELECT 1 FROM refunds f WHERE f.order_id = t.id)
		AND NOT EXISTS (SELECT 1 FROM aftersale_claims c WHERE c.order_id = t.id)`
	noticeDone = `(t.sent_at IS NOT NULL OR t.failed_at IS NOT NULL)`
)

// Nights returns the nights before `before` that still have a partition of
// any table, or rows of a pruned table to archive, oldest first.
func Nights(ctx context.Context, q sqlx.QueryerContext, before fulfillment.Date) ([]fulfillment.Date, error) {
	union := `SELECT to_date(right(c.relname, 8), 'YYYYMMDD') AS night
		FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
		WHERE p.relname = ANY(night_partitioned_tables()) AND c.relname = night_partition_name(p.relname, to_date(right(c.relname, 8), 'YYYYMMDD'))
		  AND to_date(right(c.relname, 8), 'YYYYMMDD') < $1`
	for _, p := range prunedTables {
		union += ` UNION ` + p.nights
	}
	var nights []fulfillment.Date
	err := sqlx.SelectContext(ctx, q, &nights, `SELECT night FROM (`+union+`) AS u ORDER BY night`, before)
	return nights, err
}

// Result is what one retention run did.
type Result struct {
	Nights     int   // nights archived and dropped
	Partitions int   // partitions dropped
	Pruned     int   // nights of pruned tables deleted (table by table)
	Rows       int64 // rows archived
	Bytes      int64 // compressed bytes written
}

// ErrNoArchiveDir refuses to drop anything when there is nowhere to keep it.
var ErrNoArchiveDir = errors.New("retention: no archive directory (GROUPBUY_ARCHIVE_DIR) is set; nothing is dropped")

// Run archives and drops the partitions of every night older than the
// retention. Each night is archived table by table (file written under a
// temporary name, synced, counted back, renamed), then in one transaction
// recorded in archived_partitions and dropped. A crash before that
// transaction leaves the night in place and its next run writes the same
// files again; after it, the night is gone and recorded, so no run archives
// or drops a night twice.
func (s *Service) Run(ctx context.Context) (Result, error) {
	var res Result
	if s.policy.Dir == "" {
		return res, ErrNoArchiveDir
	}
	before := fulfillment.Date{Time: s.today().AddDate(0, 0, -s.policy.Days)}
	nights, err := Nights(ctx, s.db, before)
	if err != nil {
		return res, err
	}
	tables, err := Tables(ctx, s.db)
	if err != nil {
		return res, err
	}
	for _, night := range nights {
		// A night archived before and loaded back (Restore) is archived
		// again as its next part: a file on record is never written over.
		var parts []struct {
			Parent string `db:"parent"`
			Parts  int    `db:"parts"`
		}
		if err := s.db.SelectContext(ctx, &parts, `SELECT parent, count(*) AS parts FROM archived_partitions
			WHERE delivery_date = $1 GROUP BY parent`, night); err != nil {
			return res, err
		}
		next := map[string]int{}
		for _, p := range parts {
			next[p.Parent] = p.Parts
		}
		var sources []detail
		for _, t := range tables {
			sources = append(sources, detail{Partition: Partition{Parent: t, Night: night}, part: next[t] + 1})
		}
		for _, p := range prunedTables {
			sources = append(sources, detail{Partition: Partition{Parent: p.table, Night: night}, of: p.of, part: next[p.table] + 1})
		}
		files := make([]archiveFile, 0, len(sources))
		for _, d := range sources {
			f, err := s.archive(ctx, d)
			if errors.Is(err, errNoPartition) {
				continue
			}
			if err != nil {
				return res, fmt.Errorf("archive %s: %w", d.Name(), err)
			}
			files = append(files, f)
		}
		if err := s.drop(ctx, files); err != nil {
			return res, fmt.Errorf("drop the night of %s: %w", night, err)
		}
		res.Nights++
		for _, f := range files {
			if f.pruned() {
				res.Pruned++
			} else {
				res.Partitions++
			}
			res.Rows += f.Rows
			res.Bytes += f.Bytes
		}
		s.log.InfoContext(ctx, "night archived", "night", night.String(), "tables", len(files))
	}
	if res.Pruned == 0 {
		return res, nil
	}
	// The deleted rows' space is reused by the next nights only once it is
	// vacuumed: at once, rather than whenever autovacuum's thresholds (or a
	// server with autovacuum off) get to it. Outside any transaction.
	for _, p := range prunedTables {
		if _, err := s.db.ExecContext(ctx, `VACUUM (ANALYZE) `+pq.QuoteIdentifier(p.table)); err != nil {
			return res, fmt.Errorf("vacuum %s: %w", p.table, err)
		}
	}
	return res, nil
}

// drop removes what files archived of a night, checking that what goes is
// what was archived, in two transactions. The partitions go first and on
// their own: dropping one drops its foreign keys, which locks the tables
// they reference (orders, sale items, waves, residents, points, deliveries)
// against every order until the commit, so that transaction ends as soon
// as they go. The pruned tables' rows go after (the orders only once the
// lines referencing them are gone); should that fail, or the process die
// between, the next run finds those rows and archives them as the next part.
func (s *Service) drop(ctx context.Context, files []archiveFile) error {
	var partitions, pruned []archiveFile
	for _, f := range files {
		if f.pruned() {
			pruned = append(pruned, f)
		} else {
			partitions = append([]archiveFile{f}, partitions...)
		}
	}
	err := s.dropPartitions(ctx, partitions)
	for try := 1; pg.IsLockTimeout(err) && try < dropTries; try++ {
		// Orders held the locks the drop wants, and it let them go first.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try) * time.Second):
		}
		err = s.dropPartitions(ctx, partitions)
	}
	if err != nil || len(pruned) == 0 {
		return err
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
			return err
		}
		for _, f := range pruned {
			// A pruned table's rows are summed as they are deleted, so one
			// written since it was archived is not lost.
			if err := s.checkAndRecord(ctx, tx, f, `WITH t AS (DELETE FROM `+pq.QuoteIdentifier(f.Parent)+` t WHERE `+f.of+` RETURNING t.*)
				SELECT count(*) AS rows, `+rowsSum+` AS sum FROM t`, f.Night); err != nil {
				return err
			}
		}
		return nil
	})
}

// dropPartitions checks and drops a night's partitions in one transaction
// whose strong locks are taken last, just before the commit. They wait less
// than PostgreSQL's deadlock timeout, so an order holding one of them and
// wanting a lock this holds is never the one aborted: the drop gives up.
func (s *Service) dropPartitions(ctx context.Context, partitions []archiveFile) error {
	if len(partitions) == 0 {
		return nil
	}
	return pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+lockTimeout+`'`); err != nil {
			return err
		}
		for _, f := range partitions {
			// A partition is locked against writes before it is summed.
			if _, err := tx.ExecContext(ctx, `LOCK TABLE `+pq.QuoteIdentifier(f.Name())+` IN SHARE MODE`); err != nil {
				return err
			}
			from, args := f.from()
			if err := s.checkAndRecord(ctx, tx, f, `SELECT count(*) AS rows, `+rowsSum+` AS sum FROM `+from, args...); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+dropLockTimeout+`'`); err != nil {
			return err
		}
		for _, f := range partitions {
			// A partition other partitions' keys reference must be detached
			// before it can go; detaching checks nothing references it.
			if _, err := tx.ExecContext(ctx, fmt.Sprintf(`ALTER TABLE %s DETACH PARTITION %s`,
				pq.QuoteIdentifier(f.Parent), pq.QuoteIdentifier(f.Name()))); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+pq.QuoteIdentifier(f.Name())); err != nil {
				return err
			}
		}
		return nil
	})
}

// checkAndRecord runs q, which counts and sums f's rows as they stand (or
// as they are deleted), refuses a difference from f's archive, and records
// f as archived.
func (s *Service) checkAndRecord(ctx context.Context, tx *sqlx.Tx, f archiveFile, q string, args ...any) error {
	var got struct {
		Rows int64  `db:"rows"`
		Sum  string `db:"sum"`
	}
	if err := tx.GetContext(ctx, &got, q, args...); err != nil {
		return err
	}
	if got.Rows != f.Rows || got.Sum != f.sum {
		return fmt.Errorf("%s has %d rows, its archive %d, or a row changed since it was archived", f.Name(), got.Rows, f.Rows)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO archived_partitions (parent, delivery_date, part, file, columns, rows, bytes, sha256, archived_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		f.Parent, f.Night, f.part, f.File, pq.Array(f.Columns), f.Rows, f.Bytes, f.SHA256, s.clock.Now())
	return err
}

// Archived is one archived partition as recorded.
type Archived struct {
	Parent     string           `db:"parent"`
	Night      fulfillment.Date `db:"delivery_date"`
	Part       int              `db:"part"` // 1, or more for a pruned table's rows that went later
	File       string           `db:"file"`
	Columns    pq.StringArray   `db:"columns"`
	Rows       int64            `db:"rows"`
	Bytes      int64            `db:"bytes"`
	SHA256     string           `db:"sha256"`
	ArchivedAt time.Time        `db:"archived_at"`
}

// List returns the archived partitions, oldest night first.
func List(ctx context.Context, q sqlx.QueryerContext) ([]Archived, error) {
	out := []Archived{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT parent, delivery_date, part, file, columns, rows, bytes, sha256, archived_at
		FROM archived_partitions ORDER BY delivery_date, parent, part`)
	return out, err
}

// Task types of the partition jobs.
const (
	// TaskEnsurePartitions makes the coming nights' partitions, hourly.
	TaskEnsurePartitions = "retention:ensure-partitions"
	// TaskArchive archives and drops the nights past the retention, hourly.
	TaskArchive = "retention:archive"
)

// Register adds the partition jobs' handlers to mux.
func (s *Service) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskEnsurePartitions, func(ctx context.Context, _ *asynq.Task) error {
		n, err := s.EnsureAhead(ctx)
		if n > 0 {
			s.log.InfoContext(ctx, "night partitions made", "partitions", n)
		}
		return err
	})
	mux.HandleFunc(TaskArchive, func(ctx context.Context, _ *asynq.Task) error {
		if s.policy.Dir == "" {
			return nil // off: nothing is dropped without an archive
		}
		_, err := s.Run(ctx)
		return err
	})
}
