package localserver

import (
	"bufio"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// serverTempDir is a t.TempDir() that the postgres OS user can reach when
// the test runs as root (t.TempDir makes its directories 0700).
func serverTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := OpenToServers(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestStartPostgresKeepsData(t *testing.T) {
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(serverTempDir(t), "pg")
	log := testLogger(t)

	pg, err := StartPostgres(ctx, dir, log, WithPostgresNoSync(), WithPostgresSetting("max_connections", "50"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop(context.Background()) })
	if !strings.HasPrefix(pg.URL(), "postgres://postgres@127.0.0.1:") || !strings.HasSuffix(pg.URL(), "/groupbuy?sslmode=disable") {
		t.Fatalf("URL = %q", pg.URL())
	}
	if fi, err := os.Stat(filepath.Join(dir, "data")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", fi.Mode(), err)
	}
	db := openPG(t, pg.URL())
	var maxConn string
	if err := db.QueryRowContext(ctx, "SHOW max_connections").Scan(&maxConn); err != nil || maxConn != "50" {
		t.Fatalf("max_connections = %q, %v", maxConn, err)
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE kept (v text); INSERT INTO kept VALUES ('团购')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	// A second start on a running server reuses it.
	again, err := StartPostgres(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.URL() != pg.URL() {
		t.Fatalf("second start: reused=%v url=%s, want reuse of %s", again.Reused, again.URL(), pg.URL())
	}
	if err := again.Stop(ctx); err != nil { // belongs to pg: must not stop it
		t.Fatal(err)
	}
	if err := waitPostgres(ctx, pg.AdminURL(), time.Second, nil); err != nil {
		t.Fatalf("Stop of a reused server stopped it: %v", err)
	}

	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "postmaster.pid")); !os.IsNotExist(err) {
		t.Fatalf("postmaster.pid after Stop: %v", err)
	}

	// A stale pid file (as after a crash) must not prevent the restart.
	if err := os.WriteFile(filepath.Join(dir, "data", "postmaster.pid"), []byte("999999\n"+filepath.Join(dir, "data")+"\n0\n5432\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	pg2, err := StartPostgres(ctx, dir, log, WithPostgresNoSync())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg2.Stop(context.Background()) })
	if pg2.Reused {
		t.Fatal("restart after Stop reported a reused server")
	}
	db = openPG(t, pg2.URL())
	var v string
	if err := db.QueryRowContext(ctx, `SELECT v FROM kept`).Scan(&v); err != nil || v != "团购" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	var enc string
	if err := db.QueryRowContext(ctx, `SHOW server_encoding`).Scan(&enc); err != nil || enc != "UTF8" {
		t.Fatalf("server_encoding = %q, %v", enc, err)
	}
	db.Close()
	if err := pg2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// needPostgres fails the test where no PostgreSQL server programs are
// installed, or where running as root there is no postgres user: `make test`
// installs Debian's postgresql package, which brings both.
func needPostgres(t *testing.T) {
	t.Helper()
	if _, err := findPostgresBinDir("", ""); err != nil {
		t.Fatalf("PostgreSQL server programs not found (run the tests through `make test`, which installs them): %v", err)
	}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			t.Fatalf("running as root without a postgres user (install Debian's postgresql package): %v", err)
		}
	}
}
func openPG(t *testing.T, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestStartRedisKeepsData(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		t.Fatal("redis-server not on PATH (run the tests through `make test`, which installs it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := filepath.Join(t.TempDir(), "redis")
	log := testLogger(t)

	r, err := StartRedis(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Stop(context.Background()) })
	if r.Kind != "redis" || r.InMemory || !strings.HasPrefix(r.URL(), "redis://127.0.0.1:") || !strings.HasSuffix(r.URL(), "/0") {
		t.Fatalf("server = %+v url %s", r, r.URL())
	}
	c := redisClient(t, r.URL())
	if err := c.Set(ctx, "kept", "团购", 0).Err(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if err := r.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pingRedis(r.Addr()); err == nil {
		t.Fatal("redis still answers after Stop")
	}

	r2, err := StartRedis(ctx, dir, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r2.Stop(context.Background()) })
	c = redisClient(t, r2.URL())
	if v, err := c.Get(ctx, "kept").Result(); err != nil || v != "团购" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
	c.Close()
	if err := r2.Stop(ctx); err != nil {
		t.Fatal(err)
	}
}

// When GROUPBUY_LOCALSERVER_CHILD is "kind:dir", the test binary is the
// parent process of TestServersDieWithParent: it starts the server, prints
// its address and waits to be killed.
func TestMain(m *testing.M) {
	if spec := os.Getenv("GROUPBUY_LOCALSERVER_CHILD"); spec != "" {
		kind, dir, _ := strings.Cut(spec, ":")
		start := func(ctx context.Context, dir string, log *slog.Logger) (*Server, error) {
			return StartRedis(ctx, dir, log)
		}
		if kind == "postgres" {
			start = func(ctx context.Context, dir string, log *slog.Logger) (*Server, error) {
				return StartPostgres(ctx, dir, log, WithPostgresNoSync())
			}
		}
		s, err := start(context.Background(), dir, nil)
		if err != nil {
			os.Stdout.WriteString("ERROR " + err.Error() + "\n")
			os.Exit(3)
		}
		os.Stdout.WriteString("READY " + s.Addr() + "\n")
		time.Sleep(time.Minute)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// A server whose parent was SIGKILLed must exit (parent-death signal).
func TestServersDieWithParent(t *testing.T) {
	for _, kind := range []string{"redis", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			var ping func(addr string) error
			switch kind {
			case "redis":
				if _, err := exec.LookPath("redis-server"); err != nil {
					t.Fatal("redis-server not on PATH (run the tests through `make test`, which installs it)")
				}
				ping = pingRedis
			case "postgres":
				needPostgres(t)
				ping = func(addr string) error {
					return waitPostgres(context.Background(), "postgres://postgres@"+addr+"/postgres?sslmode=disable", 0, nil)
				}
			}
			dir := filepath.Join(serverTempDir(t), kind)
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(), "GROUPBUY_LOCALSERVER_CHILD="+kind+":"+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			line, _ := bufio.NewReader(out).ReadString('\n')
			line = strings.TrimSpace(line)
			if !strings.HasPrefix(line, "READY ") {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				t.Fatalf("child said %q", line)
			}
			addr := strings.TrimPrefix(line, "READY ")
			if err := ping(addr); err != nil {
				t.Fatal(err)
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			deadline := time.Now().Add(10 * time.Second)
			for ping(addr) == nil {
				if time.Now().After(deadline) {
					t.Fatalf("%s outlived its SIGKILLed parent", kind)
				}
				time.Sleep(50 * time.Millisecond)
			}
		})
	}
}

// A postgres left running on the directory by someone gone (here: started
// with pg_ctl, which detaches it) is reused, and Stop stops it.
func TestStartPostgresAdoptsOrphan(t *testing.T) {
	needPostgres(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := filepath.Join(serverTempDir(t), "pg")
	pg, err := StartPostgres(ctx, dir, testLogger(t), WithPostgresNoSync())
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	bin, err := findPostgresBinDir("", filepath.Join(dir, "data"))
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(0)
	cmd := exec.Command(filepath.Join(bin, "pg_ctl"), "start", "-w", "-D", filepath.Join(dir, "data"),
		"-l", filepath.Join(dir, "pg_ctl.log"),
		"-o", fmt.Sprintf("-c port=%d -c listen_addresses=127.0.0.1 -c unix_socket_directories=''", port))
	cmd.Env = childEnv()
	if os.Geteuid() == 0 {
		fi, err := os.Stat(filepath.Join(dir, "data"))
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: st.Uid, Gid: st.Gid, NoSetGroups: true}}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	pidLines, _ := readLines(filepath.Join(dir, "data", "postmaster.pid"))
	pid, _ := strconv.Atoi(pidLines[0])
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGQUIT) })

	again, err := StartPostgres(ctx, dir, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Reused || again.Port != port {
		t.Fatalf("reused=%v port=%d, want reuse of the orphan on %d", again.Reused, again.Port, port)
	}
	if err := again.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if processAlive(pid) {
		t.Fatal("Stop left the adopted orphan running")
	}
}

func TestStartRedisFallsBackToMiniredis(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no redis-server here
	ctx := context.Background()
	r, err := StartRedis(ctx, filepath.Join(t.TempDir(), "redis"), testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Stop(ctx)
	if r.Kind != "miniredis" || !r.InMemory {
		t.Fatalf("server = %+v", r)
	}
	c := redisClient(t, r.URL())
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get(ctx, "k").Result(); err != nil || v != "v" {
		t.Fatalf("got %q, %v", v, err)
	}
}

func redisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}
