package routing

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// smallCity is a quick domain problem around a warehouse.
func smallCity(n int, seed uint64) *Problem {
	return GenerateCity(CityCase{Stops: n, RadiusM: 6000, Clusters: 5, Seed: seed})
}

func mustSolve(t *testing.T, p *Problem, opt Options) *Solution {
	t.Helper()
	sol, err := Solve(context.Background(), p, opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSolution(p, sol); err != nil {
		t.Fatalf("checker: %v", err)
	}
	return sol
}

func TestDeterminism(t *testing.T) {
	in := readInstance(t, filepath.Join(benchDir, "vrptw", "R101.vrp"))
	opt := Options{MaxIterations: 150, Seed: 42, Threads: 1}
	a := mustSolve(t, in.Problem(), opt)
	b := mustSolve(t, in.Problem(), opt)
	if !reflect.DeepEqual(in.SolutionRoutes(a), in.SolutionRoutes(b)) || a.Cost != b.Cost {
		t.Fatalf("same seed and budget gave different plans: %v vs %v", a.Cost, b.Cost)
	}
	// Parallel education is deterministic too: children are drawn and
	// added in a fixed order.
	opt2 := Options{MaxIterations: 100, Seed: 5, Threads: 2}
	e := mustSolve(t, in.Problem(), opt2)
	f := mustSolve(t, in.Problem(), opt2)
	if !reflect.DeepEqual(in.SolutionRoutes(e), in.SolutionRoutes(f)) {
		t.Fatal("threads=2: same seed and budget gave different plans")
	}
	p := smallCity(60, 3)
	c := mustSolve(t, p, opt)
	d := mustSolve(t, p, opt)
	if !reflect.DeepEqual(c.Routes, d.Routes) {
		t.Fatal("city: same seed and budget gave different plans")
	}
}

func TestCancellationReturnsBest(t *testing.T) {
	in := readInstance(t, filepath.Join(benchDir, "cvrp", "X-n101-k25.vrp"))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	sol, err := Solve(ctx, in.Problem(), Options{Threads: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(t0); el > 2*time.Second {
		t.Fatalf("took %v after a 300ms cancellation", el)
	}
	chk := CheckVRPLIB(in, in.SolutionRoutes(sol))
	if !chk.Feasible || len(sol.Unserved) != 0 {
		t.Fatalf("cancelled search returned an infeasible plan: %v, unserved %v", chk.Problems, sol.Unserved)
	}
	// Cancelled before it starts: still a plan.
	ctx2, cancel2 := context.WithCancel(context.Background())
	cancel2()
	sol, err = Solve(ctx2, in.Problem(), Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if chk := CheckVRPLIB(in, in.SolutionRoutes(sol)); len(sol.Unserved) == 0 && !chk.Feasible {
		t.Fatalf("plan after immediate cancel infeasible: %v", chk.Problems)
	}
}

func TestBenchSmoke(t *testing.T) {
	for _, f := range []string{"cvrp/X-n101-k25.vrp", "vrptw/C101.vrp", "vrptw/R201.vrp", "vrptw/RC105.vrp"} {
		in := readInstance(t, filepath.Join(benchDir, f))
		_, chk := solveInstance(t, in, Options{MaxIterations: 200, Seed: 1, Threads: 2})
		t.Logf("%s: cost %v, %d routes", in.Name, chk.Cost, chk.Routes)
	}
}

func TestUnservedReasons(t *testing.T) {
	p := smallCity(30, 5)
	p.Vehicles = p.Vehicles[:1]
	p.Vehicles[0].Count = 2
	// Too heavy for any vehicle.
	p.Stops[0].Demand = Load{p.Vehicles[0].Capacity[0] + 1, 1}
	// Window closes before anyone can get there from the depot.
	p.Stops[1].Window = TimeWindow{Start: 6*3600 + 10, End: 6*3600 + 20}
	// More stops than 2 vans can serve in three hours.
	extra := smallCity(200, 6).Stops
	for i := range extra {
		extra[i].ID = StringID(fmt.Sprintf("X%d", i))
	}
	p.Stops = append(p.Stops, extra...)
	sol := mustSolve(t, p, Options{MaxIterations: 60, Seed: 1, Threads: 1})
	byID := map[string]Unserved{}
	for _, u := range sol.Unserved {
		byID[u.ID.String()] = u
	}
	heavy := byID[p.Stops[0].ID.String()]
	if heavy.Cause != CauseCapacity || heavy.Reason != fmt.Sprintf("demand %s exceeds every vehicle's capacity (largest 1500 kg)", amount(0, float64(p.Stops[0].Demand[0]))) {
		t.Errorf("heavy stop: %+v", heavy)
	}
	early := byID[p.Stops[1].ID.String()]
	if early.Cause != CauseWindow || !strings.Contains(early.Reason, "window 06:00:10–06:00:20 closes before the earliest arrival") {
		t.Errorf("early stop: %+v", early)
	}
	n := 0
	for _, u := range sol.Unserved {
		if u.Cause == CauseFleetFull {
			n++
			if !strings.HasPrefix(u.Reason, "fleet full: all 2 vehicles in use (2 × van 1.5t 8m3)") {
				t.Errorf("fleet full: %q", u.Reason)
			}
		}
	}
	if n == 0 || len(sol.Routes) != 2 {
		t.Errorf("%d stops without vehicle, %d routes", n, len(sol.Routes))
	}
}

func TestMultiDimensionalCapacity(t *testing.T) {
	p := smallCity(80, 8)
	p.Vehicles = []VehicleType{{Name: "van", Capacity: Load{1e9, 2_000_000}}}
	for i := range p.Stops {
		p.Stops[i].Window = TimeWindow{}
		p.Stops[i].Demand = Load{1000, 100_000} // volume binds: 20 stops per van
	}
	sol := mustSolve(t, p, Options{MaxIterations: 100, Seed: 2, Threads: 1})
	if len(sol.Unserved) != 0 || len(sol.Routes) < 4 {
		t.Fatalf("%d routes, %d unserved", len(sol.Routes), len(sol.Unserved))
	}
	for _, r := range sol.Routes {
		if r.Load[1] > 2_000_000 {
			t.Fatalf("volume %d over capacity", r.Load[1])
		}
	}
}

func TestHeterogeneousFleet(t *testing.T) {
	p := smallCity(120, 9)
	p.Vehicles = []VehicleType{
		{Name: "van", Count: 2, Capacity: Load{1_500_000, 8_000_000}, FixedCost: 50, DistanceCost: 0.001},
		{Name: "truck", Count: 3, Capacity: Load{3_000_000, 16_000_000}, FixedCost: 90, DistanceCost: 0.002},
	}
	for i := range p.Stops {
		p.Stops[i].Window = TimeWindow{}
		p.Stops[i].Demand = Load{60_000, 300_000}
	}
	// 7.2 t: needs at least 2 trucks plus vans.
	sol := mustSolve(t, p, Options{MaxIterations: 150, Seed: 3, Threads: 1})
	if len(sol.Unserved) != 0 {
		t.Fatalf("unserved: %v", sol.Unserved)
	}
	count := map[int]int{}
	for _, r := range sol.Routes {
		count[r.VehicleType]++
	}
	if count[0] > 2 || count[1] > 3 {
		t.Fatalf("fleet counts exceeded: %v", count)
	}
}

func TestCitySmallFeasible(t *testing.T) {
	p := smallCity(150, 4)
	sol := mustSolve(t, p, Options{MaxIterations: 100, Seed: 1, Threads: 2})
	if len(sol.Unserved) != 0 {
		t.Fatalf("unserved %v", sol.Unserved)
	}
	for _, r := range sol.Routes {
		for _, v := range r.Visits {
			if v.Start < 7*3600 || v.Start > 10*3600 || v.Depart-v.Start != 300 {
				t.Fatalf("visit %+v outside 07:00-10:00 or wrong service", v)
			}
		}
	}
}

func TestHaversine(t *testing.T) {
	paris, london := Location{48.8566, 2.3522}, Location{51.5074, -0.1278}
	if d := HaversineMetres(paris, london); math.Abs(d-343_500) > 2000 {
		t.Fatalf("Paris-London %v m", d)
	}
	m, err := Haversine{}.Matrix(context.Background(), []Location{paris, london, paris})
	if err != nil {
		t.Fatal(err)
	}
	if m.Distance[0] != 0 || m.Distance[1] != m.Distance[3] || m.Distance[2] != 0 {
		t.Fatalf("matrix %v", m.Distance)
	}
	if want := math.Round(HaversineMetres(paris, london) * 1.3); m.Distance[1] != want {
		t.Fatalf("road factor: %v, want %v", m.Distance[1], want)
	}
	if sp := m.Distance[1] / m.Duration[1]; math.Abs(sp-25/3.6) > 0.01 {
		t.Fatalf("speed %v m/s", sp)
	}
}

func TestReadOSRMTable(t *testing.T) {
	js := `{"code":"Ok","durations":[[0,10.5],[11,0]],"distances":[[0,100],[120,null]]}`
	m, err := ReadOSRMTable(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if m.N != 2 || m.Duration[1] != 10.5 || m.Distance[2] != 120 || m.Distance[3] < 1e8 {
		t.Fatalf("%+v", m)
	}
	if _, err := ReadOSRMTable(strings.NewReader(`{"code":"Ok","durations":[[0]]}`)); err == nil {
		t.Fatal("missing distances accepted")
	}
	// A supplied, asymmetric matrix drives the solver.
	p := &Problem{
		Stops:    []Stop{{ID: IntID(1), Demand: Load{1}}, {ID: IntID(2), Demand: Load{1}}},
		Vehicles: []VehicleType{{Capacity: Load{5}}},
		Matrix: FixedMatrix{M: &Matrix{N: 3,
			Distance: []float64{0, 10, 50, 50, 0, 10, 10, 50, 0},
			Duration: []float64{0, 10, 50, 50, 0, 10, 10, 50, 0}}},
	}
	sol := mustSolve(t, p, Options{MaxIterations: 50, Threads: 1})
	if sol.Distance != 30 || sol.Routes[0].Visits[0].ID != IntID(1) {
		t.Fatalf("asymmetric: %+v", sol)
	}
}

// The construction serves the whole city case before the search has made
// a single generation, so even a short budget on one thread loses no stop.
func TestCityCaseServedAtShortBudgets(t *testing.T) {
	p := GenerateCity(CityCase{Stops: 1000, Seed: 1})
	for _, budget := range []time.Duration{time.Second, 3 * time.Second} {
		sol := mustSolve(t, p, Options{TimeLimit: budget, Threads: 1, Seed: 1})
		if len(sol.Unserved) != 0 || !sol.Feasible {
			t.Fatalf("%v: %d unserved, first %v", budget, len(sol.Unserved), sol.Unserved[0])
		}
		t.Logf("%v: cost %.1f, %d routes, %d generations", budget, sol.Cost, len(sol.Routes), sol.Iterations)
	}
}

// A small problem ends when the search stops improving, long before a
// generous time limit.
func TestStopsWhenDone(t *testing.T) {
	p := smallCity(10, 7)
	t0 := time.Now()
	sol := mustSolve(t, p, Options{TimeLimit: 45 * time.Second, Threads: 1, Seed: 1})
	if el := time.Since(t0); el > 2*time.Second {
		t.Fatalf("10 stops took %v of a 45 s budget", el)
	}
	if len(sol.Unserved) != 0 || sol.Iterations < patience(10) {
		t.Fatalf("%d unserved after %d generations", len(sol.Unserved), sol.Iterations)
	}
}

func TestProgress(t *testing.T) {
	p := smallCity(150, 11)
	var calls []Progress
	t0 := time.Now()
	sol := mustSolve(t, p, Options{TimeLimit: 1500 * time.Millisecond, Threads: 1, Seed: 1, Patience: -1,
		Progress: func(pr Progress) { calls = append(calls, pr) }})
	el := time.Since(t0)
	if len(calls) < 3 || len(calls) > int(el/progressEvery)+2 {
		t.Fatalf("%d progress calls in %v", len(calls), el)
	}
	for i := 1; i < len(calls); i++ {
		a, b := calls[i-1], calls[i]
		if b.Served < a.Served || (b.Served == a.Served && b.BestCost > a.BestCost+1e-6) || b.Iterations < a.Iterations || b.Elapsed < a.Elapsed {
			t.Fatalf("progress went back: %+v then %+v", a, b)
		}
	}
	last := calls[len(calls)-1]
	if last.Iterations != sol.Iterations || math.Abs(last.BestCost-sol.Cost) > 1e-6 || !last.Feasible || last.Served != len(p.Stops) || last.Unserved != 0 {
		t.Fatalf("last progress %+v, solution cost %v after %d generations", last, sol.Cost, sol.Iterations)
	}
}

// Stops no vehicle can serve alone are screened out with the cause and its
// numbers; the others are all served.
func TestScreeningCauses(t *testing.T) {
	p := smallCity(20, 12)
	p.Vehicles = []VehicleType{
		{Name: "van", Capacity: Load{100_000, 1_000_000}, Shift: TimeWindow{6 * 3600, 11 * 3600}, MaxDuration: 2 * 3600},
		{Name: "truck", Capacity: Load{500_000, 5_000_000}, Shift: TimeWindow{9*3600 + 55*60, 11 * 3600}, MaxDuration: 2 * 3600},
	}
	far := p.Stops[2]
	far.ID, far.Location = StringID("far"), Location{Lat: p.Depot.Location.Lat + 0.25, Lon: p.Depot.Location.Lon}
	far.Demand = Load{1000, 1000}
	far.Window = TimeWindow{}
	heavyEarly := p.Stops[3]
	heavyEarly.ID, heavyEarly.Demand, heavyEarly.Window = StringID("heavy-early"), Load{200_000, 10_000}, TimeWindow{7 * 3600, 8 * 3600}
	bulky := p.Stops[4]
	bulky.ID, bulky.Demand = StringID("bulky"), Load{1000, 6_000_000}
	p.Stops = append(p.Stops, far, heavyEarly, bulky)
	sol := mustSolve(t, p, Options{MaxIterations: 50, Seed: 1, Threads: 1})
	got := unservedByID(sol)
	if len(got) != 3 {
		t.Fatalf("unserved %v", sol.Unserved)
	}
	if u := got["far"]; u.Cause != CauseDuration || !strings.Contains(u.Reason, "longer than any vehicle may drive (longest 2 h 00 min)") {
		t.Errorf("far: %+v", u)
	}
	if u := got["heavy-early"]; u.Cause != CauseVehicle {
		t.Errorf("heavy-early: %+v", u)
	}
	if u := got["bulky"]; u.Cause != CauseCapacity || u.Reason != "demand 6000 l exceeds every vehicle's capacity (largest 5000 l)" {
		t.Errorf("bulky: %+v", u)
	}
}

// A plan made elsewhere is timed as Solve times its own and judged by the
// same checker; stops it leaves out are listed.
func TestSchedule(t *testing.T) {
	p := smallCity(40, 13)
	sol := mustSolve(t, p, Options{MaxIterations: 30, Seed: 1, Threads: 1})
	var plan []Assignment
	for _, r := range sol.Routes {
		a := Assignment{VehicleType: r.VehicleType}
		for _, v := range r.Visits {
			a.Stops = append(a.Stops, v.Stop)
		}
		plan = append(plan, a)
	}
	got, err := Schedule(context.Background(), p, plan)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Routes, sol.Routes) || got.Cost != sol.Cost {
		t.Fatalf("rescheduled plan differs: cost %v, want %v", got.Cost, sol.Cost)
	}
	dropped := plan[0].Stops[0]
	plan[0].Stops = plan[0].Stops[1:]
	got, err = Schedule(context.Background(), p, plan)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckSolution(p, got); err != nil {
		t.Fatal(err)
	}
	if len(got.Unserved) != 1 || got.Unserved[0].Stop != dropped || got.Unserved[0].Reason != ReasonNotPlanned {
		t.Fatalf("unserved %v, want stop %d", got.Unserved, dropped)
	}
	if _, err := Schedule(context.Background(), p, []Assignment{{VehicleType: 5, Stops: []int{0}}}); err == nil {
		t.Fatal("unknown vehicle type accepted")
	}
}

func TestOneStop(t *testing.T) {
	p := smallCity(1, 14)
	sol := mustSolve(t, p, Options{TimeLimit: time.Second, Seed: 1})
	if len(sol.Routes) != 1 || len(sol.Unserved) != 0 || !sol.Feasible {
		t.Fatalf("%d routes, unserved %v", len(sol.Routes), sol.Unserved)
	}
}

// TestRoutesLastNoLongerThanTheirCap: the search judges a route by its
// least duration; its schedule leaves late enough to have it, so a cap on
// a vehicle's route duration holds. Stops 30 and 40 minutes out whose
// windows open at 09:00 and 10:30 fit in one hour only leaving after 08:50.
func TestRoutesLastNoLongerThanTheirCap(t *testing.T) {
	const h = 3600
	uniform := func(n int, dist, dur float64) *Matrix {
		m := &Matrix{N: n, Distance: make([]float64, n*n), Duration: make([]float64, n*n)}
		for i := range n {
			for j := range n {
				if i != j {
					m.Distance[i*n+j], m.Duration[i*n+j] = dist, dur
				}
			}
		}
		return m
	}
	p := &Problem{
		Depot: Depot{Location: Location{Lat: 30, Lon: 114}},
		Stops: []Stop{
			{ID: IntID(1), Location: Location{Lat: 30.01, Lon: 114}, Demand: Load{1, 1}, Window: TimeWindow{Start: 9 * h, End: 10 * h}, Service: 300},
			{ID: IntID(2), Location: Location{Lat: 30.02, Lon: 114}, Demand: Load{1, 1}, Window: TimeWindow{Start: 10*h + 1800, End: 11 * h}, Service: 300},
		},
		Vehicles: []VehicleType{{Name: "VAN", Count: 1, Capacity: Load{100, 100}, Shift: TimeWindow{Start: 6 * h, End: 14 * h}, MaxDuration: 2 * h}},
		Matrix:   FixedMatrix{M: uniform(3, 1000, 600)},
	}
	sol := mustSolve(t, p, Options{MaxIterations: 50, Seed: 1})
	if r := sol.Routes[0]; len(sol.Unserved) != 0 || r.Duration > 2*h || r.Departure != 10*h-600 {
		t.Fatalf("route %+v, unserved %v: want it to leave at 09:50 and last 5,400 s", r, sol.Unserved)
	}
	// Random small problems with windows and caps: every plan holds.
	for seed := range uint64(60) {
		p := smallCity(12, seed)
		for i := range p.Stops {
			open := int64(6*h + (seed*7+uint64(i)*13)%5*h)
			p.Stops[i].Window = TimeWindow{Start: open, End: open + h}
		}
		for i := range p.Vehicles {
			p.Vehicles[i].Shift = TimeWindow{Start: 5 * h, End: 14 * h}
			p.Vehicles[i].MaxDuration = int64(3*h + seed%4*h)
		}
		mustSolve(t, p, Options{MaxIterations: 30, Seed: int64(seed)})
	}
}

// TestReasonNumbersTellDemandFromCapacity: a 50.04 kg stop against 50 kg
// vans says so, not "50 kg exceeds … (largest 50 kg)".
func TestReasonNumbersTellDemandFromCapacity(t *testing.T) {
	p := &Problem{Depot: Depot{Location: Location{Lat: 31, Lon: 121}},
		Stops:    []Stop{{ID: IntID(1), Location: Location{Lat: 31.01, Lon: 121}, Demand: Load{50_040, 1000}}},
		Vehicles: []VehicleType{{Name: "VAN", Count: 2, Capacity: Load{50_000, 100_000}}}}
	sol := mustSolve(t, p, Options{MaxIterations: 10, Seed: 1})
	if len(sol.Unserved) != 1 || sol.Unserved[0].Reason != "demand 50.04 kg exceeds every vehicle's capacity (largest 50 kg)" {
		t.Fatalf("unserved %+v", sol.Unserved)
	}
}
