package main

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDomainPackagesLinkNoPlumbingOfTheirOwn: the domain packages
// (fulfillment/..., pickup/...) link no test or dev servers (miniredis, the
// local server launcher), no migration tool (goose) and no Prometheus:
// those belong to cmd, which wires them in. And the dependency rules hold:
// routing imports only the standard library, pickup never fulfillment.
func TestDomainPackagesLinkNoPlumbingOfTheirOwn(t *testing.T) {
	deps := goList(t, "-deps", "./fulfillment/...", "./pickup/...")
	for _, dep := range deps {
		for _, banned := range []string{"github.com/alicebob/miniredis", "github.com/pressly/goose", "github.com/prometheus/",
			"groupbuy/internal/localserver", "groupbuy/internal/testenv", "groupbuy/migrations"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("the domain packages link %s", dep)
			}
		}
	}
	for _, dep := range goList(t, "-deps", "./routing/...") {
		if strings.Contains(strings.SplitN(dep, "/", 2)[0], ".") || strings.HasPrefix(dep, "groupbuy/") && !strings.HasPrefix(dep, "groupbuy/routing") {
			t.Errorf("routing imports %s, not the standard library", dep)
		}
	}
	for _, dep := range goList(t, "-deps", "./pickup/...") {
		if strings.HasPrefix(dep, "groupbuy/fulfillment") {
			t.Errorf("pickup imports %s", dep)
		}
	}
}

// goList runs go list in the module's root and returns its lines.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Fields(string(out))
}
