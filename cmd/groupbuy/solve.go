package main

import (
	"context"
	"errors"
	"io"
)

// runSolve is replaced by the routing work; see issue 3.
func runSolve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("solve: not built yet")
}
