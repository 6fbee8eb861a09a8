package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestEnvReadsInOrderAndStopsAtTheFirstBadValue(t *testing.T) {
	env := map[string]string{"A": "7", "B": "x", "C": "3", "D": "90s"}
	e := NewEnv(func(k string) string { return env[k] })
	a, b, c, unset := 1, 2, 3, 4
	var d time.Duration
	e.Int("A", &a, 1, 10, "")
	e.Int("UNSET", &unset, 1, 10, "")
	e.Duration("D", &d, time.Second, time.Hour, "a duration")
	e.Int("B", &b, 1, 10, "a small number")
	e.Int("C", &c, 1, 10, "")
	if a != 7 || d != 90*time.Second || unset != 4 {
		t.Errorf("a = %d, d = %v, unset = %d: want 7, 1m30s, 4", a, d, unset)
	}
	if b != 2 || c != 3 {
		t.Errorf("after the bad B: b = %d, c = %d, want both untouched", b, c)
	}
	if err := e.Err(); err == nil || err.Error() != `B: want a small number, got "x"` {
		t.Errorf("Err = %v", err)
	}
}

func TestEnvRefusesValuesOutOfRange(t *testing.T) {
	for _, tc := range []struct{ v, want string }{
		{"0", `N: want 1 to 64, got "0"`},
		{"65", `N: want 1 to 64, got "65"`},
		{"1.5", `N: want 1 to 64, got "1.5"`},
	} {
		n := 2
		e := NewEnv(func(string) string { return tc.v })
		e.Int("N", &n, 1, 64, "")
		if err := e.Err(); err == nil || err.Error() != tc.want || n != 2 {
			t.Errorf("%q: n = %d, err = %v, want %s", tc.v, n, err, tc.want)
		}
	}
	d := time.Minute
	e := NewEnv(func(string) string { return "2h" })
	e.Duration("D", &d, time.Second, time.Hour, "a duration between 1s and 1h")
	if err := e.Err(); err == nil || err.Error() != `D: want a duration between 1s and 1h, got "2h"` || d != time.Minute {
		t.Errorf("d = %v, err = %v", d, err)
	}
	e = NewEnv(func(string) string { return "soon" })
	e.Parse("P", func(string) error { return errors.New("not a time") })
	if err := e.Err(); err == nil || err.Error() != "P: not a time" {
		t.Errorf("Parse: %v", err)
	}
}

func TestCommand(t *testing.T) {
	const usage = "usage: x <command>\n"
	var out, errOut bytes.Buffer
	if cmd, _, err := Command(nil, usage, &out, &errOut); cmd != "" || !errors.Is(err, ErrUsage) || errOut.String() != usage {
		t.Errorf("no args: %q %v, stderr %q", cmd, err, errOut.String())
	}
	if cmd, _, err := Command([]string{"--help"}, usage, &out, &errOut); cmd != "" || err != nil || out.String() != usage {
		t.Errorf("help: %q %v, stdout %q", cmd, err, out.String())
	}
	cmd, rest, err := Command([]string{"serve", "--addr", ":1"}, usage, &out, &errOut)
	if cmd != "serve" || strings.Join(rest, " ") != "--addr :1" || err != nil {
		t.Errorf("serve: %q %q %v", cmd, rest, err)
	}
	errOut.Reset()
	if err := Unknown("x", "nope", usage, &errOut); !errors.Is(err, ErrUsage) || !strings.HasPrefix(errOut.String(), `x: unknown command "nope"`) {
		t.Errorf("unknown: %v %q", err, errOut.String())
	}
	fs := NewFlagSet("serve", &errOut)
	fs.String("addr", "", "")
	if err := Parse(fs, []string{"--port", "1"}); !errors.Is(err, ErrUsage) || !strings.Contains(errOut.String(), "port") {
		t.Errorf("bad flag: %v %q", err, errOut.String())
	}
}
