// Command groupbuy-lab measures groupbuy: the benchmarks, the load tests and
// the city simulator, kept out of the serving binary. What it measures of
// the API and the worker it measures on `groupbuy serve` and `groupbuy
// worker` processes, as they run in production; bench-wave runs the night's
// stages in its own process, and bench-routing the solver.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	_ "time/tzdata" // the simulated warehouses name IANA zones
)

const usage = `usage: groupbuy-lab <command> [flags]

commands:
  simulate       fill DATABASE_URL with a simulated city night (COPY)
  bench-wave     measure the nightly wave's stages on a simulated city night
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

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "groupbuy-lab:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

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
	if v := getenv("GROUPBUY_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return e, fmt.Errorf("GROUPBUY_DB_MAX_CONNS: want a positive integer, got %q", v)
		}
		e.DBMaxConns = n
	}
	return e, nil
}

// run is the whole program; tests call it as main does.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "bench-routing":
		return runBenchRouting(ctx, rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
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
	case "bench-notify":
		return runBenchNotify(ctx, env, rest, stdout, stderr)
	case "bench-pickup":
		return runBenchPickup(ctx, env, rest, stdout, stderr)
	case "loadtest":
		return runLoadtest(ctx, env, rest, stdout, stderr)
	}
	fmt.Fprintf(stderr, "groupbuy-lab: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}
