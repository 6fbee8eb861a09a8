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

// TestText: what a text column takes: valid UTF-8, no NUL, cut between
// characters.
func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"服务不可用":            "服务不",
		"ok":               "ok",
		"a\x00b":           "ab",
		"\xe5\x8f":         "\uFFFD",
		"12345678\xe6\x9c": "12345678",
	} {
		if got := pg.Text(in, 9); got != want {
			t.Errorf("Text(%q, 9) = %q, want %q", in, got, want)
		}
	}
}
