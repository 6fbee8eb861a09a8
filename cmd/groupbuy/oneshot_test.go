package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

// TestMigrateAndTokenCommands: `groupbuy migrate` gives an empty database
// the schema (and running it again changes nothing); `groupbuy token` then
// stores one staff token and prints it; neither runs without DATABASE_URL.
func TestMigrateAndTokenCommands(t *testing.T) {
	ctx := context.Background()
	url := testenv.EmptyDatabase(t)
	groupbuy := func(env map[string]string, args ...string) (string, error) {
		var out, errOut bytes.Buffer
		err := run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String(), err
	}
	for _, args := range [][]string{{"migrate"}, {"token", "--name", "ops on call", "--role", "ops"}} {
		if _, err := groupbuy(nil, args...); err == nil || !strings.Contains(err.Error(), "DATABASE_URL is not set") {
			t.Errorf("%s without DATABASE_URL: %v", args[0], err)
		}
	}
	env := map[string]string{"DATABASE_URL": url}
	for range 2 {
		if _, err := groupbuy(env, "migrate"); err != nil {
			t.Fatalf("migrate: %v", err)
		}
	}
	token, err := groupbuy(env, "token", "--name", "ops on call", "--role", "ops")
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	db, err := pg.Open(ctx, url, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var tokens []struct {
		Role string `db:"role"`
		Name string `db:"name"`
	}
	if err := db.Select(&tokens, `SELECT role, name FROM api_tokens`); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "gb_") || len(tokens) != 1 || tokens[0].Role != "ops" || tokens[0].Name != "ops on call" {
		t.Errorf("token printed %q, stored %+v", token, tokens)
	}
	// What POST /ops/tokens refuses, the command refuses, storing nothing: a
	// negative --ttl made an admin token that never expires, and a name
	// of two words unquoted was cut to the first.
	for _, args := range [][]string{
		{"--name", "temp", "--ttl", "-24h"},
		{"--name", "temp", "--ttl", "100000h"},
		{"--role", "ops", "--name", "Jo", "Smith"},
		{"--role", "ops", "--name", "line one\nline two"},
		{"--role", "ops", "--name", strings.Repeat("x", 5000)},
		{"--role", "leader", "--name", "temp"},
	} {
		if _, err := groupbuy(env, append([]string{"token"}, args...)...); err == nil {
			t.Errorf("token %.60q issued", args)
		}
	}
	if n := len(tokens); db.Get(&n, `SELECT count(*) FROM api_tokens`) != nil || n != 1 {
		t.Errorf("%d tokens stored, want the first alone", n)
	}
}

// TestStartupErrorsDoNotPrintPasswords: a DATABASE_URL or REDIS_URL that
// does not parse (a generated password with an unencoded %, # or blank) is
// refused without the password, which main writes to the container's log.
func TestStartupErrorsDoNotPrintPasswords(t *testing.T) {
	const secret = "Sup3rS3cr"
	for _, c := range []struct{ cmd, name, url string }{
		{"migrate", "DATABASE_URL", "postgres://groupbuy:" + secret + "%ZZ@127.0.0.1:5432/groupbuy"},
		{"migrate", "DATABASE_URL", "postgres://groupbuy:" + secret + " x@127.0.0.1:5432/groupbuy"},
		{"migrate", "DATABASE_URL", "postgres://groupbuy:" + secret + "#x@127.0.0.1:5432/groupbuy"},
		{"serve", "REDIS_URL", "redis://:" + secret + "#x@127.0.0.1:6379/0"},
	} {
		env := map[string]string{"DATABASE_URL": testenv.NewDatabase(t), "REDIS_URL": testenv.Redis(t),
			"GROUPBUY_ADDR": "127.0.0.1:0", "GROUPBUY_LABEL_KEY": testLabelKey, c.name: c.url}
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{c.cmd}, func(k string) string { return env[k] }, &out, &errOut)
		if err == nil || strings.Contains(err.Error()+errOut.String()+out.String(), secret) {
			t.Errorf("%s with %s %s: %v", c.cmd, c.name, c.url, err)
		}
	}
}

// TestServeRefusesAPhotoDirItCannotWrite: a photo directory that cannot be
// made stops the API at start, naming the variable, instead of failing
// every claim with a photo later.
func TestServeRefusesAPhotoDirItCannotWrite(t *testing.T) {
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": testenv.NewDatabase(t), "REDIS_URL": testenv.Redis(t), "GROUPBUY_ADDR": "127.0.0.1:0",
		"GROUPBUY_LABEL_KEY": testLabelKey, "GROUPBUY_AFTERSALE_PHOTO_DIR": filepath.Join(file, "photos")}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "GROUPBUY_AFTERSALE_PHOTO_DIR") {
		t.Fatalf("serve with a photo directory under a file: %v", err)
	}
}
