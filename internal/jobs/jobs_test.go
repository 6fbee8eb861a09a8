package jobs_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/internal/logctx"
	"groupbuy/internal/metrics"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// newOutbox is an outbox over a test database and a test Redis, and an
// inspector of that Redis.
func newOutbox(t *testing.T) (*sqlx.DB, *jobs.Outbox, *asynq.Inspector) {
	t.Helper()
	db := testenv.DB(t)
	ropt, err := jobs.RedisOpt(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	client := asynq.NewClient(ropt)
	t.Cleanup(func() { client.Close() })
	insp := asynq.NewInspector(ropt)
	t.Cleanup(func() { insp.Close() })
	return db, jobs.NewOutbox(db, client, clock.System{}, nil, jobs.Options{}), insp
}

// TestJobsOutbox: a job added in a transaction is not enqueued if the
// transaction rolls back; after the commit Relay enqueues it under its task
// ID with its options; a second add of the same task ID collapses into the
// task already in Redis and is marked enqueued all the same.
func TestJobsOutbox(t *testing.T) {
	ctx := context.Background()
	db, jobs, insp := newOutbox(t)
	var err error
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

// TestTaskContextLogs: a task's log lines carry the request ID of its
// header, its type and ID; a task without one gets a fresh ID; task
// outcomes are counted.
func TestTaskContextLogs(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(logctx.NewHandler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	m := metrics.New()
	var seen string
	h := asynq.HandlerFunc(func(ctx context.Context, task *asynq.Task) error {
		seen = logctx.RequestID(ctx)
		log.InfoContext(ctx, "inside")
		if task.Type() == "t:fail" {
			return errors.New("no")
		}
		return nil
	})
	wrapped := jobs.TaskContext(log)(m.Tasks()(h))
	if err := wrapped.ProcessTask(context.Background(), asynq.NewTaskWithHeaders("t:ok", nil, map[string]string{"request_id": "abc"})); err != nil {
		t.Fatal(err)
	}
	if seen != "abc" {
		t.Fatalf("request ID in the handler: %q", seen)
	}
	var line map[string]any
	if err := json.Unmarshal(bytes.SplitN(buf.Bytes(), []byte("\n"), 2)[0], &line); err != nil {
		t.Fatal(err)
	}
	if line["msg"] != "inside" || line["request_id"] != "abc" || line["task"] != "t:ok" {
		t.Fatalf("log line %v", line)
	}
	if err := wrapped.ProcessTask(context.Background(), asynq.NewTask("t:fail", nil)); err == nil {
		t.Fatal("the failure was lost")
	}
	if seen == "" || seen == "abc" {
		t.Fatalf("a task without a request ID got %q", seen)
	}
	want := `
# HELP groupbuy_tasks_total asynq tasks processed by this worker, by type and outcome (success, failure).
# TYPE groupbuy_tasks_total counter
groupbuy_tasks_total{outcome="failure",type="t:fail"} 1
groupbuy_tasks_total{outcome="success",type="t:ok"} 1
`
	if err := testutil.GatherAndCompare(m.Prometheus(), strings.NewReader(want), "groupbuy_tasks_total"); err != nil {
		t.Fatal(err)
	}
	// A logger that already names the request does not name it twice.
	buf.Reset()
	log.With("request_id", "x").InfoContext(logctx.WithRequestID(context.Background(), "y"), "once")
	if n := strings.Count(buf.String(), "request_id"); n != 1 {
		t.Fatalf("request_id %d times: %s", n, buf.String())
	}
}

// TestFlushOnCommit: a job handed on inside a transaction reaches Redis when
// the transaction commits, with no relay; in a transaction that rolls back
// it never does.
func TestFlushOnCommit(t *testing.T) {
	ctx := context.Background()
	db, out, insp := newOutbox(t)
	add := func(taskID string, fail error) error {
		return pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
			id, err := out.Add(ctx, tx, asynq.NewTask("test:job", nil), asynq.TaskID(taskID))
			if err != nil {
				return err
			}
			out.FlushOnCommit(ctx, tx, id)
			return fail
		})
	}
	if err := add("job:committed", nil); err != nil {
		t.Fatal(err)
	}
	rollback := errors.New("roll back")
	if err := add("job:rolled-back", rollback); !errors.Is(err, rollback) {
		t.Fatalf("the failing transaction: %v", err)
	}
	if _, err := insp.GetTaskInfo("default", "job:committed"); err != nil {
		t.Fatalf("the committed job is not in Redis: %v", err)
	}
	if _, err := insp.GetTaskInfo("default", "job:rolled-back"); err == nil {
		t.Fatal("the rolled-back job reached Redis")
	}
	if n, err := out.Pending(ctx); err != nil || n != 0 {
		t.Fatalf("pending = %d, %v; want 0", n, err)
	}
}
