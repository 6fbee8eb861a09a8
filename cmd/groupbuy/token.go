package main

import (
	"context"
	"fmt"
	"io"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/config"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
)

// runToken issues a staff token from the command line: the way to get the
// first admin token on a new installation.
func runToken(ctx context.Context, cfg config.Config, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("token", stderr)
	role := fs.String("role", "admin", "warehouse, ops or admin")
	name := fs.String("name", "", "who the token is for")
	ttl := fs.Duration("ttl", 0, "expiry, up to 8784h (0: none)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	spec := auth.TokenSpec{Role: auth.Role(*role), Name: *name, TTL: *ttl}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("token: unexpected argument %q (a name of several words goes in quotes)", fs.Arg(0))
	}
	if err := checkStaffToken(spec); err != nil {
		fs.Usage()
		return fmt.Errorf("token: %w", err)
	}
	db, err := migratedDB(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	token, _, err := auth.IssueToken(ctx, db, clock.System{}.Now(), spec)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, token)
	return nil
}
