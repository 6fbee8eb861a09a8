package platform_test

import (
	"context"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/internal/clock"
	"groupbuy/internal/platform"
	"groupbuy/internal/platform/platformtest"
)

// TestJobsOutbox: a job added in a transaction is not enqueued if the
// transaction rolls back; after the commit Relay enqueues it under its task
// ID with its options; a second add of the same task ID collapses into the
// task already in Redis and is marked enqueued all the same.
func TestJobsOutbox(t *testing.T) {
	ctx := context.Background()
	db := platformtest.DB(t)
	ropt, err := platform.RedisOpt(platformtest.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	defer client.Close()
	insp := asynq.NewInspector(ropt)
	defer insp.Close()
	jobs := platform.NewJobs(db, client, clock.System{}, nil, platform.JobsOptions{})
	add := func(commit bool, taskID string) int64 {
		var id int64
		tx, err := db.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err = jobs.Add(ctx, tx, asynq.NewTask("test:job", []byte(`{"n":1}`)), asynq.TaskID(taskID), asynq.Queue("critical"),
			asynq.MaxRetry(3), asynq.Timeout(time.Minute), asynq.Retention(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if commit {
			err = tx.Commit()
		} else {
			err = tx.Rollback()
		}
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	add(false, "job:rolled-back")
	id := add(true, "job:1")
	if n, err := jobs.Pending(ctx); err != nil || n != 1 {
		t.Fatalf("pending = %d, %v; want 1", n, err)
	}
	if n, err := jobs.Relay(ctx, id); err != nil || n != 1 {
		t.Fatalf("relay = %d, %v", n, err)
	}
	info, err := insp.GetTaskInfo("critical", "job:1")
	if err != nil || info.MaxRetry != 3 || info.Timeout != time.Minute || info.Retention != time.Hour || string(info.Payload) != `{"n":1}` {
		t.Fatalf("task in Redis: %+v %v", info, err)
	}
	if _, err := insp.GetTaskInfo("critical", "job:rolled-back"); err == nil {
		t.Fatal("a rolled-back job was enqueued")
	}
	// Again under the same ID: pending once more, enqueued as a conflict.
	if again := add(true, "job:1"); again != id {
		t.Fatalf("same task ID got row %d, want %d", again, id)
	}
	if n, err := jobs.Relay(ctx); err != nil || n != 1 {
		t.Fatalf("relay of a duplicate = %d, %v", n, err)
	}
	if n, err := jobs.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("pending after relay = %d, %v", n, err)
	}
	var tx *sqlx.Tx
	if tx, err = db.BeginTxx(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := jobs.Add(ctx, tx, asynq.NewTask("test:job", nil)); err == nil {
		t.Fatal("a job without a task ID was accepted")
	}
	if _, err := jobs.Add(ctx, tx, asynq.NewTask("test:job", nil), asynq.TaskID("x"), asynq.Unique(time.Minute)); err == nil {
		t.Fatal("an option the outbox cannot keep was accepted")
	}
}
