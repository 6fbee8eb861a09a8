package pg_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestAfterCommit: hooks run after InTx commits, never after a rollback,
// and only once when InTx retries.
func TestAfterCommit(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	ran := 0
	if err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		pg.AfterCommit(tx, func() { ran++ })
		if ran != 0 {
			t.Error("hook ran before the commit")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		pg.AfterCommit(tx, func() { ran += 10 })
		return boom
	}); !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if ran != 1 {
		t.Fatalf("hooks ran %d, want 1 (the committed one)", ran)
	}
}
