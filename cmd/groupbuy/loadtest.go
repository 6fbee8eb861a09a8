package main

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"groupbuy/internal/platform"
)

func runLoadtest(ctx context.Context, cfg platform.Config, log *slog.Logger, args []string, stdout, stderr io.Writer) error {
	return errors.New("loadtest: not built yet")
}
