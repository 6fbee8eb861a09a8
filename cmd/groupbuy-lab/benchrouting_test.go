package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"groupbuy/cmd/internal/peers"
	"groupbuy/routing"
)

// bench-routing without peers still solves, checks and reports.
func TestBenchRoutingReport(t *testing.T) {
	var out, errOut bytes.Buffer
	args := []string{"bench-routing", "--set", "vrptw,citycase", "--only", "C101", "--time-limit-vrptw", "1s",
		"--city-budgets", "1s", "--dir", "../../routing/testdata/bench", "--out", "-"}
	if err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	for _, want := range []string{"| C101 | 100 | 827.3 |", "routing: **mean gap", "1/1 feasible", "## City case", "| 1s |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, out.String())
		}
	}
}

// The peers read the instances as routing reads them.
func TestPeerInputs(t *testing.T) {
	f, err := os.Open(filepath.Join("../../routing/testdata/bench", "vrptw", "C101.vrp"))
	if err != nil {
		t.Fatal(err)
	}
	in, err := routing.ReadVRPLIB(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	text, err := peers.SolomonText(in)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(text), "\n")
	if lines[4] != "  25         200" || strings.Fields(lines[9])[0] != "0" || len(strings.Fields(lines[10])) != 7 || strings.Fields(lines[10])[3] != "10" {
		t.Fatalf("Solomon layout:\n%s", strings.Join(lines[:12], "\n"))
	}
	vi := peers.VROOMInstance(in)
	if len(vi.Jobs) != 100 || len(vi.Vehicles) != 25 || vi.Jobs[0].Service != 900 || vi.Matrices["car"]["durations"][0][1] != int64(in.Arc(0, 1)*10+0.5) {
		t.Fatalf("VROOM input: %d jobs, %d vehicles, service %d", len(vi.Jobs), len(vi.Vehicles), vi.Jobs[0].Service)
	}
	p := routing.GenerateCity(routing.CityCase{Stops: 50, Seed: 1})
	vp, types, err := peers.VROOMProblem(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(vp.Vehicles[0])
	if len(vp.Vehicles) != 65 || types[46] != 1 || !strings.Contains(string(b), `"costs":{"fixed":12000,"per_hour":0,"per_km":150}`) || len(vp.Jobs) != 50 || vp.Jobs[0].ID != 1 {
		t.Fatalf("VROOM city input: %d vehicles, first %s, %d jobs", len(vp.Vehicles), b, len(vp.Jobs))
	}
}
