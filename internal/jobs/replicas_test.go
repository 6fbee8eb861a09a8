package jobs_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/localserver"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

// TestRelayWaitsForAReplica: with a replica the relay marks a job enqueued
// only once the replica has its task. While the replica does not
// acknowledge (SIGSTOP), a relayed job stays pending, though the primary
// has it. Once the replica answers again the next relay collapses into the
// task already there and marks it. On a Cluster the same holds on the node
// of the job's queue.
func TestRelayWaitsForAReplica(t *testing.T) {
	opts := []localserver.RedisOption{localserver.WithRedisNoPersistence(), localserver.WithRedisServerOnly()}
	t.Run("server", func(t *testing.T) {
		dir := t.TempDir()
		primary := startRedis(t, filepath.Join(dir, "primary"), opts...)
		testRelayWaitsForAReplica(t, primary, primary.URL(), func() *localserver.Server {
			return startRedis(t, filepath.Join(dir, "replica"), append(opts, localserver.WithRedisReplicaOf(primary))...)
		})
	})
	t.Run("cluster", func(t *testing.T) {
		ctx := context.Background()
		dir := t.TempDir()
		opts := append(opts, localserver.WithRedisClusterNode())
		primary := startRedis(t, filepath.Join(dir, "primary"), opts...)
		c := redis.NewClient(&redis.Options{Addr: primary.Addr()})
		defer c.Close()
		if err := c.Do(ctx, "CLUSTER", "ADDSLOTSRANGE", 0, 16383).Err(); err != nil {
			t.Fatal(err)
		}
		id, err := c.Do(ctx, "CLUSTER", "MYID").Text()
		if err != nil {
			t.Fatal(err)
		}
		waitFor(t, func() bool { info, _ := c.ClusterInfo(ctx).Result(); return strings.Contains(info, "cluster_state:ok") })
		testRelayWaitsForAReplica(t, primary, "redis-cluster://"+primary.Addr(), func() *localserver.Server {
			replica := startRedis(t, filepath.Join(dir, "replica"), opts...)
			r := redis.NewClient(&redis.Options{Addr: replica.Addr()})
			defer r.Close()
			if err := r.ClusterMeet(ctx, "127.0.0.1", strconv.Itoa(primary.Port)).Err(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, func() bool { return r.Do(ctx, "CLUSTER", "REPLICATE", id).Err() == nil })
			waitFor(t, func() bool {
				info, _ := r.Info(ctx, "replication").Result()
				return strings.Contains(info, "master_link_status:up")
			})
			return replica
		})
	})
}

func startRedis(t *testing.T, dir string, opts ...localserver.RedisOption) *localserver.Server {
	t.Helper()
	s, err := localserver.StartRedis(context.Background(), dir, nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(s.PID(), syscall.SIGCONT); _ = s.Stop(context.Background()) })
	return s
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// testRelayWaitsForAReplica relays through url (to primary), first without
// a replica, then with the one addReplica starts.
func testRelayWaitsForAReplica(t *testing.T, primary *localserver.Server, url string, addReplica func() *localserver.Server) {
	ctx := context.Background()
	outbox, relay := replicatedOutbox(t, url)
	pending := func() int {
		t.Helper()
		n, err := outbox.Pending(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// No replica: nobody to wait for.
	if n, err := relay("alone"); n != 1 || err != nil {
		t.Fatalf("relay without a replica = %d, %v", n, err)
	}

	replica := addReplica()
	// The replica's link is up before the primary counts it online and
	// before it acknowledges WAIT: wait until a write of the primary's is
	// acknowledged, as the relay's will be.
	pc := redis.NewClient(&redis.Options{Addr: primary.Addr()})
	defer pc.Close()
	waitFor(t, func() bool {
		conn := pc.Conn()
		defer conn.Close()
		if err := conn.Set(ctx, "probe:{critical}", 1, time.Minute).Err(); err != nil {
			return false
		}
		n, err := conn.Wait(ctx, 1, time.Second).Result()
		return err == nil && n >= 1
	})
	onReplica := func(taskID string) bool {
		c := redis.NewClient(&redis.Options{Addr: replica.Addr()})
		defer c.Close()
		conn := c.Conn()
		defer conn.Close()
		_ = conn.ReadOnly(ctx).Err() // a cluster replica serves reads after READONLY; a plain one refuses it, and needs none
		n, err := conn.Exists(ctx, "asynq:{critical}:t:"+taskID).Result()
		return err == nil && n == 1
	}
	if n, err := relay("replicated"); n != 1 || err != nil || pending() != 0 || !onReplica("replicated") {
		t.Fatalf("relay with a replica = %d, %v; pending %d", n, err, pending())
	}

	if err := syscall.Kill(replica.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if n, err := relay("unconfirmed"); err == nil || n != 0 || pending() != 1 {
		t.Fatalf("relay while the replica is stopped = %d, %v; pending %d; want an error and the job pending", n, err, pending())
	}
	if err := syscall.Kill(replica.PID(), syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if n, err := outbox.Relay(ctx); n != 1 || err != nil || pending() != 0 || !onReplica("unconfirmed") {
		t.Fatalf("relay after the replica returned = %d, %v; pending %d", n, err, pending())
	}
}

// TestRelayOnARedisThatCannotConfirm: a Redis that refuses INFO replication
// (miniredis, which groupbuy dev falls back to without redis-server, and
// hosted services that rename INFO or WAIT) cannot confirm a replica; the
// relay marks its jobs enqueued rather than keep them pending for good.
func TestRelayOnARedisThatCannotConfirm(t *testing.T) {
	ctx := context.Background()
	m := miniredis.RunT(t)
	outbox, relay := replicatedOutbox(t, "redis://"+m.Addr()+"/0")
	if n, err := relay("unconfirmable"); n != 1 || err != nil {
		t.Fatalf("relay = %d, %v; want the job marked", n, err)
	}
	if n, err := outbox.Pending(ctx); n != 0 || err != nil {
		t.Fatalf("pending = %d, %v", n, err)
	}
	if !m.Exists("asynq:{critical}:t:unconfirmable") {
		t.Fatal("the task is not in Redis")
	}
}

// replicatedOutbox is an outbox over a fresh database relaying to url and
// waiting for its replicas, and a function that adds a job to the queue
// critical and relays it.
func replicatedOutbox(t *testing.T, url string) (*jobs.Outbox, func(taskID string) (int, error)) {
	t.Helper()
	ctx := context.Background()
	ropt, err := jobs.RedisOpt(url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := ropt.MakeRedisClient().(redis.UniversalClient)
	t.Cleanup(func() { rdb.Close() })
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { client.Close() })
	db := testenv.DB(t)
	outbox := jobs.NewOutbox(db, client, clock.System{}, nil, jobs.Options{Replicas: rdb})
	return outbox, func(taskID string) (int, error) {
		t.Helper()
		var id int64
		if err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
			id, err = outbox.Add(ctx, tx, asynq.NewTask("test:job", nil), asynq.TaskID(taskID), asynq.Queue("critical"))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return outbox.Relay(ctx, id)
	}
}

// TestRedisClientKeepsToTheContextsDeadline: the app's Redis client gives up
// on a Redis that does not answer (stopped with SIGSTOP) when the command's
// context ends (the asynq-made client waits out its 3 s read timeout).
func TestRedisClientKeepsToTheContextsDeadline(t *testing.T) {
	s := startRedis(t, t.TempDir(), localserver.WithRedisNoPersistence(), localserver.WithRedisServerOnly())
	ropt, err := jobs.RedisOpt(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb, err := jobs.RedisClient(ropt)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	if err := rdb.Ping(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(s.PID(), syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(s.PID(), syscall.SIGCONT)
	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	err = rdb.Incr(short, "attempts").Err()
	if took := time.Since(t0); err == nil || took > time.Second {
		t.Fatalf("INCR on a stopped Redis: %v after %s, want an error by the 200 ms deadline", err, took)
	}
	// A Sentinel group's and a Cluster's clients are made the same way.
	for _, opt := range []asynq.RedisConnOpt{asynq.RedisFailoverClientOpt{MasterName: "m", SentinelAddrs: []string{s.Addr()}},
		asynq.RedisClusterClientOpt{Addrs: []string{s.Addr()}}} {
		c, err := jobs.RedisClient(opt)
		if err != nil {
			t.Fatalf("%T: %v", opt, err)
		}
		var keeps bool
		switch c := c.(type) {
		case *redis.Client:
			keeps = c.Options().ContextTimeoutEnabled
		case *redis.ClusterClient:
			keeps = c.Options().ContextTimeoutEnabled
		}
		c.Close()
		if !keeps {
			t.Errorf("%T: the client does not keep to its context's deadline", opt)
		}
	}
}
