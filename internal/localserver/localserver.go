// Package localserver starts private database servers, the one launcher of
// them: for `groupbuy dev`, for the tests (internal/testenv) and for
// scripts/test.sh (through cmd/localservers). A PostgreSQL cluster and a
// Redis server live in a directory of their own (for example .groupbuy/pg
// and .groupbuy/redis), listen on 127.0.0.1 on a free port, and keep their
// data between runs unless made throw-away.
//
// Children are started in their own process group (so Ctrl-C in a terminal
// reaches only the parent, which shuts down in order and calls Stop) with a
// parent-death signal, so a SIGKILLed parent does not leave servers behind.
// If one is left behind anyway, the next start on the same directory finds
// it through its pid file and reuses it.
package localserver

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/alicebob/miniredis/v2"
	_ "github.com/lib/pq" // database/sql driver "postgres"
)

// Server is a database server started (or reused) by StartPostgres or
// StartRedis. Stop it with Stop; Stop is safe to call more than once.
type Server struct {
	// Kind is "postgres", "redis", "redis-sentinel" or "miniredis".
	Kind string
	// Dir is the directory that holds the server's data, pid and log files.
	Dir string
	// Port is the TCP port on 127.0.0.1.
	Port int
	// InMemory is true for the miniredis fallback: nothing survives Stop.
	InMemory bool
	// Reused is true when a server already running on Dir was found and
	// used instead of starting a new one.
	Reused bool

	url      string
	adminURL string
	log      *slog.Logger
	pid      int

	promoteFn func(ctx context.Context) error // PostgreSQL: pg_ctl promote

	stopOnce sync.Once
	stopErr  error
	stopFn   func(ctx context.Context) error
}

// URL is the connection URL: postgres://postgres@127.0.0.1:PORT/groupbuy?sslmode=disable
// or redis://127.0.0.1:PORT/0.
func (s *Server) URL() string { return s.url }

// AdminURL is, for PostgreSQL, the URL of the maintenance database
// "postgres" (for creating and dropping databases); for Redis it equals URL.
func (s *Server) AdminURL() string {
	if s.adminURL != "" {
		return s.adminURL
	}
	return s.url
}

// Addr is 127.0.0.1:PORT.
func (s *Server) Addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.Port)) }

// PID is the server's process id (0 for miniredis).
func (s *Server) PID() int { return s.pid }

// Kill ends the server at once, as a crash would: SIGKILL to its process
// group, the server and every process it forked (PostgreSQL's backends), so
// nothing is flushed and no client gets a goodbye. For failover tests.
func (s *Server) Kill() error {
	if s.pid <= 0 {
		return fmt.Errorf("%s: no process to kill", s.Kind)
	}
	target := s.pid
	if pgid, err := syscall.Getpgid(s.pid); err == nil && pgid == s.pid {
		target = -s.pid // started with Setpgid: its group is its own
	}
	if err := syscall.Kill(target, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("%s: kill: %w", s.Kind, err)
	}
	return nil
}

// Promote turns a PostgreSQL standby (WithPostgresStandbyOf) into a primary
// (pg_ctl promote) and returns once it accepts writes.
func (s *Server) Promote(ctx context.Context) error {
	if s.promoteFn == nil {
		return fmt.Errorf("%s: only a PostgreSQL server can be promoted", s.Kind)
	}
	return s.promoteFn(ctx)
}

// Stop shuts the server down (PostgreSQL: pg_ctl stop -m fast; Redis:
// SIGTERM, which writes the append-only file) and waits until it has exited
// or ctx is done, after which it is killed. A reused server that belongs to
// another live process is left running.
func (s *Server) Stop(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.stopOnce.Do(func() {
		if s.stopFn != nil {
			s.stopErr = s.stopFn(ctx)
		}
	})
	return s.stopErr
}

// ---------------------------------------------------------------------------
// PostgreSQL

// DefaultPostgresSettings are the server settings StartPostgres passes (as
// -c name=value) unless overridden with WithPostgresSetting: sized for a
// developer machine and for local benchmarks.
var DefaultPostgresSettings = map[string]string{
	"max_connections": "200",
	"shared_buffers":  "256MB",
	"max_wal_size":    "2GB",
	"work_mem":        "16MB",
}

// PostgresOption changes what StartPostgres does.
type PostgresOption func(*pgConfig)

type pgConfig struct {
	database string
	settings map[string]string
	binDir   string
	port     int
	timeout  time.Duration
	noSync   bool
	primary  *Server // a standby of this primary
}

// WithPostgresSetting sets a server setting (postgresql.conf name and value),
// overriding DefaultPostgresSettings. An empty value removes a default.
func WithPostgresSetting(name, value string) PostgresOption {
	return func(c *pgConfig) { c.settings[name] = value }
}

// WithPostgresDatabase names the database StartPostgres creates and URL
// points at (default "groupbuy").
func WithPostgresDatabase(name string) PostgresOption {
	return func(c *pgConfig) { c.database = name }
}

// WithPostgresBinDir uses the PostgreSQL programs in dir instead of searching.
func WithPostgresBinDir(dir string) PostgresOption {
	return func(c *pgConfig) { c.binDir = dir }
}

// WithPostgresPort asks for a fixed port instead of a free one.
func WithPostgresPort(port int) PostgresOption {
	return func(c *pgConfig) { c.port = port }
}

// WithPostgresNoSync makes a throw-away cluster: initdb --no-sync and
// fsync, synchronous_commit and full_page_writes off. Much faster to
// create and write; an OS crash can corrupt it. For tests.
func WithPostgresNoSync() PostgresOption {
	return func(c *pgConfig) {
		c.noSync = true
		c.settings["fsync"] = "off"
		c.settings["synchronous_commit"] = "off"
		c.settings["full_page_writes"] = "off"
	}
}

// WithPostgresStandbyOf makes a new cluster a synchronous standby of
// primary (another private cluster): pg_basebackup -R copies it instead of
// initdb; once it streams, the primary is told to wait for it on every
// commit (synchronous_standby_names '*', by ALTER SYSTEM on the primary
// only: a promoted standby with no standby of its own must not wait), and
// StartPostgres returns when the primary reports it synchronous. Commits
// then wait for the standby's flush while synchronous_commit is on.
func WithPostgresStandbyOf(primary *Server) PostgresOption {
	return func(c *pgConfig) { c.primary = primary }
}

// WithPostgresStartTimeout bounds how long StartPostgres waits for the
// server to accept connections (default 60 s; ctx still applies).
func WithPostgresStartTimeout(d time.Duration) PostgresOption {
	return func(c *pgConfig) { c.timeout = d }
}

const pgSuperuser = "postgres"

// StartPostgres starts a private PostgreSQL cluster whose files live in dir:
// dir/data is the data directory (created with initdb the first time),
// dir/postgresql.log the server log, and dir itself the Unix socket
// directory. It listens on a free port on 127.0.0.1 (the previous run's port
// when it is free), trusts local connections, and has a database "groupbuy".
// When running as root the server runs as the owner of an existing data
// directory, else as the "postgres" user (PostgreSQL refuses to run as root);
// a new cluster that user could not reach in dir is kept in a directory of
// its own, which dir links to (see reachableDir).
// A server left running on dir (by a killed process) is reused.
func StartPostgres(ctx context.Context, dir string, log *slog.Logger, opts ...PostgresOption) (*Server, error) {
	log = orDiscard(log)
	cfg := pgConfig{database: "groupbuy", settings: map[string]string{}, timeout: 60 * time.Second}
	for k, v := range DefaultPostgresSettings {
		cfg.settings[k] = v
	}
	for _, o := range opts {
		o(&cfg)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if dir, err = reachableDir(dir, log); err != nil {
		return nil, err
	}
	dataDir := filepath.Join(dir, "data")
	logPath := filepath.Join(dir, "postgresql.log")

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	existing := fileExists(filepath.Join(dataDir, "PG_VERSION"))

	bin, err := findPostgresBinDir(cfg.binDir, dataDir)
	if err != nil {
		return nil, err
	}

	cred, err := pgCredential(dir, dataDir, existing)
	if err != nil {
		return nil, err
	}

	s := &Server{Kind: "postgres", Dir: dir, log: log}

	// A server already running on this data directory?
	if pid, port, ok := runningPostmaster(dataDir); ok {
		if err := waitPostgres(ctx, adminURL(port), 10*time.Second, nil); err == nil {
			s.Port, s.Reused, s.pid = port, true, pid
			s.promoteFn = func(ctx context.Context) error { return promote(ctx, bin, dataDir, cred) }
			orphan := isOrphan(pid)
			log.Info("reusing running PostgreSQL", "dir", dir, "port", port, "pid", pid, "orphan", orphan)
			if orphan {
				// Nobody else owns it: adopt it, so Stop stops it.
				s.stopFn = func(ctx context.Context) error { return stopPostmaster(ctx, bin, dataDir, pid, cred, nil, log) }
			} else {
				s.stopFn = func(context.Context) error { return nil }
			}
			return s, finishPostgres(ctx, s, cfg)
		}
	}
	removeStalePostmasterPID(dataDir, log)

	if !existing && cfg.primary != nil {
		if err := basebackup(ctx, bin, dataDir, cfg.primary, cred, log); err != nil {
			return nil, err
		}
	} else if !existing {
		if err := initdb(ctx, bin, dataDir, cred, cfg.noSync, log); err != nil {
			return nil, err
		}
	}

	// Socket path: sun_path holds 107 bytes. With a long dir use TCP only.
	socketDir := dir
	if len(socketDir)+len("/.s.PGSQL.65535.lock") > 100 {
		socketDir = ""
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := cfg.port
		if port == 0 {
			port = freePort(readPortFile(filepath.Join(dir, "port")))
			if port == 0 {
				return nil, errors.New("postgres: no free TCP port on 127.0.0.1")
			}
		}
		args := []string{"-D", dataDir,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port=" + strconv.Itoa(port),
			"-c", "unix_socket_directories=" + quoteList(socketDir),
		}
		for _, k := range slices.Sorted(maps.Keys(cfg.settings)) {
			if v := cfg.settings[k]; v != "" {
				args = append(args, "-c", k+"="+v)
			}
		}
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
		cmd := exec.Command(filepath.Join(bin, "postgres"), args...)
		cmd.Dir = dataDir
		cmd.Env = childEnv()
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGINT, Credential: cred}
		child, err := startChild(cmd)
		logf.Close()
		if err != nil {
			return nil, fmt.Errorf("postgres: start %s: %w", cmd.Path, err)
		}
		log.Info("starting PostgreSQL", "dir", dir, "port", port, "pid", cmd.Process.Pid, "bin", bin)
		err = waitPostgres(ctx, adminURL(port), cfg.timeout, child.done)
		if err == nil {
			s.Port = port
			_ = os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(port)+"\n"), 0o644)
			pid := cmd.Process.Pid
			s.pid = pid
			s.stopFn = func(ctx context.Context) error { return stopPostmaster(ctx, bin, dataDir, pid, cred, child, log) }
			s.promoteFn = func(ctx context.Context) error { return promote(ctx, bin, dataDir, cred) }
			if err := finishPostgres(ctx, s, cfg); err != nil {
				_ = s.Stop(context.Background())
				return nil, err
			}
			return s, nil
		}
		// Did not come up: kill it if it still runs, look at why.
		child.kill(syscall.SIGQUIT)
		select {
		case <-child.done:
		case <-time.After(5 * time.Second):
			child.kill(syscall.SIGKILL)
			<-child.done
		}
		tail := logTail(logPath, 15)
		lastErr = fmt.Errorf("postgres did not start on port %d: %w\n%s", port, err, tail)
		if ctx.Err() != nil || cfg.port != 0 || !strings.Contains(tail, "could not bind") && !strings.Contains(tail, "could not create any TCP/IP sockets") {
			break
		}
		log.Warn("PostgreSQL port taken, trying another", "port", port)
	}
	return nil, lastErr
}

func finishPostgres(ctx context.Context, s *Server, cfg pgConfig) error {
	s.adminURL = adminURL(s.Port)
	s.url = pgURL(s.Port, cfg.database)
	if cfg.primary != nil {
		// A standby has the primary's databases and cannot create one.
		if err := waitSynchronous(ctx, cfg.primary.AdminURL(), cfg.timeout); err != nil {
			return fmt.Errorf("postgres: standby of port %d: %w", cfg.primary.Port, err)
		}
		return nil
	}
	if err := ensureDatabase(ctx, s.adminURL, cfg.database); err != nil {
		return fmt.Errorf("postgres: create database %s: %w", cfg.database, err)
	}
	return nil
}

func pgURL(port int, db string) string {
	u := url.URL{Scheme: "postgres", User: url.User(pgSuperuser),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func adminURL(port int) string { return pgURL(port, "postgres") }

func ensureDatabase(ctx context.Context, admin, name string) error {
	db, err := sql.Open("postgres", admin)
	if err != nil {
		return err
	}
	defer db.Close()
	var exists bool
	if err := db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return err
	}
	if exists {
		return nil
	}
	_, err = db.ExecContext(ctx, `CREATE DATABASE `+quoteIdent(name))
	if err != nil && strings.Contains(err.Error(), "already exists") {
		return nil // created concurrently
	}
	return err
}

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// waitPostgres polls until the server answers SELECT 1, the child exits,
// the timeout passes or ctx is done.
func waitPostgres(ctx context.Context, u string, timeout time.Duration, exited <-chan struct{}) error {
	db, err := sql.Open("postgres", u+"&connect_timeout=2")
	if err != nil {
		return err
	}
	defer db.Close()
	return waitReady(ctx, timeout, 100*time.Millisecond, exited, func() error {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		var one int
		return db.QueryRowContext(cctx, "SELECT 1").Scan(&one)
	})
}

func initdb(ctx context.Context, bin, dataDir string, cred *syscall.Credential, noSync bool, log *slog.Logger) error {
	log.Info("creating PostgreSQL cluster (initdb)", "dir", dataDir)
	var out []byte
	var err error
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{"-D", dataDir, "-U", pgSuperuser, "-E", "UTF8", "--locale=" + locale, "--auth=trust"}
		if noSync {
			args = append(args, "--no-sync")
		}
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "initdb"), args...)
		cmd.Env = childEnv()
		cmd.Dir = filepath.Dir(dataDir)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
		out, err = cmd.CombinedOutput()
		if err == nil {
			return nil
		}
		// Leave no half-made cluster behind, then try the next locale.
		_ = os.RemoveAll(dataDir)
		if !strings.Contains(string(out), "locale") {
			break
		}
	}
	return fmt.Errorf("postgres: initdb failed: %w\n%s", err, out)
}

// basebackup copies primary into dataDir as a standby that streams from
// it (-R writes primary_conninfo and standby.signal).
func basebackup(ctx context.Context, bin, dataDir string, primary *Server, cred *syscall.Credential, log *slog.Logger) error {
	log.Info("copying the primary for a standby (pg_basebackup)", "dir", dataDir, "primary", primary.Port)
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_basebackup"), "-D", dataDir, "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port),
		"-U", pgSuperuser, "-R", "-X", "stream", "-c", "fast", "--no-sync")
	cmd.Env = childEnv()
	cmd.Dir = filepath.Dir(dataDir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		_ = os.RemoveAll(dataDir)
		return fmt.Errorf("postgres: pg_basebackup failed: %w\n%s", err, out)
	}
	return nil
}

// waitSynchronous makes the primary at admin wait for a standby on every
// commit and waits until it has one in sync.
func waitSynchronous(ctx context.Context, admin string, timeout time.Duration) error {
	db, err := sql.Open("postgres", admin+"&connect_timeout=2")
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `ALTER SYSTEM SET synchronous_standby_names = '*'`); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `SELECT pg_reload_conf()`); err != nil {
		return err
	}
	return waitReady(ctx, timeout, 50*time.Millisecond, nil, func() error {
		var n int
		err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'`).Scan(&n)
		if err == nil && n == 0 {
			err = errors.New("no synchronous standby streaming yet")
		}
		return err
	})
}

// promote runs pg_ctl promote, which waits until the server takes writes.
func promote(ctx context.Context, bin, dataDir string, cred *syscall.Credential) error {
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_ctl"), "promote", "-D", dataDir, "-w", "-t", "60")
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("postgres: pg_ctl promote: %w\n%s", err, out)
	}
	return nil
}

// stopPostmaster runs pg_ctl stop -m fast; if that fails it signals the
// postmaster itself (SIGINT is a fast shutdown), and kills it when ctx ends.
func stopPostmaster(ctx context.Context, bin, dataDir string, pid int, cred *syscall.Credential, child *childProc, log *slog.Logger) error {
	exited := func() bool { return serverExited(child, pid) }
	if exited() {
		return nil
	}
	log.Info("stopping PostgreSQL", "dir", filepath.Dir(dataDir), "pid", pid)
	secs := 60
	if dl, ok := ctx.Deadline(); ok {
		secs = max(1, int(time.Until(dl).Seconds()))
	}
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "pg_ctl"), "stop", "-D", dataDir, "-m", "fast", "-w", "-t", strconv.Itoa(secs))
	cmd.Env = childEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	out, err := cmd.CombinedOutput()
	if err != nil && !exited() {
		log.Warn("pg_ctl stop failed; signalling postmaster", "err", err, "output", strings.TrimSpace(string(out)))
		_ = syscall.Kill(pid, syscall.SIGINT)
	}
	for !exited() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGQUIT) // immediate shutdown
			time.Sleep(time.Second)
			if !exited() {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return fmt.Errorf("postgres: stop: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// runningPostmaster reads dataDir/postmaster.pid and reports the pid and
// port of a live postmaster on that data directory.
func runningPostmaster(dataDir string) (pid, port int, ok bool) {
	lines, err := readLines(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil || len(lines) < 4 {
		return 0, 0, false
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ = strconv.Atoi(strings.TrimSpace(lines[3]))
	if pid <= 0 || port <= 0 || !isProcess(pid, "postgres", dataDir) {
		return 0, 0, false
	}
	return pid, port, true
}

// removeStalePostmasterPID deletes a postmaster.pid whose process is gone
// or is not a postgres on this data directory (its pid reused after a
// reboot or container restart), which PostgreSQL might mistake for a live
// server.
func removeStalePostmasterPID(dataDir string, log *slog.Logger) {
	p := filepath.Join(dataDir, "postmaster.pid")
	lines, err := readLines(p)
	if err != nil {
		return
	}
	pid := 0
	if len(lines) > 0 {
		pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	}
	if pid > 0 && isProcess(pid, "postgres", dataDir) {
		return // alive but not answering: let postgres report it
	}
	log.Info("removing stale postmaster.pid", "pid", pid)
	_ = os.Remove(p)
}

// reachableDir returns the directory a cluster asked for in dir lives in.
// As root, a new cluster in a directory the postgres user cannot reach (a
// checkout under /root, a mktemp -d) lives in a directory of its own in that
// user's home (or /var/tmp), and dir becomes a symbolic link to it, so the
// next start finds the same data. An existing cluster stays where it is.
func reachableDir(dir string, log *slog.Logger) (string, error) {
	if os.Geteuid() != 0 {
		return dir, nil
	}
	if fi, err := os.Lstat(dir); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(dir)
		if err == nil {
			return target, nil
		}
		log.Warn("the private cluster's directory is gone; creating a new one", "link", dir, "err", err)
		if err := os.Remove(dir); err != nil {
			return "", fmt.Errorf("postgres: %w", err)
		}
	}
	if fileExists(filepath.Join(dir, "data", "PG_VERSION")) {
		return dir, nil
	}
	u, err := postgresUser()
	if err != nil {
		return "", err
	}
	if checkReachable(dir, u.uid, u.gid) == nil {
		return dir, nil
	}
	base := u.home
	if fi, err := os.Stat(base); err != nil || !fi.IsDir() || checkReachable(filepath.Join(base, "cluster"), u.uid, u.gid) != nil {
		base = "/var/tmp" // world-writable and sticky; not cleared at boot
	}
	// Only an empty directory (left by an earlier refusal) gives way to the link.
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("postgres: the server runs as uid %d, which cannot reach %s, and it is not empty: %w", u.uid, dir, err)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	target, err := os.MkdirTemp(base, "groupbuy-pg-")
	if err != nil {
		return "", fmt.Errorf("postgres: %w", err)
	}
	if err := os.Symlink(target, dir); err != nil {
		_ = os.Remove(target)
		return "", fmt.Errorf("postgres: %w", err)
	}
	log.Info("the postgres user cannot reach the data directory: the cluster lives in a directory of its own, linked from it",
		"dir", dir, "cluster", target)
	return target, nil
}

// OpenToServers lets the postgres OS user traverse dir and its parent when
// running as root, for a cluster made in a directory created 0700 (a test's
// t.TempDir).
func OpenToServers(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// pgUser is the OS user a cluster runs as when root starts it.
type pgUser struct {
	uid, gid uint32
	home     string
}

func postgresUser() (pgUser, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return pgUser{}, fmt.Errorf("postgres: running as root needs a 'postgres' OS user to run the server as (PostgreSQL refuses root): %w", err)
	}
	u64, _ := strconv.ParseUint(u.Uid, 10, 32)
	g64, _ := strconv.ParseUint(u.Gid, 10, 32)
	return pgUser{uid: uint32(u64), gid: uint32(g64), home: u.HomeDir}, nil
}

// pgCredential decides which OS user runs initdb and postgres. Not root:
// the current user (nil). Root: the owner of an existing data directory if
// that is not root, else the "postgres" user; dir is handed to that user.
func pgCredential(dir, dataDir string, existing bool) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var uid, gid uint32
	if fi, err := os.Stat(dataDir); err == nil && existing {
		st := fi.Sys().(*syscall.Stat_t)
		uid, gid = st.Uid, st.Gid
	}
	if uid == 0 {
		u, err := postgresUser()
		if err != nil {
			return nil, err
		}
		uid, gid = u.uid, u.gid
	}
	// Hand dir (and data dir, if any) to that user.
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid == uid {
			if fi.IsDir() && p != dir {
				return filepath.SkipDir // already theirs, no need to walk a big data dir
			}
			return nil
		}
		return os.Lchown(p, int(uid), int(gid))
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: chown %s: %w", dir, err)
	}
	_ = os.Chmod(dir, 0o700)
	if err := checkReachable(dir, uid, gid); err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uid, Gid: gid, NoSetGroups: true}, nil
}

// checkReachable verifies that uid can traverse every parent of dir.
func checkReachable(dir string, uid, gid uint32) error {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		m := fi.Mode().Perm()
		ok := m&0o001 != 0 || (st.Uid == uid && m&0o100 != 0) || (st.Gid == gid && m&0o010 != 0)
		if !ok {
			return fmt.Errorf("postgres: the server runs as uid %d, which cannot reach %s (mode %v); "+
				"put the data directory somewhere it can reach (GROUPBUY_DATA_DIR) or set DATABASE_URL", uid, p, m)
		}
		if p == "/" || p == "." {
			return nil
		}
	}
}

// PostgresBinDir returns the directory of the PostgreSQL server programs
// StartPostgres would use for a new cluster, or an error saying how to
// install them.
func PostgresBinDir() (string, error) { return findPostgresBinDir("", "") }

// findPostgresBinDir: explicit dir; the version matching an existing
// cluster; pg_config --bindir; newest /usr/lib/postgresql/*/bin; PATH.
func findPostgresBinDir(explicit, dataDir string) (string, error) {
	has := func(d string) bool {
		return d != "" && isExecutable(filepath.Join(d, "postgres")) && isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl"))
	}
	if explicit != "" {
		if has(explicit) {
			return explicit, nil
		}
		return "", fmt.Errorf("postgres: %s has no postgres/initdb/pg_ctl", explicit)
	}
	var candidates []string
	if dataDir != "" {
		if b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
			candidates = append(candidates, filepath.Join("/usr/lib/postgresql", strings.TrimSpace(string(b)), "bin"))
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	if dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin"); len(dirs) > 0 {
		sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
		candidates = append(candidates, dirs...)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			candidates = append(candidates, filepath.Dir(r))
		}
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, c := range candidates {
		if has(c) {
			return c, nil
		}
	}
	return "", errors.New("postgres: PostgreSQL server programs not found (pg_config --bindir, /usr/lib/postgresql/*/bin, PATH); " +
		"install them (Debian: apt-get install postgresql) or set DATABASE_URL")
}

func pgMajor(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// ---------------------------------------------------------------------------
// Redis

// RedisOption changes what StartRedis does.
type RedisOption func(*redisConfig)

type redisConfig struct {
	appendOnly bool
	fallback   bool
	replicaOf  *Server
	sentinel   []string // sentinel.conf lines: run as a sentinel
	cluster    bool
}

// WithRedisNoPersistence makes a throw-away server: no append-only file, so
// nothing survives its stop. For tests.
func WithRedisNoPersistence() RedisOption {
	return func(c *redisConfig) { c.appendOnly = false }
}

// WithRedisServerOnly refuses to fall back to miniredis: without
// redis-server on PATH, StartRedis fails. For tests that need the real one.
func WithRedisServerOnly() RedisOption {
	return func(c *redisConfig) { c.fallback = false }
}

// WithRedisReplicaOf starts the server as a replica of primary;
// StartRedis returns once it is in sync.
func WithRedisReplicaOf(primary *Server) RedisOption {
	return func(c *redisConfig) { c.replicaOf = primary }
}

// WithRedisClusterNode starts the server as a Redis Cluster node, with no
// slots yet: the caller assigns them (CLUSTER ADDSLOTSRANGE) or makes it a
// replica (CLUSTER MEET, CLUSTER REPLICATE).
func WithRedisClusterNode() RedisOption {
	return func(c *redisConfig) { c.cluster = true }
}

// withRedisSentinel runs redis-server as a sentinel with these lines in its
// configuration file (which the sentinel rewrites as it learns).
func withRedisSentinel(conf ...string) RedisOption {
	return func(c *redisConfig) { c.sentinel = conf }
}

// StartRedis starts redis-server on a free port on 127.0.0.1 with its data
// in dir (append-only file, so data survives a restart). Without
// redis-server on PATH it starts an in-process miniredis instead, whose data
// is in memory only. A redis-server left running on dir is reused.
func StartRedis(ctx context.Context, dir string, log *slog.Logger, opts ...RedisOption) (*Server, error) {
	log = orDiscard(log)
	cfg := redisConfig{appendOnly: true, fallback: true}
	for _, o := range opts {
		o(&cfg)
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	bin, lookErr := exec.LookPath("redis-server")
	if lookErr != nil && !cfg.fallback {
		return nil, fmt.Errorf("redis: redis-server not found on PATH (Debian: apt-get install redis-server): %w", lookErr)
	}
	if lookErr != nil {
		return startMiniredis(log, dir)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	pidPath := filepath.Join(dir, "redis.pid")
	logPath := filepath.Join(dir, "redis.log")
	appendOnly := "yes"
	if !cfg.appendOnly {
		appendOnly = "no"
	}
	s := &Server{Kind: "redis", Dir: dir, log: log}
	if cfg.sentinel != nil {
		s.Kind = "redis-sentinel"
		conf := filepath.Join(dir, "sentinel.conf")
		if !fileExists(conf) {
			if err := os.WriteFile(conf, []byte(strings.Join(cfg.sentinel, "\n")+"\n"), 0o600); err != nil {
				return nil, fmt.Errorf("redis: %w", err)
			}
		}
	}

	// Reuse a server left running on this dir.
	if pid, port, ok := readRedisPIDFile(pidPath); ok && isProcess(pid, "redis-server", "") {
		if err := waitRedis(ctx, port, 2*time.Second, nil); err == nil {
			s.Port, s.Reused, s.url, s.pid = port, true, redisURL(port), pid
			orphan := isOrphan(pid)
			log.Info("reusing running redis-server", "dir", dir, "port", port, "pid", pid, "orphan", orphan)
			if orphan {
				s.stopFn = func(ctx context.Context) error { return stopRedis(ctx, pid, nil, pidPath) }
			} else {
				s.stopFn = func(context.Context) error { return nil }
			}
			return s, nil
		}
	}

	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port := freePort(readPortFile(filepath.Join(dir, "port")))
		if port == 0 {
			return nil, errors.New("redis: no free TCP port on 127.0.0.1")
		}
		logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
		var args []string
		if cfg.sentinel != nil {
			args = []string{filepath.Join(dir, "sentinel.conf"), "--sentinel"}
		}
		args = append(args, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", dir,
			"--appendonly", appendOnly, "--save", "", "--daemonize", "no", "--protected-mode", "yes",
			"--repl-diskless-sync-delay", "0") // a replica syncs at once, not after 5 s
		if cfg.replicaOf != nil {
			args = append(args, "--replicaof", "127.0.0.1", strconv.Itoa(cfg.replicaOf.Port))
		}
		if cfg.cluster {
			args = append(args, "--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"))
		}
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = childEnv()
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
		child, err := startChild(cmd)
		logf.Close()
		if err != nil {
			return nil, fmt.Errorf("redis: start %s: %w", bin, err)
		}
		pid := cmd.Process.Pid
		log.Info("starting redis-server", "dir", dir, "port", port, "pid", pid)
		err = waitRedis(ctx, port, 30*time.Second, child.done)
		if err == nil && cfg.replicaOf != nil {
			err = waitReplicaInSync(ctx, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 30*time.Second)
		}
		if err == nil {
			_ = os.WriteFile(pidPath, []byte(fmt.Sprintf("%d\n%d\n", pid, port)), 0o644)
			_ = os.WriteFile(filepath.Join(dir, "port"), []byte(strconv.Itoa(port)+"\n"), 0o644)
			s.Port, s.url, s.pid = port, redisURL(port), pid
			s.stopFn = func(ctx context.Context) error { return stopRedis(ctx, pid, child, pidPath) }
			return s, nil
		}
		child.kill(syscall.SIGKILL)
		<-child.done
		tail := logTail(logPath, 10)
		lastErr = fmt.Errorf("redis-server did not start on port %d: %w\n%s", port, err, tail)
		if ctx.Err() != nil || !strings.Contains(tail, "ddress already in use") {
			break
		}
	}
	return nil, lastErr
}

func startMiniredis(log *slog.Logger, dir string) (*Server, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("miniredis: %w", err)
	}
	port, _ := strconv.Atoi(m.Port())
	log.Warn("redis-server not found on PATH: using in-process miniredis; queued tasks are in memory only and are lost on exit (install redis-server to keep them)", "port", port)
	s := &Server{Kind: "miniredis", Dir: dir, Port: port, InMemory: true, url: redisURL(port), log: log}
	s.stopFn = func(context.Context) error { m.Close(); return nil }
	return s, nil
}

func redisURL(port int) string { return fmt.Sprintf("redis://127.0.0.1:%d/0", port) }

func stopRedis(ctx context.Context, pid int, child *childProc, pidPath string) error {
	exited := func() bool { return serverExited(child, pid) }
	defer os.Remove(pidPath)
	if exited() {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM) // redis flushes the AOF and exits
	for !exited() {
		select {
		case <-ctx.Done():
			_ = syscall.Kill(pid, syscall.SIGKILL)
			return fmt.Errorf("redis: stop: %w", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// waitRedis sends PING until it gets +PONG.
func waitRedis(ctx context.Context, port int, timeout time.Duration, exited <-chan struct{}) error {
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	return waitReady(ctx, timeout, 50*time.Millisecond, exited, func() error { return pingRedis(addr) })
}

// waitReady polls ready until it succeeds, the timeout passes, ctx ends or
// the server process exits.
func waitReady(ctx context.Context, timeout, every time.Duration, exited <-chan struct{}, ready func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := ready()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-exited:
			return errors.New("server exited")
		case <-time.After(every):
		}
	}
}

func pingRedis(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, "PING\r\n"); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING: %q", strings.TrimSpace(line)) // e.g. -LOADING
	}
	return nil
}

func readRedisPIDFile(p string) (pid, port int, ok bool) {
	lines, err := readLines(p)
	if err != nil || len(lines) < 2 {
		return 0, 0, false
	}
	pid, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
	port, _ = strconv.Atoi(strings.TrimSpace(lines[1]))
	return pid, port, pid > 0 && port > 0
}

// ---------------------------------------------------------------------------
// processes

type childProc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

func (c *childProc) kill(sig syscall.Signal) {
	select {
	case <-c.done:
	default:
		_ = c.cmd.Process.Signal(sig)
	}
}

// startChild starts cmd from a goroutine locked to its OS thread, which
// stays alive until the child exits: Linux sends the parent-death signal
// when the thread that forked the child exits, not the process, so the
// child must not be forked from a thread the Go runtime might retire.
func startChild(cmd *exec.Cmd) (*childProc, error) {
	c := &childProc{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: the thread ends with this goroutine, after the child.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		_ = cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return c, nil
}

// serverExited reports whether a server is gone: the child we started has
// been reaped, or, for a server an earlier run started, pid no longer runs.
func serverExited(child *childProc, pid int) bool {
	if child != nil {
		select {
		case <-child.done:
			return true
		default:
			return false
		}
	}
	return !processAlive(pid)
}

// processAlive reports whether pid runs (a zombie, exited but not yet
// reaped by its parent, does not count).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i := strings.LastIndexByte(s, ')'); i >= 0 && len(s) > i+2 && (s[i+2] == 'Z' || s[i+2] == 'X') {
			return false
		}
	}
	return true
}

// isProcess reports whether pid is alive and is the named program and,
// when cwd is set, runs in that directory (a postmaster's cwd is its data
// directory). Without /proc it trusts kill(pid, 0).
func isProcess(pid int, name, cwd string) bool {
	if !processAlive(pid) {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return !fileExists("/proc/self")
	}
	// comm is the program name cut to 15 bytes.
	if c := strings.TrimSpace(string(comm)); c != name && !(len(c) == 15 && strings.HasPrefix(name, c)) {
		return false
	}
	if cwd != "" {
		if got, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err == nil {
			want, _ := filepath.EvalSymlinks(cwd)
			return got == cwd || got == want
		}
	}
	return true
}

// isOrphan reports whether pid has lost the process that started it: it
// was reparented to init or to a subreaper such as systemd --user or tini.
func isOrphan(pid int) bool {
	ppid := parentPID(pid)
	if ppid == 1 {
		return true
	}
	if ppid <= 0 {
		return false
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid))
	if err != nil {
		return false
	}
	switch strings.TrimSpace(string(comm)) {
	case "systemd", "init", "tini", "dumb-init", "docker-init", "catatonit", "s6-svscan", "runit":
		return true
	}
	return false
}

// parentPID returns pid's parent process id; -1 if unknown.
func parentPID(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return -1
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return -1
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return ppid
}

// freePort returns preferred if it can be bound on 127.0.0.1, else a port
// the kernel picks; 0 on failure.
func freePort(preferred int) int {
	if preferred > 0 {
		if l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(preferred))); err == nil {
			l.Close()
			return preferred
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// readPortFile reads a port number from the first line of a file.
func readPortFile(p string) int {
	lines, err := readLines(p)
	if err != nil || len(lines) == 0 {
		return 0
	}
	port, _ := strconv.Atoi(strings.TrimSpace(lines[0]))
	return port
}

// childEnv is the environment for server programs: ours without PG*
// variables that could redirect them, with messages in English.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

func readLines(p string) ([]string, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return strings.Split(string(b), "\n"), nil
}

func logTail(p string, n int) string {
	lines, err := readLines(p)
	if err != nil {
		return ""
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

func orDiscard(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// quoteList quotes a directory for a list-valued setting such as
// unix_socket_directories when it contains a comma or a blank.
func quoteList(dir string) string {
	if dir == "" || !strings.ContainsAny(dir, ", \t\"") {
		return dir
	}
	return `"` + strings.ReplaceAll(dir, `"`, `""`) + `"`
}
