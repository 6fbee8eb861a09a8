// Command groupbuy is the logistics back-end of a community group-buy
// operator: one binary for the API, the job worker, migrations, the embedded
// development mode and the routing solver. Benchmarks, load tests and the
// city simulator are another command, cmd/groupbuy-lab.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/pprof"
	_ "time/tzdata" // warehouses name IANA zones; slim images have no zoneinfo

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/config"
	"groupbuy/internal/logctx"
)

const usage = `usage: groupbuy <command> [flags]

commands:
  serve          run the HTTP API
  worker         run the job worker and scheduler
  dev            run API + worker on embedded defaults (private PostgreSQL and Redis when unset)
  migrate        apply database migrations
  token          issue a staff token: groupbuy token --role admin --name NAME
  solve          solve a VRPLIB routing instance
  openapi        write the API's OpenAPI document (and, -readme FILE, the README's access table)

benchmarks, load tests and the city simulator: groupbuy-lab (go run ./cmd/groupbuy-lab)

configuration (environment): DATABASE_URL, REDIS_URL, GROUPBUY_ADDR, GROUPBUY_DATA_DIR,
GROUPBUY_LOG_LEVEL, GROUPBUY_DB_MAX_CONNS, GROUPBUY_TOKEN_CACHE_TTL
`

func main() { cli.Main("groupbuy", run) }

// run is the whole program; tests call it as main does.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest, err := cli.Command(args, usage, stdout, stderr)
	if cmd == "" {
		return err
	}
	if cmd == "solve" {
		return runSolve(ctx, rest, stdout, stderr)
	}
	if cmd == "openapi" {
		return runOpenAPI(rest, stdout, stderr)
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	var cpuProfile string
	switch cmd {
	case "serve", "worker", "dev", "migrate":
		// Flags override the environment for the long-running commands.
		fs := cli.NewFlagSet(cmd, stderr)
		fs.StringVar(&cfg.DatabaseURL, "database-url", cfg.DatabaseURL, "PostgreSQL URL (DATABASE_URL)")
		fs.StringVar(&cfg.RedisURL, "redis-url", cfg.RedisURL, "Redis URL (REDIS_URL)")
		fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "API listen address (GROUPBUY_ADDR)")
		fs.StringVar(&cfg.DataDir, "data-dir", cfg.DataDir, "dev mode's data folder (GROUPBUY_DATA_DIR)")
		fs.TextVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error (GROUPBUY_LOG_LEVEL)")
		if cmd != "migrate" {
			fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of this process to FILE until it stops")
		}
		if err := cli.Parse(fs, rest); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%s: unexpected argument %q", cmd, fs.Arg(0))
		}
	}
	if cmd == "serve" || cmd == "worker" {
		if err := cfg.RequireLabelKey(); err != nil {
			return err
		}
	}
	// JSON lines; a line logged with a context also names the request and
	// the task it belongs to (logctx.Handler).
	log := slog.New(logctx.NewHandler(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel})))
	if cpuProfile != "" {
		stop, err := startCPUProfile(cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	switch cmd {
	case "serve":
		return runServe(ctx, cfg, log)
	case "worker":
		return runWorker(ctx, cfg, log)
	case "dev":
		return runDev(ctx, cfg, log, stdout)
	case "migrate":
		return runMigrate(ctx, cfg)
	case "token":
		return runToken(ctx, cfg, rest, stdout, stderr)
	}
	return cli.Unknown("groupbuy", cmd, usage, stderr)
}

// startCPUProfile profiles this process into path until stop is called: the
// lab's loadtest and bench-pickup profile the API they drive this way.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("cpuprofile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
