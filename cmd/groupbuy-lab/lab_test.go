package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"groupbuy/internal/testenv"
)

// TestLabDrivesGroupbuyProcesses runs, on a small scale, the benchmarks
// that measure groupbuy as separate processes: loadtest drives a `groupbuy
// serve` (set up through its ops API, then orders closed loop, open loop and
// a sell-out burst), bench-dock one with the dock's scans, bench-notify a
// `groupbuy worker` sending notices to its webhook receiver. The groupbuy binary is built from this tree once, as
// `go run ./cmd/groupbuy-lab` does.
func TestLabDrivesGroupbuyProcesses(t *testing.T) {
	ctx := context.Background()
	var log bytes.Buffer
	bin, cleanup, err := groupbuyBinary(ctx, "", &log)
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	t.Cleanup(cleanup)
	env := map[string]string{"DATABASE_URL": testenv.AdminURL(), "REDIS_URL": testenv.Redis(t)}
	getenv := func(k string) string { return env[k] }
	lab := func(t *testing.T, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		if err := run(ctx, append(args, "--groupbuy", bin), getenv, &out, &errOut); err != nil {
			t.Fatalf("%s: %v\n%s\n%s", args[0], err, out.String(), errOut.String())
		}
		return out.String()
	}
	t.Run("loadtest", func(t *testing.T) {
		profile := t.TempDir() + "/serve.pprof"
		out := lab(t, "loadtest", "--clients", "4", "--leaders", "10", "--skus", "10", "--warmup", "0s", "--duration", "1s",
			"--overload", "1.5", "--overload-for", "1s", "--inflight", "16", "--burst", "600", "--pgbench=false", "--cpuprofile", profile)
		for _, want := range []string{"orders placed", "overload:", "accepted 500, sold out 100, other 0", "oversold 0"} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
		if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
			t.Errorf("no CPU profile of the API process: %v", err)
		}
	})
	// bench-dock's scans reach a groupbuy serve twice each and count once.
	t.Run("bench-dock", func(t *testing.T) {
		profile := t.TempDir() + "/serve.pprof"
		out := lab(t, "bench-dock", "--points", "40", "--skus", "60", "--lines", "3000", "--suppliers", "5", "--clients", "4", "--cpuprofile", profile)
		for _, want := range []string{"purchase stage: 5 purchase orders", "first pass:", "every scan again:", "; load ", "each scan counted once"} {
			if !strings.Contains(out, want) {
				t.Errorf("the output lacks %q:\n%s", want, out)
			}
		}
		if fi, err := os.Stat(profile); err != nil || fi.Size() == 0 {
			t.Errorf("no CPU profile of the API process: %v", err)
		}
	})
	t.Run("bench-notify", func(t *testing.T) {
		out := lab(t, "bench-notify", "--notices", "400", "--per-point", "20")
		if !strings.Contains(out, "400 of 400") || !strings.Contains(out, "ok: every notice delivered once") {
			t.Errorf("bench-notify:\n%s", out)
		}
	})
}
