package migrations_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pressly/goose/v3"

	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/migrations"
)

// TestADatabaseOfTheFirstReleasesMigratesToTheEnd: 00061 and 00086 were
// edited after they were first released, and goose never applies a version
// twice. A database migrated by 00061 as first released stopped at 00086
// (its guard raised: no process could start); one migrated by 00086 as first
// released had no advisory_key, and every delivery receipt failed. Both now
// migrate to the end with supply_receive, its lock and its key as they are.
func TestADatabaseOfTheFirstReleasesMigratesToTheEnd(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		file    string
		version int64
	}{{"00061_receive_scan.sql", 61}, {"00086_stock_lock.sql", 86}} {
		db, err := pg.Open(ctx, testenv.EmptyDatabase(t), 2)
		if err != nil {
			t.Fatal(err)
		}
		// The text as first released, kept under a name no migration
		// glob takes.
		first, err := os.ReadFile("testdata/" + strings.TrimSuffix(c.file, ".sql") + ".first")
		if err != nil {
			t.Fatal(err)
		}
		earlier := fstest.MapFS{}
		for n, b := range migrationFiles(t) {
			earlier[n] = &fstest.MapFile{Data: b}
		}
		earlier[c.file] = &fstest.MapFile{Data: first}
		provider, err := goose.NewProvider(goose.DialectPostgres, db.DB, earlier)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := provider.UpTo(ctx, c.version); err != nil {
			t.Fatal(err)
		}
		if err := migrations.Up(ctx, db); err != nil {
			t.Fatalf("%s as first released, then migrate: %v", c.file, err)
		}
		var def string
		if err := db.Get(&def, `SELECT pg_get_functiondef('supply_receive(text, bigint, bigint, bigint, bigint, text, text, date, text, timestamptz, bigint, bigint)'::regprocedure)`); err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"beyond_stock", "'returned'", "not_in_lot", "'expired'", "stock_lock(po.warehouse_id)"} {
			if !strings.Contains(def, want) {
				t.Errorf("%s as first released: supply_receive after migrate has no %s", c.file, want)
			}
		}
		var key int
		if err := db.Get(&key, `SELECT advisory_key(2147483649)`); err != nil || key != 1 {
			t.Errorf("%s as first released: advisory_key %d %v", c.file, key, err)
		}
		db.Close()
	}
}

// TestPartitionMigrationDownRestoresEveryKey: undoing 00060 put back the
// keys into order_lines of line cuts, refunds and commission, but not the
// after-sales claims'.
func TestPartitionMigrationDownRestoresEveryKey(t *testing.T) {
	ctx := context.Background()
	db, err := pg.Open(ctx, testenv.EmptyDatabase(t), 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	provider, err := goose.NewProvider(goose.DialectPostgres, db.DB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	keys := func() string {
		var k []string
		if err := db.Select(&k, `SELECT conrelid::regclass::text FROM pg_constraint
			WHERE contype = 'f' AND confrelid = 'order_lines'::regclass ORDER BY 1`); err != nil {
			t.Fatal(err)
		}
		return strings.Join(k, ",")
	}
	if _, err := provider.UpTo(ctx, 59); err != nil {
		t.Fatal(err)
	}
	up := keys()
	if _, err := provider.UpTo(ctx, 60); err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, 59); err != nil {
		t.Fatal(err)
	}
	if down := keys(); down != up {
		t.Fatalf("keys into order_lines at 59: %s going up, %s after 00060's down", up, down)
	}
}

// TestReleasedMigrationsStayAsReleased: goose applies a version once, so a
// migration edited after its release never reaches the databases that
// applied it (00061 and 00086 were, and blocked or broke upgrades). Every
// migration's hash is recorded in testdata/released.sha256; a change to one
// must be a new migration. Only what cannot change a database that applied
// it may change in place (a Down, a guard that no longer raises), with its
// hash here.
func TestReleasedMigrationsStayAsReleased(t *testing.T) {
	b, err := os.ReadFile("testdata/released.sha256")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		sum, name, _ := strings.Cut(l, "  ")
		recorded[name] = sum
	}
	for n, data := range migrationFiles(t) {
		sum := sha256.Sum256(data)
		switch got, ok := recorded[n]; {
		case !ok:
			t.Errorf("%s is not in testdata/released.sha256: add its line (sha256sum)", n)
		case got != hex.EncodeToString(sum[:]):
			t.Errorf("%s changed since it was released: write a new migration instead", n)
		}
	}
}

// migrationFiles are the migrations as embedded, by file name.
func migrationFiles(t *testing.T) map[string][]byte {
	t.Helper()
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(names))
	for _, n := range names {
		if out[n], err = fs.ReadFile(migrations.FS, n); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
