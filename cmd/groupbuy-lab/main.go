// Command groupbuy-lab measures groupbuy: the benchmarks, the load tests and
// the city simulator, kept out of the serving binary. What it measures of
// the API and the worker it measures on `groupbuy serve` and `groupbuy
// worker` processes, as they run in production; bench-wave runs the night's
// stages in its own process, and bench-routing the solver.
package main

import (
	"context"
	"io"
	"math"
	_ "time/tzdata" // the simulated warehouses name IANA zones

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/routebench"
)

const usage = `usage: groupbuy-lab <command> [flags]

commands:
  simulate       fill DATABASE_URL with a simulated city night (COPY)
  bench-wave     measure the nightly wave's stages on a simulated city night, suppliers and dock included
  bench-dock     fire a simulated dock's receiving scans at a groupbuy serve process, then all again
  bench-notify   send arrival notices through groupbuy worker processes to a local webhook (--kill-at 0.5 kills one)
  bench-pickup   measure pickup code verification by concurrent leaders on a groupbuy serve process
  loadtest       drive the order API of a groupbuy serve process with concurrent leaders and compare with pgbench
  bench-routing  run the routing benchmark set

environment: DATABASE_URL names a PostgreSQL server (the benchmarks make scratch
databases there), REDIS_URL a Redis (unset: a private redis-server); the groupbuy
processes the lab starts get its environment too (GROUPBUY_DB_MAX_CONNS, ...).
They run the groupbuy binary of --groupbuy, else the one beside this binary
(make build puts both in bin/), else one built from this source tree.
`

func main() { cli.Main("groupbuy-lab", run) }

// labEnv is what the lab reads from the environment; the groupbuy processes
// it starts read the rest themselves.
type labEnv struct {
	DatabaseURL string // DATABASE_URL
	RedisURL    string // REDIS_URL
	// DBMaxConns is GROUPBUY_DB_MAX_CONNS (default 20): the pool of the
	// processes the lab starts, and of its own when it runs the stages.
	DBMaxConns int
	// FontCJK and FontLatin are GROUPBUY_FONT_CJK / GROUPBUY_FONT_LATIN, for
	// the printouts of the stages bench-wave runs.
	FontCJK, FontLatin string
}

func labEnvFrom(getenv func(string) string) (labEnv, error) {
	e := labEnv{DatabaseURL: getenv("DATABASE_URL"), RedisURL: getenv("REDIS_URL"), DBMaxConns: 20,
		FontCJK: getenv("GROUPBUY_FONT_CJK"), FontLatin: getenv("GROUPBUY_FONT_LATIN")}
	env := cli.NewEnv(getenv)
	env.Int("GROUPBUY_DB_MAX_CONNS", &e.DBMaxConns, 1, math.MaxInt, "a positive integer")
	return e, env.Err()
}

// run is the whole program; tests call it as main does.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, rest, err := cli.Command(args, usage, stdout, stderr)
	if cmd == "" {
		return err
	}
	if cmd == "bench-routing" {
		return routebench.Run(ctx, rest, stdout, stderr)
	}
	env, err := labEnvFrom(getenv)
	if err != nil {
		return err
	}
	switch cmd {
	case "simulate":
		return runSimulate(ctx, env, rest, stdout, stderr)
	case "bench-wave":
		return runBenchWave(ctx, env, rest, stdout, stderr)
	case "bench-dock":
		return runBenchDock(ctx, env, rest, stdout, stderr)
	case "bench-notify":
		return runBenchNotify(ctx, env, rest, stdout, stderr)
	case "bench-pickup":
		return runBenchPickup(ctx, env, rest, stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, env, rest, stdout, stderr)
	}
	return cli.Unknown("groupbuy-lab", cmd, usage, stderr)
}
