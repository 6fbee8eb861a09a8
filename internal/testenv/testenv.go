// Package testenv gives tests their own PostgreSQL database and Redis:
// one migrated template per test binary, copied for each test and dropped
// afterwards, and a private redis-server per caller.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/localserver"
	"groupbuy/internal/pg"
	"groupbuy/migrations"
)

// AdminURL is the server the tests create databases on: DATABASE_URL, or the
// local default.
func AdminURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// Main runs the tests, then the package's own cleanups (shared fixtures
// such as a browser), and drops the template database; call it from
// TestMain.
func Main(m *testing.M, cleanups ...func()) {
	code := m.Run()
	for _, cleanup := range cleanups {
		cleanup()
	}
	if templateName != "" {
		if err := dropDatabase(templateName); err != nil {
			fmt.Fprintln(os.Stderr, "testenv:", err)
		}
	}
	os.Exit(code)
}

func randomName(prefix string) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// URLFor returns AdminURL with its database replaced by name.
func URLFor(name string) string {
	u, err := url.Parse(AdminURL())
	if err != nil {
		panic(err)
	}
	u.Path = "/" + name
	return u.String()
}

func admin(ctx context.Context, stmt string) error {
	db, err := sqlx.Open("postgres", AdminURL())
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.ExecContext(ctx, stmt)
	return err
}

func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return admin(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func makeTemplate() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	name := randomName("gbtest_tmpl_")
	if err := admin(ctx, "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create template database (is PostgreSQL at %s running?): %w", AdminURL(), err)
	}
	db, err := pg.Open(ctx, URLFor(name), 2)
	if err != nil {
		return name, err
	}
	defer db.Close()
	return name, migrations.Up(ctx, db)
}

// NewDatabase creates a fresh migrated database for t, dropped when t ends,
// and returns its URL.
func NewDatabase(t testing.TB) string {
	t.Helper()
	templateOnce.Do(func() { templateName, templateErr = makeTemplate() })
	if templateErr != nil {
		t.Fatalf("test database template: %v", templateErr)
	}
	return createDatabase(t, "CREATE DATABASE %s TEMPLATE "+templateName)
}

// CopyDatabase creates a copy of the database at dbURL for t, dropped when
// t ends, and returns its URL: for tests that need one costly fill twice.
// No one may be connected to the database at dbURL meanwhile.
func CopyDatabase(t testing.TB, dbURL string) string {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	return createDatabase(t, "CREATE DATABASE %s TEMPLATE "+strings.TrimPrefix(u.Path, "/"))
}

// EmptyDatabase creates a database without the schema for t, dropped when t
// ends, and returns its URL: for tests of what migrates it.
func EmptyDatabase(t testing.TB) string {
	t.Helper()
	return createDatabase(t, "CREATE DATABASE %s")
}

// createDatabase runs create (a statement with %s for the name) and drops
// the database when t ends.
func createDatabase(t testing.TB, create string) string {
	t.Helper()
	name := randomName("gbtest_")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := admin(ctx, fmt.Sprintf(create, name)); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDatabase(name); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return URLFor(name)
}

// DB returns a connection pool to a fresh migrated database for t.
func DB(t testing.TB) *sqlx.DB {
	t.Helper()
	db, err := pg.Open(context.Background(), NewDatabase(t), 40)
	if err != nil {
		t.Fatalf("open test database: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Redis starts a private redis-server for t (through internal/localserver,
// the one launcher) and returns its URL. The project's test script installs
// redis-server; a test fails without it rather than share a Redis with
// other runs.
func Redis(t testing.TB) string {
	t.Helper()
	s, err := localserver.StartRedis(context.Background(), t.TempDir(), nil,
		localserver.WithRedisNoPersistence(), localserver.WithRedisServerOnly())
	if err != nil {
		t.Fatalf("start redis-server (run the tests through `make test`, which installs it): %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
	})
	return s.URL()
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// ServerDir is a t.TempDir() that the postgres OS user can reach when the
// test runs as root (t.TempDir makes its directories 0700), for tests that
// start a private PostgreSQL cluster.
func ServerDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := localserver.OpenToServers(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}
