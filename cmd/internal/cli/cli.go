// Package cli is what the commands groupbuy and groupbuy-lab share around
// their subcommands: the main function, the command word, flag sets and
// settings read from the environment.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// ErrUsage is returned when the command line is wrong and the usage was
// printed: main then exits 1 without another message.
var ErrUsage = errors.New("usage")

// Run is a whole program, called with its arguments (without the program
// name), its environment and its output; tests call it as Main does.
type Run func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// Main runs run with the process's arguments and environment until SIGINT
// or SIGTERM cancels its context, and exits 1 if it fails, naming the
// program in the message unless the error is ErrUsage.
func Main(program string, run Run) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, ErrUsage) {
			fmt.Fprintln(os.Stderr, program+":", err)
		}
		os.Exit(1)
	}
}

// Command splits args into the command word and its arguments. Without a
// word it prints usage to stderr and returns ErrUsage; for help it prints
// usage to stdout and returns the empty word and no error, so the program
// stops.
func Command(args []string, usage string, stdout, stderr io.Writer) (cmd string, rest []string, err error) {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return "", nil, ErrUsage
	}
	switch args[0] {
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return "", nil, nil
	}
	return args[0], args[1:], nil
}

// Unknown says that program has no command cmd, with the usage, and returns
// ErrUsage.
func Unknown(program, cmd, usage string, stderr io.Writer) error {
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n%s", program, cmd, usage)
	return ErrUsage
}

// NewFlagSet returns the flag set of a subcommand: a bad flag is reported on
// stderr and returned, never an exit.
func NewFlagSet(cmd string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses a subcommand's flags; the flag set has already printed what
// was wrong (or the help that was asked for), so a failure is ErrUsage.
func Parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return ErrUsage
	}
	return nil
}

// Env reads settings from the environment in order: each method sets its
// setting when the variable is set and valid, and the first variable that
// is not valid stops the reading and is Err.
type Env struct {
	getenv func(string) string
	err    error
}

// NewEnv reads the environment through getenv.
func NewEnv(getenv func(string) string) *Env { return &Env{getenv: getenv} }

// Err names the first variable that was set but not valid, or is nil.
func (e *Env) Err() error { return e.err }

// Parse calls parse with the value of the variable name when it is set; an
// error of parse becomes Err, prefixed with the name.
func (e *Env) Parse(name string, parse func(v string) error) {
	if e.err != nil {
		return
	}
	if v := e.getenv(name); v != "" {
		if err := parse(v); err != nil {
			e.err = fmt.Errorf("%s: %w", name, err)
		}
	}
}

// Int sets *into from the variable name: a whole number from min to max.
// want says what is wanted in the error ("" : "min to max").
func (e *Env) Int(name string, into *int, min, max int, want string) {
	if want == "" {
		want = fmt.Sprintf("%d to %d", min, max)
	}
	e.Parse(name, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < min || n > max {
			return fmt.Errorf("want %s, got %q", want, v)
		}
		*into = n
		return nil
	})
}

// Duration sets *into from the variable name: a duration such as 5s, from
// min to max; want says what is wanted in the error.
func (e *Env) Duration(name string, into *time.Duration, min, max time.Duration, want string) {
	e.Parse(name, func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < min || d > max {
			return fmt.Errorf("want %s, got %q", want, v)
		}
		*into = d
		return nil
	})
}
