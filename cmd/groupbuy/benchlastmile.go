package main

// Shared by the benchmarks: scratch servers.

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"groupbuy/internal/clock"
	"groupbuy/internal/localserver"
)

// scratchServers makes a scratch database on cfg.DatabaseURL's server and,
// when cfg.RedisURL is unset, a private Redis; it returns cfg pointing at
// them and a function that drops and stops them (unless keep).
func scratchServers(ctx context.Context, cfg Config, prefix string, keep bool, stderr io.Writer) (Config, func(), error) {
	if cfg.DatabaseURL == "" {
		return cfg, nil, fmt.Errorf("%s: DATABASE_URL must name a PostgreSQL server (a scratch database is made there)", prefix)
	}
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	name := "groupbuy_" + prefix + "_" + randomHex(4)
	url, err := withDatabase(cfg.DatabaseURL, name)
	if err != nil {
		return cfg, nil, err
	}
	if err := adminExec(ctx, cfg.DatabaseURL, "CREATE DATABASE "+name); err != nil {
		return cfg, nil, err
	}
	admin := cfg.DatabaseURL
	if keep {
		fmt.Fprintf(stderr, "keeping scratch database %s\n", name)
	} else {
		undo = append(undo, func() {
			_ = adminExec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	cfg.DatabaseURL = url
	if cfg.RedisURL == "" {
		dir, err := os.MkdirTemp("", "groupbuy-"+prefix+"-redis-")
		if err != nil {
			cleanup()
			return cfg, nil, err
		}
		rs, err := localserver.StartRedis(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			_ = os.RemoveAll(dir)
			cleanup()
			return cfg, nil, fmt.Errorf("start private Redis: %w", err)
		}
		undo = append(undo, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = rs.Stop(sctx)
			_ = os.RemoveAll(dir)
		})
		cfg.RedisURL = rs.URL()
	}
	return cfg, cleanup, nil
}

// scratchApp is an app over scratch servers (scratchServers), migrated, its
// logs discarded: what every benchmark command runs against. done closes the
// app, then removes the servers.
func scratchApp(ctx context.Context, cfg Config, prefix string, keep bool, stderr io.Writer) (a *app, done func(), err error) {
	cfg, cleanup, err := scratchServers(ctx, cfg, prefix, keep, stderr)
	if err != nil {
		return nil, nil, err
	}
	a, err = newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	done = func() { a.close(); cleanup() }
	if err := a.migrate(ctx); err != nil {
		done()
		return nil, nil, err
	}
	return a, done, nil
}

// scratchLabelKey is a label key for the workers of one benchmark run over
// a scratch database: a worker refuses the dev key, and nothing printed
// there is ever scanned.
var scratchLabelKey = sync.OnceValue(func() string { return rand.Text() })
