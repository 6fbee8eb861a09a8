package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"groupbuy/cmd/internal/devenv"
	"groupbuy/internal/testenv"
)

// devRun is a `groupbuy dev` running in the test.
type devRun struct {
	api    string // the address it printed
	stdout *testenv.Buffer
	stderr *testenv.Buffer
	stop   func()
}

// startDev runs `groupbuy dev` with env until stop, once it has printed its
// address.
func startDev(t *testing.T, env map[string]string, within time.Duration) *devRun {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &devRun{stdout: &testenv.Buffer{}, stderr: &testenv.Buffer{}}
	var exitErr error
	exited := make(chan struct{})
	go func() {
		exitErr = run(ctx, []string{"dev"}, func(k string) string { return env[k] }, d.stdout, d.stderr)
		close(exited)
	}()
	var once sync.Once
	d.stop = func() {
		once.Do(func() {
			cancel()
			<-exited
			if exitErr != nil {
				t.Errorf("dev exited with %v\n%s", exitErr, d.stderr)
			}
		})
	}
	t.Cleanup(d.stop)
	deadline := time.Now().Add(within)
	for {
		if vals := devenv.Parse(d.stdout.String()); vals["GROUPBUY_API"] != "" {
			d.api = vals["GROUPBUY_API"]
			return d
		}
		select {
		case <-exited:
			once.Do(func() {})
			t.Fatalf("dev exited early: %v\n%s", exitErr, d.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("dev did not start\n%s", d.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// sourced runs a shell that sources the env file and reports the
// environment its commands see; the shell starts with none but PATH (make
// test itself exports DATABASE_URL).
func sourced(t *testing.T, envFile string) map[string]string {
	t.Helper()
	out, err := exec.Command("env", "-i", "PATH="+os.Getenv("PATH"), "sh", "-c", `. "$1" && env`, "sh", envFile).Output()
	if err != nil {
		t.Fatalf("sourcing %s: %v", envFile, err)
	}
	return devenv.Parse(string(out))
}

// devEnv is the environment of a `groupbuy dev` on the test's own database
// and Redis, with its data in dir, listening on a free port.
func devEnv(t *testing.T, dir string) map[string]string {
	return map[string]string{
		"DATABASE_URL":      testenv.NewDatabase(t),
		"REDIS_URL":         testenv.Redis(t),
		"GROUPBUY_DATA_DIR": dir,
		"GROUPBUY_ADDR":     "127.0.0.1:0",
	}
}

func healthy(t *testing.T, api string) bool {
	client := checked(t, &http.Client{Timeout: 5 * time.Second})
	resp, err := client.Get(api + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// TestDevEnvIsSourcedAndOwned: dev.env exports its variables, so the
// commands a developer runs after sourcing it (groupbuy token) see them;
// it names its admin token for what it is; and a second `groupbuy dev` on
// the same data directory leaves it to the first, taking it over only when
// the first has stopped, so it never points at a dead address while one runs.
func TestDevEnvIsSourcedAndOwned(t *testing.T) {
	dir := t.TempDir()
	env := devEnv(t, dir)
	env["DATABASE_URL"] += "&connect_timeout=10" // unquoted, a shell ran the export in the background at the &
	envFile := filepath.Join(dir, "dev.env")
	first := startDev(t, env, 90*time.Second)

	vars := sourced(t, envFile)
	if vars["GROUPBUY_API"] != first.api || vars["DATABASE_URL"] != env["DATABASE_URL"] || vars["REDIS_URL"] != env["REDIS_URL"] ||
		vars["GROUPBUY_LEADER_TOKEN"] == "" || vars["GROUPBUY_ADMIN_TOKEN"] == "" {
		t.Fatalf("a shell that sourced dev.env sees %v", vars)
	}
	// `groupbuy token` in that shell.
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"token", "--role", "ops", "--name", "dev"}, func(k string) string { return vars[k] }, &out, &errOut); err != nil {
		t.Fatalf("groupbuy token after sourcing dev.env: %v %s", err, errOut.String())
	}
	r := doHTTP(t, checked(t, &http.Client{Timeout: 5 * time.Second}), "GET", first.api+"/api/v1/ops/warehouses", vars["GROUPBUY_ADMIN_TOKEN"], nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GROUPBUY_ADMIN_TOKEN: %d %s", r.Status, r.Body)
	}

	// A second dev on the same directory leaves dev.env to the first, before and after it stops.
	second := startDev(t, env, 60*time.Second)
	if second.api == first.api || !healthy(t, second.api) {
		t.Fatalf("the second dev's address %s (the first's %s)", second.api, first.api)
	}
	if got := sourced(t, envFile)["GROUPBUY_API"]; got != first.api {
		t.Fatalf("with a second dev running, dev.env points at %s, not the first's %s", got, first.api)
	}
	second.stop()
	if got := sourced(t, envFile)["GROUPBUY_API"]; got != first.api || !healthy(t, got) {
		t.Fatalf("after the second dev stopped, dev.env points at %s (the first, still running, is at %s)", got, first.api)
	}

	// When the first stops, a second still running takes dev.env over.
	third := startDev(t, env, 60*time.Second)
	first.stop()
	deadline := time.Now().Add(10 * time.Second)
	for sourced(t, envFile)["GROUPBUY_API"] != third.api {
		if time.Now().After(deadline) {
			t.Fatalf("after the first dev stopped, dev.env still points at %s, not the running one at %s",
				sourced(t, envFile)["GROUPBUY_API"], third.api)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !healthy(t, third.api) {
		t.Fatal("the dev dev.env points at does not answer")
	}
	if b, _ := os.ReadFile(envFile); strings.Contains(string(b), "GROUPBUY_OPS_TOKEN") {
		t.Fatalf("dev.env names the admin token GROUPBUY_OPS_TOKEN:\n%s", b)
	}
}

// TestDevInPrivateDirectory runs `groupbuy dev` with its private
// PostgreSQL in a data directory inside a 0700 directory, as a clone under
// /root or a mktemp -d is (the tests run as root: the server's user cannot
// reach it). It starts, and a restart finds the same data.
func TestDevInPrivateDirectory(t *testing.T) {
	private := t.TempDir()
	if err := os.Chmod(private, 0o700); err != nil {
		t.Fatal(err)
	}
	dataDir := filepath.Join(private, "checkout", ".groupbuy")
	t.Cleanup(func() {
		// The cluster may live outside the data directory, linked from it.
		if target, err := filepath.EvalSymlinks(filepath.Join(dataDir, "pg")); err == nil && !strings.HasPrefix(target, private) {
			_ = os.RemoveAll(target)
		}
	})
	env := map[string]string{
		"REDIS_URL":         testenv.Redis(t),
		"GROUPBUY_DATA_DIR": dataDir,
		"GROUPBUY_ADDR":     "127.0.0.1:0",
	}
	first := startDev(t, env, 120*time.Second)
	vals := devenv.Parse(first.stdout.String())
	client := checked(t, &http.Client{Timeout: 10 * time.Second})
	r := doHTTP(t, client, "GET", first.api+"/api/v1/ops/pickup-points", vals["GROUPBUY_ADMIN_TOKEN"], nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"code"`) != 200 {
		t.Fatalf("the demo city: %d %.300s", r.Status, r.Body)
	}
	first.stop()

	again := startDev(t, env, 120*time.Second)
	vals2 := devenv.Parse(again.stdout.String())
	if vals2["GROUPBUY_ADMIN_TOKEN"] != vals["GROUPBUY_ADMIN_TOKEN"] || vals2["DATABASE_URL"] == "" {
		t.Fatalf("a restart lost the data: %v, then %v", vals, vals2)
	}
	r = doHTTP(t, client, "GET", again.api+"/api/v1/ops/pickup-points", vals2["GROUPBUY_ADMIN_TOKEN"], nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"code"`) != 200 {
		t.Fatalf("after a restart: %d %.300s", r.Status, r.Body)
	}
	again.stop()
}
