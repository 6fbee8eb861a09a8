package peers

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"groupbuy/routing"
)

// The peers are other solvers run side by side with routing.Solve, each
// from its binary, on the same instance with one thread and the same
// wall-clock limit. Their input is converted here and their routes are
// read back for routing's checker: only the checker's cost counts.

// Peer is one external solver.
type Peer struct {
	Name string
	Bin  string
	// VRPLIB runs the peer on a benchmark instance and returns its routes
	// (node numbers, depot excluded); nil when the peer does not take the
	// instance's kind.
	VRPLIB func(ctx context.Context, p *Peer, in *routing.Instance, path, dir string, limit time.Duration) ([][]int, error)
	// City runs it on a domain problem; nil when it cannot.
	City func(ctx context.Context, p *Peer, prob *routing.Problem, dir string, limit time.Duration) ([]routing.Assignment, error)
}

// HGS is HGS-CVRP (github vidalt/HGS-CVRP), run on CVRP instances.
func HGS(bin string) *Peer {
	return &Peer{Name: "HGS-CVRP", Bin: bin, VRPLIB: func(ctx context.Context, p *Peer, in *routing.Instance, path, dir string, limit time.Duration) ([][]int, error) {
		if in.HasTimeWindows() {
			return nil, nil
		}
		file, sol := path, filepath.Join(dir, in.Name+".hgs.sol")
		// -t is the limit in seconds. The stock HGS-CVRP counts it in CPU
		// time, which on a loaded machine runs far past the wall-clock limit
		// the other solvers get; hgs-wall, HGS-CVRP built with its clock()
		// readings replaced by a steady clock (docs/routing-bench.md), counts
		// wall time, as the benchmark means.
		if err := p.exec(ctx, limit, file, sol, "-t", seconds(limit), "-seed", "1", "-log", "0"); err != nil {
			return nil, err
		}
		return readRoutes(sol)
	}}
}

// GenVRP is the EURO Meets NeurIPS 2022 HGS baseline, run on VRPTW instances.
func GenVRP(bin string) *Peer {
	return &Peer{Name: "HGS-VRPTW", Bin: bin, VRPLIB: func(ctx context.Context, p *Peer, in *routing.Instance, _, dir string, limit time.Duration) ([][]int, error) {
		if !in.HasTimeWindows() {
			return nil, nil
		}
		file, sol := filepath.Join(dir, in.Name+".txt"), filepath.Join(dir, in.Name+".genvrp.sol")
		text, err := SolomonText(in)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, text, 0o644); err != nil {
			return nil, err
		}
		// Its time limit is whole seconds.
		secs := strconv.Itoa(int(math.Ceil(limit.Seconds())))
		if err := p.exec(ctx, limit, file, sol, "-t", secs, "-seed", "1", "-useWallClockTime", "1", "-useDynamicParameters", "1"); err != nil {
			return nil, err
		}
		return readRoutes(sol)
	}}
}

// VROOM is VROOM, run on every set and on the city case.
func VROOM(bin string) *Peer {
	return &Peer{Name: "VROOM", Bin: bin,
		VRPLIB: func(ctx context.Context, p *Peer, in *routing.Instance, _, dir string, limit time.Duration) ([][]int, error) {
			out, err := p.runVROOM(ctx, VROOMInstance(in), filepath.Join(dir, in.Name), limit)
			if err != nil {
				return nil, err
			}
			var routes [][]int
			for _, r := range out.Routes {
				var rt []int
				for _, s := range r.Steps {
					if s.Type == "job" {
						rt = append(rt, int(s.ID))
					}
				}
				routes = append(routes, rt)
			}
			return routes, nil
		},
		City: func(ctx context.Context, p *Peer, prob *routing.Problem, dir string, limit time.Duration) ([]routing.Assignment, error) {
			in, types, err := VROOMProblem(ctx, prob)
			if err != nil {
				return nil, err
			}
			out, err := p.runVROOM(ctx, in, filepath.Join(dir, "citycase"), limit)
			if err != nil {
				return nil, err
			}
			var plan []routing.Assignment
			for _, r := range out.Routes {
				a := routing.Assignment{VehicleType: types[r.Vehicle]}
				for _, s := range r.Steps {
					if s.Type == "job" {
						a.Stops = append(a.Stops, int(s.ID)-1)
					}
				}
				plan = append(plan, a)
			}
			return plan, nil
		}}
}

// exec runs the Peer's binary with args, killing it well after limit:
// some peers overrun their limit in set-up.
func (p *Peer) exec(ctx context.Context, limit time.Duration, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 3*limit+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.Bin, args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 300 {
			tail = tail[len(tail)-300:]
		}
		return fmt.Errorf("%s: %w: %s", p.Name, err, strings.TrimSpace(tail))
	}
	return nil
}

func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) }

// SolomonText writes a VRPTW instance in the Solomon text layout the EURO
// Meets NeurIPS baseline reads: customer k on the k-th line after the
// depot, so its routes use the bench's numbering. It scales coordinates,
// windows and service by 10 itself and truncates distances (the DIMACS
// convention), so it needs integer data with the depot first.
func SolomonText(in *routing.Instance) ([]byte, error) {
	if in.Depot != 0 {
		return nil, fmt.Errorf("%s: the Solomon layout needs the depot first", in.Name)
	}
	vehicles := in.Vehicles
	if vehicles == 0 {
		vehicles = in.Dimension - 1
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s\n\nVEHICLE\nNUMBER     CAPACITY\n  %d         %d\n\nCUSTOMER\nCUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME\n\n",
		in.Name, vehicles, in.Capacity)
	for i := range in.Dimension {
		x, y := in.Coords[i][0], in.Coords[i][1]
		if x != math.Trunc(x) || y != math.Trunc(y) {
			return nil, fmt.Errorf("%s: node %d has fractional coordinates", in.Name, i+1)
		}
		fmt.Fprintf(&b, "%5d %10d %10d %10d %10d %10d %10d\n", i, int64(x), int64(y), in.Demand[i], in.Windows[i][0], in.Windows[i][1], in.Service[i])
	}
	return b.Bytes(), nil
}

// readRoutes reads the `Route #k: …` lines of a Peer's solution file,
// ignoring its stated cost and anything else.
func readRoutes(path string) ([][]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var routes [][]int
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		head, list, ok := strings.Cut(sc.Text(), ":")
		if !ok || !strings.HasPrefix(strings.TrimSpace(head), "Route") {
			continue
		}
		var rt []int
		for _, t := range strings.Fields(list) {
			v, err := strconv.Atoi(t)
			if err != nil {
				return nil, fmt.Errorf("%s: bad customer %q", path, t)
			}
			rt = append(rt, v)
		}
		routes = append(routes, rt)
	}
	return routes, sc.Err()
}

// VROOM's input and output (https://github.com/VROOM-Project/vroom/blob/master/docs/API.md).
type vroomInput struct {
	Vehicles []vroomVehicle                  `json:"vehicles"`
	Jobs     []vroomJob                      `json:"jobs"`
	Matrices map[string]map[string][][]int64 `json:"matrices"`
}

type vroomVehicle struct {
	ID         int64       `json:"id"`
	Start      int         `json:"start_index"`
	End        int         `json:"end_index"`
	Capacity   []int64     `json:"capacity"`
	TimeWindow []int64     `json:"time_window,omitempty"`
	Costs      *vroomCosts `json:"costs,omitempty"`
}

type vroomCosts struct {
	Fixed   int64 `json:"fixed"`
	PerHour int64 `json:"per_hour"`
	PerKm   int64 `json:"per_km"`
}

type vroomJob struct {
	ID          int64     `json:"id"`
	Location    int       `json:"location_index"`
	Delivery    []int64   `json:"delivery"`
	Service     int64     `json:"service,omitempty"`
	TimeWindows [][]int64 `json:"time_windows,omitempty"`
}

type vroomOutput struct {
	Code   int    `json:"code"`
	Error  string `json:"error"`
	Routes []struct {
		Vehicle int64 `json:"vehicle"`
		Steps   []struct {
			Type string `json:"type"`
			ID   int64  `json:"id"`
		} `json:"steps"`
	} `json:"routes"`
}

func (p *Peer) runVROOM(ctx context.Context, in *vroomInput, base string, limit time.Duration) (*vroomOutput, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(base+".vroom.json", b, 0o644); err != nil {
		return nil, err
	}
	if err := p.exec(ctx, limit, "-i", base+".vroom.json", "-o", base+".vroom.out.json", "-x", "5", "-t", "1", "-l", seconds(limit)); err != nil {
		return nil, err
	}
	b, err = os.ReadFile(base + ".vroom.out.json")
	if err != nil {
		return nil, err
	}
	var out vroomOutput
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("VROOM output: %w", err)
	}
	if out.Code != 0 {
		return nil, fmt.Errorf("VROOM: code %d: %s", out.Code, out.Error)
	}
	return &out, nil
}

// VROOMInstance gives VROOM a benchmark instance with its arcs in the
// instance's unit (tenths for VRPTW, which VROOM needs as integers) and as
// many vehicles as the instance allows, or HGS's bound when it sets none.
func VROOMInstance(in *routing.Instance) *vroomInput {
	scale := 1.0
	if in.HasTimeWindows() {
		scale = 10
	}
	n := in.Dimension
	mat := make([][]int64, n)
	for i := range n {
		mat[i] = make([]int64, n)
		for j := range n {
			mat[i][j] = int64(math.Round(in.Arc(i, j) * scale))
		}
	}
	vehicles := in.Vehicles
	if vehicles == 0 {
		var total int64
		for _, d := range in.Demand {
			total += d
		}
		vehicles = int(math.Ceil(1.3*float64(total)/float64(in.Capacity))) + 3
	}
	out := &vroomInput{Matrices: map[string]map[string][][]int64{"car": {"durations": mat}}}
	for k := range vehicles {
		v := vroomVehicle{ID: int64(k + 1), Start: in.Depot, End: in.Depot, Capacity: []int64{in.Capacity}}
		if in.HasTimeWindows() {
			v.TimeWindow = []int64{in.Windows[in.Depot][0] * 10, in.Windows[in.Depot][1] * 10}
		}
		out.Vehicles = append(out.Vehicles, v)
	}
	for i := range n {
		if i == in.Depot {
			continue
		}
		j := vroomJob{ID: int64(i), Location: i, Delivery: []int64{in.Demand[i]}}
		if in.HasTimeWindows() {
			j.Service = in.Service[i] * 10
			j.TimeWindows = [][]int64{{in.Windows[i][0] * 10, in.Windows[i][1] * 10}}
		}
		out.Jobs = append(out.Jobs, j)
	}
	return out
}

// vroomCostScale makes the domain's costs integers for VROOM without
// changing their ratios: fen per vehicle and per metre, times 100.
const vroomCostScale = 100

// VROOMProblem gives VROOM a domain problem: its matrix, every vehicle of
// every type with the type's fixed and per-kilometre cost, and each stop's
// demand, window and service. It returns the vehicle type of each VROOM
// vehicle id; job id k is stop k-1.
func VROOMProblem(ctx context.Context, p *routing.Problem) (*vroomInput, map[int64]int, error) {
	m, err := p.TravelMatrix(ctx)
	if err != nil {
		return nil, nil, err
	}
	n := m.N
	dur, dist := make([][]int64, n), make([][]int64, n)
	for i := range n {
		dur[i], dist[i] = make([]int64, n), make([]int64, n)
		for j := range n {
			dur[i][j], dist[i][j] = int64(math.Round(m.Duration[i*n+j])), int64(math.Round(m.Distance[i*n+j]))
		}
	}
	in := &vroomInput{Matrices: map[string]map[string][][]int64{"car": {"durations": dur, "distances": dist}}}
	types := map[int64]int{}
	for t, vt := range p.Vehicles {
		if vt.Count == 0 {
			return nil, nil, fmt.Errorf("vehicle type %s has no count: VROOM needs every vehicle", vt.Name)
		}
		start, end := int64(0), int64(math.MaxInt32)
		if !p.Depot.Window.IsZero() {
			start, end = p.Depot.Window.Start, p.Depot.Window.End
		}
		if !vt.Shift.IsZero() {
			start, end = max(start, vt.Shift.Start), min(end, vt.Shift.End)
		}
		perMetre := vt.DistanceCost
		if perMetre == 0 {
			perMetre = 1
		}
		for range vt.Count {
			id := int64(len(in.Vehicles) + 1)
			types[id] = t
			in.Vehicles = append(in.Vehicles, vroomVehicle{ID: id, Capacity: append([]int64(nil), vt.Capacity...), TimeWindow: []int64{start, end},
				Costs: &vroomCosts{Fixed: int64(math.Round(vt.FixedCost * vroomCostScale)), PerKm: int64(math.Round(perMetre * 1000 * vroomCostScale))}})
		}
	}
	for i, s := range p.Stops {
		j := vroomJob{ID: int64(i + 1), Location: i + 1, Delivery: append([]int64(nil), s.Demand...), Service: s.Service}
		if !s.Window.IsZero() {
			j.TimeWindows = [][]int64{{s.Window.Start, s.Window.End}}
		}
		in.Jobs = append(in.Jobs, j)
	}
	return in, types, nil
}
