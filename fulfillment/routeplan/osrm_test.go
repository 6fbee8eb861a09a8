package routeplan_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/pg"
	"groupbuy/routing"
)

// fakeOSRM is an OSRM server on loopback that answers the table service in
// OSRM's documented format (code, durations, distances, sources,
// destinations; null for a pair without a road), refusing requests over its
// table size as osrm-routed does. Its roads run along the grid: metres are
// the Manhattan distance, at 10 m/s, so its answers differ from the
// great-circle estimate. A coordinate with longitude 0 has no road.
type fakeOSRM struct {
	*httptest.Server
	requests  atomic.Int64
	tableSize int
}

func newFakeOSRM(t *testing.T, tableSize int) *fakeOSRM {
	f := &fakeOSRM{tableSize: tableSize}
	f.Server = httptest.NewServer(http.HandlerFunc(f.table))
	t.Cleanup(f.Close)
	return f
}

// road is the fake's distance in metres between lon,lat strings.
func road(a, b [2]float64) float64 {
	const m = 111320.0
	return math.Round(m*math.Abs(a[1]-b[1]) + m*math.Cos(a[1]*math.Pi/180)*math.Abs(a[0]-b[0]))
}

func (f *fakeOSRM) table(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	fail := func(code int, c, msg string) {
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]string{"code": c, "message": msg})
	}
	rest, ok := strings.CutPrefix(r.URL.Path, "/table/v1/driving/")
	if !ok || r.URL.Query().Get("annotations") != "duration,distance" {
		fail(http.StatusBadRequest, "InvalidUrl", "URL string malformed")
		return
	}
	var coords [][2]float64
	for _, c := range strings.Split(rest, ";") {
		lon, lat, _ := strings.Cut(c, ",")
		x, err1 := strconv.ParseFloat(lon, 64)
		y, err2 := strconv.ParseFloat(lat, 64)
		if err1 != nil || err2 != nil {
			fail(http.StatusBadRequest, "InvalidQuery", "Query string malformed")
			return
		}
		coords = append(coords, [2]float64{x, y})
	}
	if len(coords) > f.tableSize {
		fail(http.StatusBadRequest, "TooBig", "Too many table coordinates")
		return
	}
	indexes := func(name string) []int {
		var out []int
		for _, s := range strings.Split(r.URL.Query().Get(name), ";") {
			i, _ := strconv.Atoi(s)
			out = append(out, i)
		}
		return out
	}
	src, dst := indexes("sources"), indexes("destinations")
	resp := map[string]any{"code": "Ok"}
	var durations, distances [][]*float64
	for _, i := range src {
		var drow, mrow []*float64
		for _, j := range dst {
			if (coords[i][0] == 0) != (coords[j][0] == 0) {
				drow, mrow = append(drow, nil), append(mrow, nil)
				continue
			}
			d := road(coords[i], coords[j])
			t := d / 10
			drow, mrow = append(drow, &t), append(mrow, &d)
		}
		durations, distances = append(durations, drow), append(distances, mrow)
	}
	resp["durations"], resp["distances"] = durations, distances
	json.NewEncoder(w).Encode(resp)
}

// TestOSRMTableInBlocks: a table larger than the server allows is asked for
// in blocks and put together exactly; a pair without a road is unreachable.
func TestOSRMTableInBlocks(t *testing.T) {
	f := newFakeOSRM(t, 6)
	var points []routing.Location
	for i := range 13 {
		points = append(points, routing.Location{Lat: 31.1 + float64(i%5)*0.01, Lon: 121.4 + float64(i/5)*0.013})
	}
	points[12].Lon = 0 // no road to it
	m, err := routeplan.OSRM{URL: f.URL, TableSize: 6}.Matrix(context.Background(), points)
	if err != nil {
		t.Fatal(err)
	}
	if got := f.requests.Load(); got != 25 { // blocks of 3 × 3: 5 × 5 requests
		t.Errorf("%d requests, want 25", got)
	}
	for i, a := range points {
		for j, b := range points {
			want := road([2]float64{a.Lon, a.Lat}, [2]float64{b.Lon, b.Lat})
			if (i == 12) != (j == 12) {
				want = 1e9
			}
			if got := m.Distance[i*13+j]; got != want || (want < 1e9 && m.Duration[i*13+j] != want/10) {
				t.Fatalf("%d→%d: %v m, %v s; want %v m", i, j, got, m.Duration[i*13+j], want)
			}
		}
	}
	f.tableSize = 100
	if _, err := (routeplan.OSRM{URL: f.URL}).Matrix(context.Background(), points); err != nil || f.requests.Load() != 26 {
		t.Errorf("one request with OSRM's default table size: %d requests in all, %v", f.requests.Load(), err)
	}
	f.tableSize = 10
	if _, err := (routeplan.OSRM{URL: f.URL, TableSize: 100}).Matrix(context.Background(), points); err == nil || !strings.Contains(err.Error(), "TooBig") {
		t.Errorf("a table over the server's size: %v", err)
	}
}

// planWith plans the wave with a planner of the given options, writes the
// plan and returns the routes as the API answers them.
func planWith(t *testing.T, c *fulfillmenttest.City, log *slog.Logger, opt routeplan.Options, stops []routeplan.StopDemand) routeplan.WaveRoutes {
	t.Helper()
	ctx := context.Background()
	w, _ := fleetAndStops(t, c, 0)
	plan, err := routeplan.NewPlanner(c.DB, log, opt).Plan(ctx, routeplan.Request{Wave: w, Stops: stops, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error { _, _, err := plan.Write(ctx, tx, w.ID); return err }); err != nil {
		t.Fatal(err)
	}
	got, err := routeplan.NewService(c.DB, nil).WaveRoutes(ctx, w.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// routeMetres sums a distance function along each route, depot to depot.
func routeMetres(c *fulfillmenttest.City, r routeplan.PlannedRoute, dist func(a, b routing.Location) float64) float64 {
	var depot routing.Location
	c.DB.QueryRow(`SELECT lat, lng FROM warehouses WHERE id = $1`, c.Warehouse).Scan(&depot.Lat, &depot.Lon)
	total, prev := 0.0, depot
	for _, s := range r.Stops {
		at := routing.Location{Lat: s.Lat, Lon: s.Lng}
		total += dist(prev, at)
		prev = at
	}
	return total + dist(prev, depot)
}

// TestPlanTakesRoadDistancesFromOSRMOncePerWave: with GROUPBUY_OSRM_URL set,
// the routes' distances are OSRM's; a rerun of the stage reads the kept
// matrix and asks OSRM nothing.
func TestPlanTakesRoadDistancesFromOSRMOncePerWave(t *testing.T) {
	c := fulfillmenttest.New(t, 9)
	f := newFakeOSRM(t, 100)
	_, stops := fleetAndStops(t, c, 2000, van)
	opt := routeplan.Options{Budget: time.Second, Threads: 1, OSRM: routeplan.OSRM{URL: f.URL}}
	got := planWith(t, c, slog.New(slog.DiscardHandler), opt, stops)
	asked := f.requests.Load()
	if asked == 0 || len(got.Routes) == 0 || len(got.Unserved) != 0 {
		t.Fatalf("%d OSRM requests, plan %+v", asked, got)
	}
	for _, r := range got.Routes {
		want := routeMetres(c, r, func(a, b routing.Location) float64 { return road([2]float64{a.Lon, a.Lat}, [2]float64{b.Lon, b.Lat}) })
		if math.Abs(float64(r.DistanceM)-want) > 1 {
			t.Errorf("route %s: %d m, OSRM's roads make %.0f m", r.Code, r.DistanceM, want)
		}
	}
	again := planWith(t, c, slog.New(slog.DiscardHandler), opt, stops)
	if f.requests.Load() != asked || len(again.Routes) != len(got.Routes) {
		t.Fatalf("the rerun asked OSRM %d more times", f.requests.Load()-asked)
	}
	if n := c.Count(`SELECT count(*) FROM wave_matrices`); n != 1 {
		t.Fatalf("%d kept matrices, want 1", n)
	}
}

// TestPlanFallsBackToGreatCircleWhenOSRMIsDown: OSRM refusing connections
// costs a logged warning, not the plan: the routes are measured by the
// great-circle estimate, and nothing is kept, so the next run asks again.
func TestPlanFallsBackToGreatCircleWhenOSRMIsDown(t *testing.T) {
	c := fulfillmenttest.New(t, 9)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + ln.Addr().String()
	ln.Close()
	_, stops := fleetAndStops(t, c, 2000, van)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	got := planWith(t, c, log, routeplan.Options{Budget: time.Second, Threads: 1, OSRM: routeplan.OSRM{URL: down}}, stops)
	if len(got.Routes) == 0 || len(got.Unserved) != 0 || !strings.Contains(logs.String(), "level=WARN") ||
		!strings.Contains(logs.String(), "OSRM table failed") {
		t.Fatalf("plan %+v, log %s", got, logs.String())
	}
	for _, r := range got.Routes {
		want := routeMetres(c, r, func(a, b routing.Location) float64 { return math.Round(routing.HaversineMetres(a, b) * 1.3) })
		if math.Abs(float64(r.DistanceM)-want) > 1 {
			t.Errorf("route %s: %d m, the great-circle estimate makes %.0f m", r.Code, r.DistanceM, want)
		}
	}
	if n := c.Count(`SELECT count(*) FROM wave_matrices`); n != 0 {
		t.Fatalf("%d matrices kept from the fallback", n)
	}
}
