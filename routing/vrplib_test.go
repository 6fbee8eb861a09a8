package routing

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// benchDir is shared/bench relative to this package.
const benchDir = "../../shared/bench"

func benchFiles(t testing.TB, set string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(benchDir, set, "*.vrp"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no benchmark instances in %s (err %v): shared/bench must sit next to the repo", filepath.Join(benchDir, set), err)
	}
	return files
}

func readInstance(t testing.TB, path string) *Instance {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	in, err := ReadVRPLIB(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return in
}

// TestReadBenchAndBKS parses every benchmark file and recomputes the cost of
// its best-known solution with the checker: this validates the cost
// conventions (rounding for CVRP, one-decimal truncation for VRPTW).
func TestReadBenchAndBKS(t *testing.T) {
	dimRe := regexp.MustCompile(`-n(\d+)-`)
	for _, set := range []string{"cvrp", "vrptw"} {
		files := benchFiles(t, set)
		want := map[string]int{"cvrp": 25, "vrptw": 56}[set]
		if len(files) != want {
			t.Errorf("%s: %d instances, want %d", set, len(files), want)
		}
		for _, path := range files {
			in := readInstance(t, path)
			name := strings.TrimSuffix(filepath.Base(path), ".vrp")
			wantDim := 101
			if m := dimRe.FindStringSubmatch(name); m != nil {
				wantDim, _ = strconv.Atoi(m[1])
			}
			if in.Dimension != wantDim || len(in.Coords) != wantDim {
				t.Errorf("%s: dimension %d, want %d", name, in.Dimension, wantDim)
			}
			if in.Name != name {
				t.Errorf("%s: NAME %q", name, in.Name)
			}
			if (set == "vrptw") != in.HasTimeWindows() {
				t.Errorf("%s: time windows %v", name, in.HasTimeWindows())
			}
			sf, err := os.Open(strings.TrimSuffix(path, ".vrp") + ".sol")
			if err != nil {
				t.Fatal(err)
			}
			routes, cost, err := ReadVRPLIBSolution(sf)
			sf.Close()
			if err != nil {
				t.Fatalf("%s.sol: %v", name, err)
			}
			chk := CheckVRPLIB(in, routes)
			if !chk.Feasible {
				t.Errorf("%s: BKS infeasible: %v", name, chk.Problems)
			}
			if math.Abs(chk.Cost-cost) > 0.051 {
				t.Errorf("%s: BKS recomputes to %v, file says %v", name, chk.Cost, cost)
			}
		}
	}
}

func TestReadVRPLIBErrors(t *testing.T) {
	good := "NAME : t\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 3\n3 4\nDEPOT_SECTION\n1\n-1\nEOF\n"
	if _, err := ReadVRPLIB(strings.NewReader(good)); err != nil {
		t.Fatalf("good file: %v", err)
	}
	cases := []struct {
		name, from, to, want string
	}{
		{"bad coordinate", "2 1 1\n", "2 1 x\n", "line 8"},
		{"node out of range", "3 2 2\n", "4 2 2\n", "line 9"},
		{"missing field", "2 3\n", "2\n", "line 12"},
		{"bad dimension", "DIMENSION : 3", "DIMENSION : three", "line 3"},
		{"negative demand", "3 4\n", "3 -4\n", "line 13"},
		{"bad capacity", "CAPACITY : 10", "CAPACITY : 0", "line 4"},
		{"unsupported weights", "EUC_2D", "GEO", "line 5"},
		{"duplicate node", "3 2 2\n", "2 2 2\n", "line 9"},
		{"missing node", "3 2 2\n", "", "node 3 has no coordinates"},
		{"data outside section", "NAME : t\n", "NAME : t\n1 2 3\n", "line 2"},
		{"unknown section", "DEPOT_SECTION", "EDGE_WEIGHT_SECTION", "line 14"},
		// Beyond ±1e9, distances would pass for the solver's "never".
		{"huge coordinate", "2 1 1\n", "2 1e15 1\n", "line 8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(good, c.from, c.to, 1)
			_, err := ReadVRPLIB(strings.NewReader(src))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

func TestWriteReadSolution(t *testing.T) {
	var b bytes.Buffer
	if err := WriteVRPLIBSolution(&b, [][]int{{1, 2}, {}, {3}}, "12.5"); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "Route #1: 1 2\nRoute #2: 3\nCost 12.5\n" {
		t.Fatalf("got %q", got)
	}
	routes, cost, err := ReadVRPLIBSolution(&b)
	if err != nil || cost != 12.5 || len(routes) != 2 || routes[1][0] != 3 {
		t.Fatalf("read back %v %v %v", routes, cost, err)
	}
}

// FuzzReadVRPLIB checks that the reader never panics and that what it
// accepts is consistent.
func FuzzReadVRPLIB(f *testing.F) {
	f.Add([]byte("NAME : t\nTYPE : CVRP\nDIMENSION : 3\nCAPACITY : 10\nNODE_COORD_SECTION\n1 0 0\n2 1 1\n3 2 2\nDEMAND_SECTION\n1 0\n2 3\n3 4\nDEPOT_SECTION\n1\n-1\nEOF\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ReadVRPLIB(bytes.NewReader(data))
		if err != nil {
			return
		}
		if in.Dimension < 2 || len(in.Coords) != in.Dimension || len(in.Demand) != in.Dimension {
			t.Fatalf("accepted inconsistent instance: dim %d", in.Dimension)
		}
		if in.Depot < 0 || in.Depot >= in.Dimension {
			t.Fatalf("depot %d", in.Depot)
		}
		p := in.Problem()
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted instance gives invalid problem: %v", err)
		}
	})
}
