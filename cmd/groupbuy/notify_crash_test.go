package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"syscall"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// TestNoticesSurviveAWorkerKilledMidDispatch SIGKILLs a worker process while
// it is sending arrival notices to a webhook and starts another: once the
// dead worker's lease runs out its claimed notices go out again with the
// same Idempotency-Key, so the receiver ends with every notice exactly once
// after de-duplication, and the outbox with every row sent and none failed.
func TestNoticesSurviveAWorkerKilledMidDispatch(t *testing.T) {
	const (
		n      = 3000
		secret = "crash-test-webhook-secret"
		lease  = 3 * time.Second
	)
	ctx := context.Background()
	dbURL, redisURL := testenv.NewDatabase(t), testenv.Redis(t)
	a := startApp(t, config.Config{DatabaseURL: dbURL, RedisURL: redisURL, DBMaxConns: 5},
		slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	if err := demo.SeedArrivalNotices(ctx, a.db, demo.NoticeCity{Notices: n, PerPoint: 50, Date: "2026-12-01"}, time.Now().UTC()); err != nil {
		t.Fatal(err)
	}
	rc := webhook.NewReceiver(secret)
	// A little slowness per request, outside the receiver's lock, so that
	// half the notices arrive while a batch is still in flight.
	hook, closeHook, err := webhook.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond)
		rc.ServeHTTP(w, r)
	}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(closeHook)
	env := webhook.WorkerEnv(hook, secret, lease)

	// A little past half, so the kill lands inside a batch of 500: some of
	// its notices sent and not recorded, some not yet sent.
	const killAt = n/2 + 100
	first := startWorker(t, dbURL, redisURL, env...)
	begin := time.Now()
	deadline := begin.Add(30 * time.Second)
	for {
		if got, _, _ := rc.Stats(); got >= killAt {
			break
		}
		if time.Now().After(deadline) {
			got, _, _ := rc.Stats()
			t.Fatalf("only %d of %d notices received before the kill", got, n)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	atKill, reqAtKill, _ := rc.Stats()
	killedAt := time.Since(begin)
	startWorker(t, dbURL, redisURL, env...)

	deadline = time.Now().Add(40 * time.Second)
	var tally demo.OutboxTally
	for {
		if tally, err = demo.TallyOutbox(ctx, a.db); err != nil {
			t.Fatal(err)
		}
		if tally.Sent+tally.Failed == n {
			break
		}
		if time.Now().After(deadline) {
			got, _, _ := rc.Stats()
			t.Fatalf("outbox after the restart: %+v; receiver has %d of %d", tally, got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	distinct, requests, bad := rc.Stats()
	repeats := requests - distinct - bad
	t.Logf("killed at %s with %d distinct (%d requests); all sent after %s: %d requests, %d distinct, %d repeats absorbed",
		killedAt.Round(time.Millisecond), atKill, reqAtKill, time.Since(begin).Round(time.Millisecond), requests, distinct, repeats)
	if distinct != n || tally.Sent != n || tally.Failed != 0 || bad != 0 {
		t.Fatalf("after the kill: %d of %d distinct notices received, outbox %+v, %d bad signatures", distinct, n, tally, bad)
	}
	for key, got := range rc.Notices() {
		if got.Kind != "arrival" || got.Vars["code"] == "" || got.Text == "" {
			t.Fatalf("notice %s received as %+v", key, got)
		}
	}
	// Only what the killed worker had sent but not recorded may come again:
	// at most the batch it was sending (500), plus the sends in flight (64).
	if repeats > 500+64 {
		t.Fatalf("%d repeats: more than the killed worker's batch could cause", repeats)
	}
}
