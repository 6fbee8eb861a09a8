package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestDomainPackagesLinkNoPlumbingOfTheirOwn: the domain packages
// (fulfillment/..., pickup/...) link no test or dev servers (miniredis, the
// local server launcher), no migration tool (goose) and no Prometheus:
// those belong to cmd, which wires them in. The test fixtures (packages
// named …test: fulfillmenttest, supply/supplytest, lastmile/lastmiletest)
// are not domain packages: they open test databases and servers. And the dependency rules hold: routing imports only the
// standard library, pickup never fulfillment, and package pickup never its
// notice outbox (pickup/notice sits above the network it sends notices for).
func TestDomainPackagesLinkNoPlumbingOfTheirOwn(t *testing.T) {
	t.Parallel()
	var domain []string
	for _, p := range goList(t, "./fulfillment/...", "./pickup/...") {
		if !strings.HasSuffix(p, "test") {
			domain = append(domain, p)
		}
	}
	for _, dep := range goList(t, append([]string{"-deps"}, domain...)...) {
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
	for _, dep := range goList(t, "-deps", "./pickup") {
		if dep == "groupbuy/pickup/notice" {
			t.Errorf("package pickup imports %s", dep)
		}
	}
}

// layer is a fulfillment package and the fulfillment packages it may import.
type layer struct {
	pkg     string
	imports []string
}

// fulfillmentLayers are the other fulfillment packages each subpackage may
// import; every one may also import the root package (the shared
// vocabulary), pickup, routing and internal/... . The list's order is an
// order without cycles: a package imports only packages above it. The night
// imports the last mile to make the deliveries of its ready stage, so the
// last mile never imports the night.
var fulfillmentLayers = []layer{
	{"retention", nil},
	{"printout/qrcode", nil},
	{"printout", []string{"printout/qrcode"}},
	{"refund", nil},
	{"wave", []string{"refund"}},
	{"catalog", []string{"retention", "wave"}}, // a sale far ahead brings its night's partitions
	{"stock", []string{"catalog", "wave"}},
	{"intake", []string{"catalog", "wave"}},
	{"routeplan", []string{"wave"}},
	{"supply", []string{"catalog", "printout", "stock", "wave"}},
	{"supplieraccount", []string{"catalog", "printout", "stock", "supply", "wave"}},
	{"commission", []string{"refund"}},
	{"lastmile", []string{"commission", "refund", "routeplan", "wave"}},
	{"lastmile/lastmiletest", []string{"lastmile"}},
	{"aftersale", []string{"commission", "refund"}},
	{"daysummary", []string{"lastmile", "routeplan", "wave"}},
	{"night", []string{"catalog", "intake", "lastmile", "printout", "refund", "routeplan", "stock", "supply", "wave"}},
	{"fulfillmenttest", nil},
	{"supply/supplytest", []string{"fulfillmenttest", "stock", "supply", "wave"}},
}

// TestFulfillmentLayers holds each fulfillment package to its entry: the
// root imports none of its subpackages, and a subpackage imports only the
// packages its entry names, all of them above it in the list.
func TestFulfillmentLayers(t *testing.T) {
	t.Parallel()
	const root = "groupbuy/fulfillment"
	index := func(pkg string) int {
		return slices.IndexFunc(fulfillmentLayers, func(l layer) bool { return l.pkg == pkg })
	}
	seen := map[string]bool{}
	for _, line := range goListLines(t, "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./fulfillment/...") {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(strings.TrimPrefix(fields[0], root), "/")
		seen[pkg] = true
		i := index(pkg)
		if pkg != "" && i < 0 {
			t.Errorf("fulfillment/%s is not in fulfillmentLayers: give it its place and what it may import", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			sub, ok := strings.CutPrefix(imp, root+"/")
			switch {
			case !ok:
			case pkg == "":
				t.Errorf("the root package fulfillment imports its subpackage %s", sub)
			case !slices.Contains(fulfillmentLayers[i].imports, sub):
				t.Errorf("fulfillment/%s imports fulfillment/%s, which its entry does not allow", pkg, sub)
			}
		}
	}
	for i, l := range fulfillmentLayers {
		if !seen[l.pkg] {
			t.Errorf("fulfillmentLayers names %s, which does not exist", l.pkg)
		}
		for _, imp := range l.imports {
			if j := index(imp); j < 0 || j >= i {
				t.Errorf("%s may import %s, which is not above it in the list", l.pkg, imp)
			}
		}
	}
	for _, dep := range goList(t, "-deps", "./fulfillment/lastmile") {
		if dep == root+"/night" {
			t.Error("lastmile imports night")
		}
	}
}

// goList runs go list in the module's root and returns its words.
func goList(t *testing.T, args ...string) []string {
	t.Helper()
	return strings.Fields(strings.Join(goListLines(t, args...), "\n"))
}

// goListLines runs go list in the module's root and returns its lines.
func goListLines(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}
