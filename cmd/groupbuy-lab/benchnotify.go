package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/hibiken/asynq"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/machine"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/internal/jobs"
	"groupbuy/pickup/notice"
)

// benchSecret signs the benchmark's webhooks.
const benchSecret = "bench-notify-webhook-secret"

// runBenchNotify measures the outbox dispatcher end to end: arrival notices
// queued in a scratch database are sent by `groupbuy worker` processes to a
// webhook receiver on loopback in this process, which checks signatures and
// de-duplicates by Idempotency-Key. With --kill-at it SIGKILLs a worker once
// the receiver has that fraction of the notices and starts another at once;
// every notice must still arrive exactly once after de-duplication, and none
// may fail.
func runBenchNotify(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("bench-notify", stderr)
	seed := demo.NoticeCity{Date: time.Now().UTC().Format(time.DateOnly)}
	fs.IntVar(&seed.Notices, "notices", 100_000, "arrival notices (one resident each)")
	fs.IntVar(&seed.PerPoint, "per-point", 50, "residents per pickup point")
	killAt := fs.Float64("kill-at", 0, "SIGKILL a worker when the receiver has this fraction of the notices, then start another (0: never)")
	workers := fs.Int("workers", 1, "worker processes")
	lease := fs.Duration("lease", 10*time.Second, "GROUPBUY_NOTICE_LEASE of the workers: how soon a killed worker's claims come back")
	target := fs.Duration("target", 60*time.Second, "wall time the run must finish within")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this long")
	keep := fs.Bool("keep", false, "keep the scratch database")
	groupbuy := fs.String("groupbuy", "", "the groupbuy binary to run (default: beside this one, else built from this source tree)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *killAt < 0 || *killAt >= 1 || *workers < 1 || seed.Notices < 1 {
		return errors.New("bench-notify: want --kill-at in [0, 1), --workers ≥ 1, --notices ≥ 1")
	}
	bin, cleanup, err := groupbuyBinary(ctx, *groupbuy, stderr)
	if err != nil {
		return err
	}
	defer cleanup()
	s, err := newScratch(ctx, env, "notify", *keep, 4, stderr)
	if err != nil {
		return err
	}
	defer s.close()
	loadBefore := machine.LoadAverage()
	t0 := time.Now()
	if err := demo.SeedArrivalNotices(ctx, s.db, seed, t0.UTC()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "queued %d arrival notices for %d residents at %d points in %.1fs\n",
		seed.Notices, seed.Notices, (seed.Notices+seed.PerPoint-1)/seed.PerPoint, time.Since(t0).Seconds())

	rc := webhook.NewReceiver(benchSecret)
	hook, closeHook, err := webhook.Serve(rc)
	if err != nil {
		return err
	}
	defer closeHook()
	workerEnv := append(append(s.groupbuyEnv(), "GROUPBUY_LOG_LEVEL=warn"), webhook.WorkerEnv(hook, benchSecret, *lease)...)
	start := func() (*exec.Cmd, error) { return startGroupbuy(bin, workerEnv, stderr, "worker") }

	// How many dispatch tasks run at once: the scheduler starts one every
	// 5 s and each runs until nothing is due, so with a backlog they pile up.
	ropt, err := jobs.RedisOpt(s.RedisURL)
	if err != nil {
		return err
	}
	inspector := asynq.NewInspector(ropt)
	defer inspector.Close()
	var maxDispatch int
	var lastInspect time.Time

	n := seed.Notices
	begin := time.Now()
	procs := make([]*exec.Cmd, *workers)
	for i := range procs {
		if procs[i], err = start(); err != nil {
			return fmt.Errorf("start worker: %w", err)
		}
	}
	defer func() {
		for _, p := range procs {
			if p != nil && p.ProcessState == nil {
				_ = p.Process.Kill()
				_ = p.Wait()
			}
		}
	}()
	var (
		killed             bool
		killedAt           time.Duration
		atKill, reqAtKill  int
		firstAt, wall      time.Duration
		tally              demo.OutboxTally
		deadline           = begin.Add(*timeout)
		lastCheck          time.Time
		distinct, requests int
	)
	for {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		distinct, requests, _ = rc.Stats()
		if time.Since(lastInspect) > 250*time.Millisecond {
			lastInspect = time.Now()
			if active, err := inspector.ListActiveTasks("default", asynq.PageSize(100)); err == nil {
				c := 0
				for _, t := range active {
					if t.Type == notice.TaskDispatchNotices {
						c++
					}
				}
				maxDispatch = max(maxDispatch, c)
			}
		}
		if firstAt == 0 && requests > 0 {
			firstAt = time.Since(begin)
		}
		if *killAt > 0 && !killed && float64(distinct) >= *killAt*float64(n) {
			_ = procs[0].Process.Signal(syscall.SIGKILL)
			_ = procs[0].Wait()
			killed, killedAt = true, time.Since(begin)
			atKill, reqAtKill, _ = rc.Stats()
			if procs[0], err = start(); err != nil {
				return fmt.Errorf("restart worker: %w", err)
			}
		}
		if distinct >= n && time.Since(lastCheck) > 50*time.Millisecond {
			lastCheck = time.Now()
			if tally, err = demo.TallyOutbox(ctx, s.db); err != nil {
				return err
			}
			if tally.Sent+tally.Failed >= int64(n) {
				wall = time.Since(begin)
				break
			}
		}
		if time.Now().After(deadline) {
			tally, _ = demo.TallyOutbox(ctx, s.db)
			wall = time.Since(begin)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Stop the workers as an operator would, so they record what they sent.
	for _, p := range procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range procs {
		_ = p.Wait()
	}
	distinct, requests, bad := rc.Stats()
	if tally, err = demo.TallyOutbox(ctx, s.db); err != nil {
		return err
	}

	// Every notice received must be one of ours and read as the resident
	// would read it: with the pickup code its payload carries.
	var wrong []string
	prefix := "arrival:" + seed.Date + ":"
	for key, got := range rc.Notices() {
		if !strings.HasPrefix(key, prefix) || got.Kind != "arrival" || got.Vars["code"] == "" ||
			!strings.Contains(got.Text, "提货码"+got.Vars["code"]) || !strings.Contains(got.Text, got.Vars["point"]) {
			wrong = append(wrong, key)
		}
	}
	repeats := requests - distinct - bad
	rate := float64(distinct) / wall.Seconds()
	mode := "no kill"
	if *killAt > 0 {
		mode = fmt.Sprintf("SIGKILL at %.0f %%", *killAt*100)
	}
	fmt.Fprintf(stdout, "\nbench-notify: %d notices, %d worker process(es), lease %s, %s; load average before %s, after %s\n",
		n, *workers, *lease, mode, loadBefore, machine.LoadAverage())
	fmt.Fprintf(stdout, "  %-40s %s\n", "wall time (start → all received & sent)", fmtSeconds(wall))
	fmt.Fprintf(stdout, "  %-40s %s\n", "first request at", fmtSeconds(firstAt))
	fmt.Fprintf(stdout, "  %-40s %.0f /s overall, %.0f /s after the first request\n", "notices delivered", rate,
		float64(distinct)/max(wall-firstAt, time.Millisecond).Seconds())
	fmt.Fprintf(stdout, "  %-40s %d\n", "requests the receiver got", requests)
	fmt.Fprintf(stdout, "  %-40s %d of %d\n", "distinct Idempotency-Keys", distinct, n)
	fmt.Fprintf(stdout, "  %-40s %d\n", "repeats absorbed (requests − distinct)", repeats)
	fmt.Fprintf(stdout, "  %-40s %d\n", "bad signatures", bad)
	fmt.Fprintf(stdout, "  %-40s %d sent, %d failed, %d queued\n", "outbox", tally.Sent, tally.Failed, tally.Queued)
	fmt.Fprintf(stdout, "  %-40s %d (asynq's view; a killed worker's task stays listed until its lease runs out)\n", "dispatch tasks active at once, max", maxDispatch)
	if killed {
		fmt.Fprintf(stdout, "  %-40s at %s with %d distinct received (%d requests); new worker started at once\n",
			"worker SIGKILLed", fmtSeconds(killedAt), atKill, reqAtKill)
	}
	var problems []string
	switch {
	case distinct != n:
		problems = append(problems, fmt.Sprintf("%d of %d notices received", distinct, n))
	case len(wrong) > 0:
		problems = append(problems, fmt.Sprintf("%d notices received wrong, e.g. %s", len(wrong), wrong[0]))
	}
	if tally.Sent != int64(n) || tally.Failed != 0 {
		problems = append(problems, fmt.Sprintf("outbox: %d sent, %d failed of %d", tally.Sent, tally.Failed, n))
	}
	if bad != 0 {
		problems = append(problems, fmt.Sprintf("%d bad signatures", bad))
	}
	if *killAt > 0 && !killed {
		problems = append(problems, "the worker was never killed")
	}
	if wall > *target {
		problems = append(problems, fmt.Sprintf("took %s, target %s", fmtSeconds(wall), *target))
	}
	if len(problems) > 0 {
		return fmt.Errorf("bench-notify: %s", strings.Join(problems, "; "))
	}
	fmt.Fprintf(stdout, "  ok: every notice delivered once after de-duplication, within %s\n", *target)
	return nil
}

func fmtSeconds(d time.Duration) string { return fmt.Sprintf("%.2f s", d.Seconds()) }
