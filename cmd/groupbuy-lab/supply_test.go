package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"groupbuy/internal/testenv"
)

// TestBenchWaveBuysAndReceives: bench-wave's night runs from cutoff to
// ready through the purchase stage and the simulated dock, with no receipt
// typed by hand: purchase orders to the suppliers, scans with a few lines
// short and units rejected, then the stages after.
func TestBenchWaveBuysAndReceives(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testenv.AdminURL(), "REDIS_URL": testenv.Redis(t)}
	var out, errOut bytes.Buffer
	args := []string{"bench-wave", "--points", "60", "--skus", "40", "--lines", "4000", "--suppliers", "6", "--route-budget", "2s", "--trucks", "12",
		"--short-pct", "20", "--reject-pct", "2"}
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("bench-wave: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	m := regexp.MustCompile(`dock: (\d+) purchase orders, (\d+) scans \((\d+) units rejected\)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no dock in the night:\n%s", out.String())
	}
	orders, _ := strconv.Atoi(m[1])
	scans, _ := strconv.Atoi(m[2])
	rejected, _ := strconv.Atoi(m[3])
	if orders != 6 || scans < 30 || rejected == 0 {
		t.Fatalf("dock: %d orders, %d scans, %d rejected\n%s", orders, scans, rejected, out.String())
	}
	for _, want := range []string{"stage purchase", "stage ready", "6 suppliers, terms for 40 SKUs"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the output lacks %q:\n%s", want, out.String())
		}
	}
	// Short lines and rejects leave units to cut: allocation refunds some.
	if regexp.MustCompile(`refunds: 0 lines`).MatchString(out.String()) {
		t.Errorf("nothing was cut though the dock came short:\n%s", out.String())
	}
}
