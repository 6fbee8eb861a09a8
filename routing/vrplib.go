package routing

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxVRPLIBDimension bounds DIMENSION so a corrupt file cannot make the
// reader allocate without limit.
const maxVRPLIBDimension = 100000

// Instance is a CVRP or VRPTW instance in VRPLIB format, as in CVRPLIB and
// the Solomon set. Nodes are numbered from 0 here (file id minus one).
type Instance struct {
	Name      string
	Type      string
	Dimension int   // number of nodes, depot included
	Capacity  int64 // per vehicle
	Vehicles  int   // 0 = unlimited
	Coords    [][2]float64
	Demand    []int64
	Windows   [][2]int64 // nil without TIME_WINDOW_SECTION
	Service   []int64    // per node; from SERVICE_TIME or its section
	Depot     int
}

// HasTimeWindows reports whether the instance is a VRPTW, which decides the
// cost convention: Euclidean truncated to one decimal (DIMACS) instead of
// rounded to the nearest integer (CVRPLIB).
func (in *Instance) HasTimeWindows() bool { return in.Windows != nil }

// ReadVRPLIB parses a VRPLIB file. Errors name the offending line.
func ReadVRPLIB(r io.Reader) (*Instance, error) {
	in := &Instance{Depot: -1}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	lineNo := 0
	section := ""
	var seenCoord, seenDemand, seenTW, seenSvc []bool
	headerService := int64(0)
	hasHeaderService := false
	errf := func(format string, a ...any) error {
		return fmt.Errorf("vrplib: line %d: %s", lineNo, fmt.Sprintf(format, a...))
	}
	alloc := func() error {
		if in.Dimension <= 0 {
			return errf("section before a positive DIMENSION")
		}
		if in.Coords == nil {
			n := in.Dimension
			in.Coords = make([][2]float64, n)
			in.Demand = make([]int64, n)
			in.Service = make([]int64, n)
			seenCoord, seenDemand, seenTW, seenSvc = make([]bool, n), make([]bool, n), make([]bool, n), make([]bool, n)
		}
		return nil
	}
	nodeID := func(tok string) (int, error) {
		id, err := strconv.Atoi(tok)
		if err != nil {
			return 0, errf("bad node id %q", tok)
		}
		if id < 1 || id > in.Dimension {
			return 0, errf("node id %d outside 1..%d", id, in.Dimension)
		}
		return id - 1, nil
	}
	const maxCoord = 1e9
	num := func(tok string) (float64, error) {
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, errf("bad number %q", tok)
		}
		return v, nil
	}
	integer := func(tok string) (int64, error) {
		v, err := num(tok)
		if err != nil {
			return 0, err
		}
		if v != math.Trunc(v) || math.Abs(v) > 1e15 {
			return 0, errf("%q is not an integer", tok)
		}
		return int64(v), nil
	}
	sawEOF := false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		first := f[0]
		isKeyword := first[0] >= 'A' && first[0] <= 'Z'
		if isKeyword {
			section = ""
			key, val, hasColon := strings.Cut(line, ":")
			key = strings.TrimSpace(key)
			val = strings.Trim(strings.TrimSpace(val), "\"")
			val = strings.TrimSpace(val)
			if !hasColon {
				key = first
			}
			switch key {
			case "EOF":
				sawEOF = true
			case "NAME":
				in.Name = val
			case "TYPE":
				in.Type = val
			case "COMMENT":
			case "DIMENSION":
				if in.Dimension != 0 {
					return nil, errf("DIMENSION given twice")
				}
				d, err := strconv.Atoi(val)
				if err != nil || d < 2 || d > maxVRPLIBDimension {
					return nil, errf("DIMENSION %q must be an integer in 2..%d", val, maxVRPLIBDimension)
				}
				in.Dimension = d
			case "CAPACITY":
				c, err := strconv.ParseInt(val, 10, 64)
				if err != nil || c <= 0 {
					return nil, errf("CAPACITY %q must be a positive integer", val)
				}
				in.Capacity = c
			case "VEHICLES":
				v, err := strconv.Atoi(val)
				if err != nil || v <= 0 || v > maxVRPLIBDimension {
					return nil, errf("VEHICLES %q must be a positive integer", val)
				}
				in.Vehicles = v
			case "SERVICE_TIME":
				v, err := integer(val)
				if err != nil || v < 0 {
					return nil, errf("SERVICE_TIME %q must be a non-negative integer", val)
				}
				headerService, hasHeaderService = v, true
			case "EDGE_WEIGHT_TYPE":
				if val != "EUC_2D" {
					return nil, errf("EDGE_WEIGHT_TYPE %q unsupported (only EUC_2D)", val)
				}
			case "NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION", "SERVICE_TIME_SECTION", "DEPOT_SECTION":
				if err := alloc(); err != nil {
					return nil, err
				}
				section = key
				if key == "TIME_WINDOW_SECTION" && in.Windows == nil {
					in.Windows = make([][2]int64, in.Dimension)
				}
			default:
				if strings.HasSuffix(key, "_SECTION") {
					return nil, errf("unsupported section %s", key)
				}
				if !hasColon {
					return nil, errf("unexpected %q", first)
				}
				// Other headers (EDGE_WEIGHT_FORMAT, ...) do not matter here.
			}
			if sawEOF {
				break
			}
			continue
		}
		switch section {
		case "NODE_COORD_SECTION":
			if len(f) != 3 {
				return nil, errf("want \"id x y\", got %d fields", len(f))
			}
			id, err := nodeID(f[0])
			if err != nil {
				return nil, err
			}
			if seenCoord[id] {
				return nil, errf("node %d listed twice", id+1)
			}
			x, err := num(f[1])
			if err != nil {
				return nil, err
			}
			y, err := num(f[2])
			if err != nil {
				return nil, err
			}
			// Beyond this, distances pass for the solver's "never" (bigTime).
			if math.Abs(x) > maxCoord || math.Abs(y) > maxCoord {
				return nil, errf("node %d: coordinates beyond ±%g", id+1, float64(maxCoord))
			}
			in.Coords[id], seenCoord[id] = [2]float64{x, y}, true
		case "DEMAND_SECTION":
			if len(f) != 2 {
				return nil, errf("want \"id demand\", got %d fields", len(f))
			}
			id, err := nodeID(f[0])
			if err != nil {
				return nil, err
			}
			if seenDemand[id] {
				return nil, errf("node %d listed twice", id+1)
			}
			d, err := integer(f[1])
			if err != nil {
				return nil, err
			}
			if d < 0 {
				return nil, errf("negative demand")
			}
			in.Demand[id], seenDemand[id] = d, true
		case "TIME_WINDOW_SECTION":
			if len(f) != 3 {
				return nil, errf("want \"id earliest latest\", got %d fields", len(f))
			}
			id, err := nodeID(f[0])
			if err != nil {
				return nil, err
			}
			if seenTW[id] {
				return nil, errf("node %d listed twice", id+1)
			}
			e, err := integer(f[1])
			if err != nil {
				return nil, err
			}
			l, err := integer(f[2])
			if err != nil {
				return nil, err
			}
			if e > l || e < 0 {
				return nil, errf("time window [%d, %d] is empty or negative", e, l)
			}
			in.Windows[id], seenTW[id] = [2]int64{e, l}, true
		case "SERVICE_TIME_SECTION":
			if len(f) != 2 {
				return nil, errf("want \"id service\", got %d fields", len(f))
			}
			id, err := nodeID(f[0])
			if err != nil {
				return nil, err
			}
			s, err := integer(f[1])
			if err != nil {
				return nil, err
			}
			if s < 0 {
				return nil, errf("negative service time")
			}
			in.Service[id], seenSvc[id] = s, true
		case "DEPOT_SECTION":
			if len(f) != 1 {
				return nil, errf("want one depot id per line")
			}
			if f[0] == "-1" {
				section = ""
				continue
			}
			id, err := nodeID(f[0])
			if err != nil {
				return nil, err
			}
			if in.Depot >= 0 {
				return nil, errf("only one depot is supported")
			}
			in.Depot = id
		default:
			return nil, errf("data outside a section: %q", first)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vrplib: line %d: %w", lineNo+1, err)
	}
	errEnd := func(msg string, a ...any) error {
		return fmt.Errorf("vrplib: at end (line %d): %s", lineNo, fmt.Sprintf(msg, a...))
	}
	if in.Dimension == 0 {
		return nil, errEnd("no DIMENSION")
	}
	if in.Capacity == 0 {
		return nil, errEnd("no CAPACITY")
	}
	if in.Coords == nil {
		return nil, errEnd("no NODE_COORD_SECTION")
	}
	for i := range in.Dimension {
		if !seenCoord[i] {
			return nil, errEnd("node %d has no coordinates", i+1)
		}
		if !seenDemand[i] {
			return nil, errEnd("node %d has no demand", i+1)
		}
		if in.Windows != nil && !seenTW[i] {
			return nil, errEnd("node %d has no time window", i+1)
		}
		if hasHeaderService && !seenSvc[i] {
			in.Service[i] = headerService
		}
	}
	if in.Depot < 0 {
		in.Depot = 0
	}
	// The depot neither demands nor takes service.
	in.Demand[in.Depot], in.Service[in.Depot] = 0, 0
	return in, nil
}

// Arc returns the cost (and travel time) of arc i->j under the instance's
// convention: CVRPLIB rounds the Euclidean distance to the nearest integer,
// DIMACS/Solomon truncates it to one decimal.
func (in *Instance) Arc(i, j int) float64 {
	dx := in.Coords[i][0] - in.Coords[j][0]
	dy := in.Coords[i][1] - in.Coords[j][1]
	d := math.Sqrt(dx*dx + dy*dy)
	if in.HasTimeWindows() {
		return math.Floor(d*10) / 10
	}
	return math.Round(d)
}

// Problem converts the instance: stop k is node k of the file other than
// the depot, with ID the solution number (node id minus one).
func (in *Instance) Problem() *Problem {
	p := &Problem{
		Vehicles: []VehicleType{{Name: "vehicle", Count: in.Vehicles, Capacity: Load{in.Capacity}, DistanceCost: 1}},
	}
	loc := func(i int) Location { return Location{Lat: in.Coords[i][1], Lon: in.Coords[i][0]} }
	p.Depot = Depot{Location: loc(in.Depot)}
	if in.HasTimeWindows() {
		p.Depot.Window = TimeWindow{in.Windows[in.Depot][0], in.Windows[in.Depot][1]}
	}
	order := []int{in.Depot}
	for i := range in.Dimension {
		if i == in.Depot {
			continue
		}
		order = append(order, i)
		s := Stop{ID: IntID(int64(i)), Location: loc(i), Demand: Load{in.Demand[i]}, Service: in.Service[i]}
		if in.HasTimeWindows() {
			s.Window = TimeWindow{in.Windows[i][0], in.Windows[i][1]}
		}
		p.Stops = append(p.Stops, s)
	}
	n := len(order)
	m := &Matrix{N: n, Distance: make([]float64, n*n), Duration: make([]float64, n*n)}
	for a, i := range order {
		for b, j := range order {
			d := in.Arc(i, j)
			m.Distance[a*n+b], m.Duration[a*n+b] = d, d
		}
	}
	p.Matrix = FixedMatrix{M: m}
	return p
}

// SolutionRoutes gives the routes of sol, for a Problem made by
// in.Problem(), as node numbers (node id minus one).
func (in *Instance) SolutionRoutes(sol *Solution) [][]int {
	var out [][]int
	for _, r := range sol.Routes {
		var rt []int
		for _, v := range r.Visits {
			rt = append(rt, int(v.ID.Num))
		}
		out = append(out, rt)
	}
	return out
}

// FormatCost prints a cost as the instance's convention does (integer for
// CVRP, one decimal for VRPTW).
func (in *Instance) FormatCost(c float64) string {
	if in.HasTimeWindows() {
		return strconv.FormatFloat(c, 'f', 1, 64)
	}
	return strconv.FormatFloat(math.Round(c), 'f', 0, 64)
}

// WriteVRPLIBSolution writes routes in the CVRPLIB .sol format.
func WriteVRPLIBSolution(w io.Writer, routes [][]int, cost string) error {
	bw := bufio.NewWriter(w)
	k := 0
	for _, rt := range routes {
		if len(rt) == 0 {
			continue
		}
		k++
		fmt.Fprintf(bw, "Route #%d:", k)
		for _, v := range rt {
			fmt.Fprintf(bw, " %d", v)
		}
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, "Cost %s\n", cost)
	return bw.Flush()
}

// ReadVRPLIBSolution reads a .sol file: its routes and stated cost.
func ReadVRPLIBSolution(r io.Reader) ([][]int, float64, error) {
	sc := bufio.NewScanner(r)
	var routes [][]int
	cost := math.NaN()
	lineNo := 0
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "Route"):
			_, list, ok := strings.Cut(line, ":")
			if !ok {
				return nil, 0, fmt.Errorf("vrplib solution: line %d: no ':'", lineNo)
			}
			var rt []int
			for _, t := range strings.Fields(list) {
				v, err := strconv.Atoi(t)
				if err != nil {
					return nil, 0, fmt.Errorf("vrplib solution: line %d: bad customer %q", lineNo, t)
				}
				rt = append(rt, v)
			}
			routes = append(routes, rt)
		case strings.HasPrefix(line, "Cost"):
			v, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimPrefix(line, "Cost")), 64)
			if err != nil {
				return nil, 0, fmt.Errorf("vrplib solution: line %d: bad cost", lineNo)
			}
			cost = v
		default:
			return nil, 0, fmt.Errorf("vrplib solution: line %d: unexpected %q", lineNo, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	if math.IsNaN(cost) {
		return nil, 0, errors.New("vrplib solution: no Cost line")
	}
	return routes, cost, nil
}
