// Command localservers starts private, throw-away PostgreSQL and Redis
// servers through internal/localserver, the one launcher of `groupbuy dev`
// and the tests, for scripts/test.sh when no server is given. It prints
//
//	DATABASE_URL=postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable
//	REDIS_URL=redis://127.0.0.1:PORT/0
//	READY
//
// once they answer (the PostgreSQL URL is the admin database, on which the
// tests create their own), then waits. On SIGTERM or SIGINT, or when its
// parent process exits, it stops them and removes their directory.
//
//	localservers [-postgres] [-redis] [-dir DIR]
//	localservers -find-postgres
//
// -find-postgres prints the directory of the PostgreSQL server programs and
// exits, with status 2 when there are none (test.sh then installs them).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"groupbuy/internal/localserver"
)

func main() {
	postgres := flag.Bool("postgres", false, "start PostgreSQL and print DATABASE_URL")
	redis := flag.Bool("redis", false, "start redis-server and print REDIS_URL")
	dir := flag.String("dir", "", "the servers' directory, removed at the end (default: a new one under $TMPDIR)")
	find := flag.Bool("find-postgres", false, "print the PostgreSQL programs' directory and exit (status 2: none)")
	flag.Parse()
	if *find {
		bin, err := localserver.PostgresBinDir()
		if err != nil {
			fmt.Fprintln(os.Stderr, "localservers:", err)
			os.Exit(2)
		}
		fmt.Println(bin)
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, *dir, *postgres, *redis, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "localservers:", err)
		os.Exit(1)
	}
}

// run starts the servers, writes their URLs to out and waits for the end of
// ctx or of the parent process; then it stops them and removes dir.
func run(ctx context.Context, dir string, postgres, redis bool, out io.Writer) error {
	if !postgres && !redis {
		return fmt.Errorf("nothing to start: give -postgres, -redis or both")
	}
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "groupbuy-servers-"); err != nil {
			return err
		}
	}
	defer removeDir(dir)
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	var servers []*localserver.Server
	defer func() {
		for _, s := range servers {
			stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.Stop(stopCtx); err != nil {
				log.Warn("stop", "server", s.Kind, "err", err)
			}
			cancel()
		}
	}()
	if postgres {
		// A throw-away cluster, with room for parallel test binaries.
		s, err := localserver.StartPostgres(ctx, filepath.Join(dir, "pg"), log, localserver.WithPostgresNoSync(),
			localserver.WithPostgresSetting("max_connections", "300"), localserver.WithPostgresSetting("shared_buffers", "128MB"))
		if err != nil {
			return err
		}
		servers = append(servers, s)
		fmt.Fprintf(out, "DATABASE_URL=%s\n", s.AdminURL())
	}
	if redis {
		s, err := localserver.StartRedis(ctx, filepath.Join(dir, "redis"), log, localserver.WithRedisNoPersistence(),
			localserver.WithRedisServerOnly())
		if err != nil {
			return err
		}
		servers = append(servers, s)
		fmt.Fprintf(out, "REDIS_URL=%s\n", s.URL())
	}
	fmt.Fprintln(out, "READY")
	waitForEnd(ctx)
	return nil
}

// waitForEnd returns when ctx ends (a signal) or the parent process exits,
// which leaves this one to init or a subreaper.
func waitForEnd(ctx context.Context) {
	parent := os.Getppid()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if os.Getppid() != parent {
				return
			}
		}
	}
}

// removeDir removes dir and, where a cluster lives in a directory of its
// own that dir/pg links to (root and a directory the postgres user cannot
// reach), that directory too.
func removeDir(dir string) {
	if target, err := filepath.EvalSymlinks(filepath.Join(dir, "pg")); err == nil && target != filepath.Join(dir, "pg") {
		_ = os.RemoveAll(target)
	}
	_ = os.RemoveAll(dir)
}
