package jobs_test

import (
	"context"
	"path/filepath"
	"syscall"
	"testing"

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
// only once the replica has its task. While the replica does not answer
// (SIGSTOP), a relayed job stays pending, though the primary has it: a
// failover then would lose it. Once the replica answers again the next
// relay collapses into the task already there and marks it.
func TestRelayWaitsForAReplica(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := []localserver.RedisOption{localserver.WithRedisNoPersistence(), localserver.WithRedisServerOnly()}
	primary, err := localserver.StartRedis(ctx, filepath.Join(dir, "primary"), nil, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = primary.Stop(context.Background()) })
	ropt, err := jobs.RedisOpt(primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	rdb := ropt.MakeRedisClient().(redis.UniversalClient)
	defer rdb.Close()
	client := asynq.NewClient(ropt)
	defer client.Close()
	db := testenv.DB(t)
	outbox := jobs.NewOutbox(db, client, clock.System{}, nil, jobs.Options{Replicas: rdb})
	relay := func(taskID string) (int, error) {
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

	replica, err := localserver.StartRedis(ctx, filepath.Join(dir, "replica"), nil, append(opts, localserver.WithRedisReplicaOf(primary))...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(replica.PID(), syscall.SIGCONT); _ = replica.Stop(context.Background()) })
	onReplica := func(taskID string) bool {
		c := redis.NewClient(&redis.Options{Addr: replica.Addr()})
		defer c.Close()
		n, err := c.Exists(ctx, "asynq:{critical}:t:"+taskID).Result()
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
