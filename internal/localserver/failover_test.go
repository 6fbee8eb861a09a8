package localserver

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestSentinelGroupFailsOver: a primary, a replica and three sentinels;
// the primary SIGKILLed; the sentinels promote the replica, which has what
// the primary acknowledged and replicated, and takes writes.
func TestSentinelGroupFailsOver(t *testing.T) {
	ctx := context.Background()
	begin := time.Now()
	g, err := StartSentinelGroup(ctx, t.TempDir(), testLogger(t), SentinelOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(context.Background()) })
	t.Logf("primary, replica and 3 sentinels ready in %s; %s", time.Since(begin).Round(time.Millisecond), g.URL())
	primary := redis.NewClient(&redis.Options{Addr: g.Primary.Addr()})
	defer primary.Close()
	if err := primary.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := primary.Wait(ctx, 1, time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT = %d, %v", n, err)
	}
	killedAt := time.Now()
	if err := g.Primary.Kill(); err != nil {
		t.Fatal(err)
	}
	promoted, err := g.WaitFailover(ctx, g.Primary, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("replica %s promoted %s after the kill", promoted.Addr(), time.Since(killedAt).Round(time.Millisecond))
	c := redis.NewClient(&redis.Options{Addr: promoted.Addr()})
	defer c.Close()
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("the promoted replica has k = %q, %v", v, err)
	}
	if err := c.Set(ctx, "k2", "v2", 0).Err(); err != nil {
		t.Fatalf("the promoted replica refuses writes: %v", err)
	}
}

// TestPostgresStandbyPromotes: a primary and a synchronous standby; a row
// committed on the primary is on the standby the moment the commit returns;
// the primary SIGKILLed with its backends, the standby promoted, the row
// there and writes taken.
func TestPostgresStandbyPromotes(t *testing.T) {
	ctx := context.Background()
	dir := serverTempDir(t)
	small := []PostgresOption{WithPostgresNoSync(), WithPostgresSetting("synchronous_commit", "on"),
		WithPostgresSetting("shared_buffers", "32MB"), WithPostgresSetting("max_connections", "40")}
	primary, err := StartPostgres(ctx, filepath.Join(dir, "primary"), testLogger(t), small...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.Background()) })
	standby, err := StartPostgres(ctx, filepath.Join(dir, "standby"), testLogger(t), append(small, WithPostgresStandbyOf(primary))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = standby.Stop(context.Background()) })

	p, err := sql.Open("postgres", primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	var sync string
	if err := p.QueryRow(`SELECT sync_state FROM pg_stat_replication`).Scan(&sync); err != nil || sync != "sync" {
		t.Fatalf("standby replication = %q, %v; want sync", sync, err)
	}
	if _, err := p.Exec(`CREATE TABLE t (n int); INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	if err := primary.Kill(); err != nil {
		t.Fatal(err)
	}
	s, err := sql.Open("postgres", standby.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Exec(`INSERT INTO t VALUES (2)`); err == nil {
		t.Fatal("a standby took a write before its promotion")
	}
	promotedAt := time.Now()
	if err := standby.Promote(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("standby promoted in %s", time.Since(promotedAt).Round(time.Millisecond))
	var sum int
	if _, err := s.Exec(`INSERT INTO t VALUES (2)`); err != nil {
		t.Fatalf("the promoted standby refuses writes: %v", err)
	}
	if err := s.QueryRow(`SELECT sum(n) FROM t`).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("after promotion sum = %d, %v; want the primary's row and the new one", sum, err)
	}
}
