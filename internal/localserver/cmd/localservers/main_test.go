package main

import (
	"context"
	"database/sql"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"github.com/redis/go-redis/v9"
)

// TestRunStartsAnswersAndCleansUp: the servers answer at the URLs printed
// before READY, and when the run ends nothing is left: no process, no
// directory, not even the one a cluster lives in when root started it in a
// directory the postgres user cannot reach (t.TempDir is 0700).
func TestRunStartsAnswersAndCleansUp(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "servers")
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- run(ctx, dir, true, true, pw); pw.Close() }()
	urls := map[string]string{}
	out, err := readUntilReady(pr)
	if err != nil {
		cancel()
		t.Fatalf("%v (output %q, run: %v)", err, out, <-done)
	}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			urls[k] = v
		}
	}
	go io.Copy(io.Discard, pr) //nolint:errcheck // nothing more is printed
	db, err := sql.Open("postgres", urls["DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var one int
	if err := db.QueryRow(`SELECT 1`).Scan(&one); err != nil {
		t.Fatalf("PostgreSQL at %q: %v", urls["DATABASE_URL"], err)
	}
	db.Close()
	opt, err := redis.ParseURL(urls["REDIS_URL"])
	if err != nil {
		t.Fatal(err)
	}
	opt.MaxRetries = -1 // once stopped, one refused dial is the answer
	rdb := redis.NewClient(opt)
	defer rdb.Close()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatalf("Redis at %q: %v", urls["REDIS_URL"], err)
	}
	cluster, _ := filepath.EvalSymlinks(filepath.Join(dir, "pg"))
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the servers did not stop")
	}
	for _, p := range []string{dir, cluster} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s is left behind (%v)", p, err)
		}
	}
	if err := rdb.Ping(context.Background()).Err(); err == nil {
		t.Error("Redis still answers")
	}
}

// readUntilReady reads the launcher's output up to its READY line.
func readUntilReady(r io.Reader) (string, error) {
	var b strings.Builder
	buf := make([]byte, 1)
	for !strings.HasSuffix(b.String(), "READY\n") {
		if _, err := r.Read(buf); err != nil {
			return b.String(), err
		}
		b.Write(buf)
	}
	return b.String(), nil
}
