// Package pg is groupbuy's PostgreSQL plumbing: connecting, one transaction
// per command with retries and after-commit hooks, one-row loads, prepared
// queries, and telling PostgreSQL's errors apart.
package pg

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	neturl "net/url"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Open connects to PostgreSQL and checks the connection. A URL that does
// not parse is refused without quoting it: the parser's message repeats
// the password, or the part of it before a '#'.
func Open(ctx context.Context, url string, maxConns int) (*sqlx.DB, error) {
	if strings.Contains(url, "://") {
		if _, err := neturl.Parse(url); err != nil {
			return nil, errors.New("the database URL does not parse: percent-encode a %, #, /, ? or blank in its password")
		}
	}
	db, err := sqlx.Open("postgres", withDriverDefaults(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if maxConns <= 0 {
		maxConns = 20
	}
	db.SetMaxOpenConns(maxConns)
	db.SetMaxIdleConns(maxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to database: %w", err)
	}
	return db, nil
}

// InTx runs fn in one transaction and commits it; a serialization failure or
// deadlock (which PostgreSQL resolves by aborting one side) is retried.
func InTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	for attempt := 0; ; attempt++ {
		err := inTx(ctx, db, fn)
		if err == nil || attempt == 4 || !IsRetryable(err) {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
}

func inTx(ctx context.Context, db *sqlx.DB, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.BeginTxx(ctx, nil)
	if err != nil {
		return beginError{err}
	}
	hooks := &commitHooks{}
	txHooks.Store(tx, hooks)
	defer txHooks.Delete(tx)
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	hooks.run()
	return nil
}

// beginError is a failure to begin a transaction: nothing was sent but BEGIN.
type beginError struct{ err error }

func (e beginError) Error() string { return e.err.Error() }
func (e beginError) Unwrap() error { return e.err }

// IsRetryable reports a transaction aborted by PostgreSQL's concurrency
// control, which succeeds when run again; or one that could not begin on a
// pooled connection the server had closed (a PostgreSQL restart leaves one
// such connection per pool slot), which a fresh connection may begin.
func IsRetryable(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && (pqErr.Code == "40001" || pqErr.Code == "40P01") {
		return true
	}
	var b beginError
	if !errors.As(err, &b) {
		return false
	}
	return errors.As(err, &pqErr) && pqErr.Code == "57P01" || // terminated by the server's shutdown
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// IsLockTimeout reports a statement that gave up waiting for a lock
// (lock_timeout).
func IsLockTimeout(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "55P03"
}

// IsUniqueViolation reports a unique-constraint violation, optionally on a
// named constraint.
func IsUniqueViolation(err error, constraint string) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505" && (constraint == "" || pqErr.Constraint == constraint)
}

// IsForeignKeyViolation reports a foreign-key violation.
func IsForeignKeyViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23503"
}

// withDriverDefaults adds what groupbuy wants of every connection unless the
// URL says otherwise: lib/pq's binary_parameters, so a query with arguments
// costs one round trip to the server instead of two (parse, then bind and
// execute); the session time zone UTC, so timestamps come back in UTC; and a
// connect timeout, so that a server that accepts TCP but does not answer (a
// host gone, a network partition) fails a request in seconds, not minutes.
func withDriverDefaults(dsn string) string {
	for _, kv := range [][2]string{{"binary_parameters", "yes"}, {"timezone", "UTC"}, {"connect_timeout", "5"}} {
		if strings.Contains(strings.ToLower(dsn), kv[0]+"=") {
			continue
		}
		switch {
		case !strings.Contains(dsn, "://"):
			dsn += " " + kv[0] + "=" + kv[1]
		case strings.Contains(dsn, "?"):
			dsn += "&" + kv[0] + "=" + kv[1]
		default:
			dsn += "?" + kv[0] + "=" + kv[1]
		}
	}
	return dsn
}

// GetOne runs a query for one row into a T, answering notFound when there is
// none: the shape of every "load one by key" in the stores.
func GetOne[T any](ctx context.Context, q sqlx.QueryerContext, notFound error, query string, args ...any) (T, error) {
	var v T
	err := sqlx.GetContext(ctx, q, &v, query, args...)
	if errors.Is(err, sql.ErrNoRows) {
		return v, notFound
	}
	return v, err
}

// EachRow runs a query and calls each for every row as it streams in, for
// reads too large to hold as structs (a night's lines): each scans the row.
func EachRow(ctx context.Context, q sqlx.QueryerContext, each func(*sql.Rows) error, query string, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// Prepared is a query prepared on first use and kept: PostgreSQL then plans
// it once per connection instead of on every execution, which matters for
// short queries on a hot path (a pickup code lookup plans in longer than it
// runs). database/sql prepares it again on each pooled connection as needed.
type Prepared struct {
	db    *sqlx.DB
	query string

	mu   sync.Mutex
	stmt *sqlx.Stmt
}

// NewPrepared returns query, to be prepared on db when first used.
func NewPrepared(db *sqlx.DB, query string) *Prepared {
	return &Prepared{db: db, query: query}
}

// On returns the statement for q: the pool's, or bound to the transaction q.
func (p *Prepared) On(ctx context.Context, q sqlx.QueryerContext) (*sqlx.Stmt, error) {
	p.mu.Lock()
	if p.stmt == nil {
		stmt, err := p.db.PreparexContext(ctx, p.query)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		p.stmt = stmt
	}
	stmt := p.stmt
	p.mu.Unlock()
	if tx, ok := q.(*sqlx.Tx); ok {
		return tx.StmtxContext(ctx, stmt), nil
	}
	return stmt, nil
}

// Select runs the statement on q into dest.
func (p *Prepared) Select(ctx context.Context, q sqlx.QueryerContext, dest any, args ...any) error {
	stmt, err := p.On(ctx, q)
	if err != nil {
		return err
	}
	return stmt.SelectContext(ctx, dest, args...)
}
