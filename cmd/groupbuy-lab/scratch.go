package main

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/localserver"
	"groupbuy/internal/pg"
	"groupbuy/migrations"
)

// scratch is what every benchmark runs against: a migrated scratch database
// on DATABASE_URL's server and a Redis (REDIS_URL, else a private
// redis-server), both removed by close unless kept.
type scratch struct {
	DatabaseURL, RedisURL string
	db                    *sqlx.DB
	undo                  []func()
}

// newScratch makes the scratch servers; the database's name starts with
// groupbuy_<prefix>_, and this process's pool to it has pool connections.
func newScratch(ctx context.Context, env labEnv, prefix string, keep bool, pool int, stderr io.Writer) (s *scratch, err error) {
	if env.DatabaseURL == "" {
		return nil, fmt.Errorf("%s: DATABASE_URL must name a PostgreSQL server (a scratch database is made there)", prefix)
	}
	s = &scratch{RedisURL: env.RedisURL}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	name := "groupbuy_" + prefix + "_" + randomHex(4)
	if s.DatabaseURL, err = withDatabase(env.DatabaseURL, name); err != nil {
		return s, err
	}
	if err := adminExec(ctx, env.DatabaseURL, "CREATE DATABASE "+name); err != nil {
		return s, err
	}
	if keep {
		fmt.Fprintf(stderr, "keeping scratch database %s\n", name)
	} else {
		s.undo = append(s.undo, func() {
			_ = adminExec(context.Background(), env.DatabaseURL, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	if s.RedisURL == "" {
		dir, err := os.MkdirTemp("", "groupbuy-"+prefix+"-redis-")
		if err != nil {
			return s, err
		}
		s.undo = append(s.undo, func() { _ = os.RemoveAll(dir) })
		rs, err := localserver.StartRedis(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			return s, fmt.Errorf("start private Redis: %w", err)
		}
		s.undo = append(s.undo, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = rs.Stop(sctx)
		})
		s.RedisURL = rs.URL()
	}
	if s.db, err = pg.Open(ctx, s.DatabaseURL, pool); err != nil {
		return s, err
	}
	s.undo = append(s.undo, func() { s.db.Close() })
	return s, migrations.Up(ctx, s.db)
}

// close undoes what newScratch did, last first.
func (s *scratch) close() {
	for i := len(s.undo) - 1; i >= 0; i-- {
		s.undo[i]()
	}
	s.undo = nil
}

// groupbuyEnv is the environment of the groupbuy processes a benchmark
// starts on its scratch servers, on top of the lab's own.
func (s *scratch) groupbuyEnv() []string {
	return []string{"DATABASE_URL=" + s.DatabaseURL, "REDIS_URL=" + s.RedisURL, "GROUPBUY_LABEL_KEY=" + scratchLabelKey}
}

// scratchLabelKey is a label key for the groupbuy processes of a benchmark
// over a scratch database: serve and worker refuse the dev key, and nothing
// printed there is ever scanned.
var scratchLabelKey = randomHex(16)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = crand.Read(b)
	return hex.EncodeToString(b)
}

// withDatabase returns a PostgreSQL URL naming another database.
func withDatabase(pgURL, name string) (string, error) {
	u, err := url.Parse(pgURL)
	if err != nil {
		return "", fmt.Errorf("DATABASE_URL: %w", err)
	}
	u.Path = "/" + name
	return u.String(), nil
}

// adminExec runs one statement, such as CREATE DATABASE, on pgURL's server.
func adminExec(ctx context.Context, pgURL, stmt string) error {
	db, err := sqlx.Open("postgres", pgURL)
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}
