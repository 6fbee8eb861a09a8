package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// citiesSpec is one night of several cities with the same cutoff, run by
// worker processes beside an API process, all on one PostgreSQL and Redis.
type citiesSpec struct {
	cities, points, skus, lines int
	workers                     int           // worker processes
	routeSolves                 int           // route stages each worker runs at once
	routeBudget                 time.Duration // each solve's budget, searched whole
	within                      time.Duration // how long the night may take
}

// cityStage is one stage of one city's wave as the worker recorded it.
type cityStage struct {
	WaveID   int64      `db:"wave_id"`
	Stage    wave.Stage `db:"stage"`
	Started  time.Time  `db:"started_at"`
	Finished time.Time  `db:"finished_at"`
}

// citiesNight is what such a night did, from the stages' own timestamps.
type citiesNight struct {
	waves  []int64
	stages map[int64]map[wave.Stage]cityStage
	start  time.Time // the first close began: the cities' common cutoff
	// shortWaitMax is the longest a short stage (purchase, allocate, pick,
	// ready) waited from its predecessor's commit to its own start, and
	// shortWaitAt which one.
	shortWaitMax time.Duration
	shortWaitAt  string
	// routesAtOnce is the most route stages that ran at the same time.
	routesAtOnce int
	// readyMax is the longest from start to a wave's ready stage commit.
	readyMax time.Duration
}

// runCities simulates the cities' night (the date is in the past, so every
// cutoff has passed), starts the API and the worker processes, and waits
// for every wave to be ready.
func runCities(t testing.TB, s citiesSpec) citiesNight {
	t.Helper()
	ctx := context.Background()
	url, redisURL := testenv.NewDatabase(t), testenv.Redis(t)
	a := startApp(t, config.Config{DatabaseURL: url, RedisURL: redisURL, DBMaxConns: 4, RouteBudget: s.routeBudget},
		slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	var n citiesNight
	for i := range s.cities {
		spec := demo.SimCity
		spec.Warehouse, spec.Seed = fmt.Sprintf("C%02d", i+1), uint64(i+1)
		spec.Points, spec.SKUs, spec.Lines, spec.Date = s.points, s.skus, s.lines, "2026-01-05"
		if _, err := demo.Simulate(ctx, a.db, clock.System{}, spec); err != nil {
			t.Fatalf("simulate %s: %v", spec.Warehouse, err)
		}
	}
	if err := a.db.Select(&n.waves, `SELECT id FROM waves ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	if len(n.waves) != s.cities {
		t.Fatalf("%d waves, want one per city (%d)", len(n.waves), s.cities)
	}
	for _, id := range n.waves {
		w, err := wave.Get(ctx, a.db, id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.fleet.SaveVehicleType(ctx, routeplan.VehicleType{WarehouseID: w.WarehouseID, Code: "TRUCK3T", Name: "3吨冷藏车",
			Count: 20, CapacityG: 3_000_000, CapacityML: 16_000_000, ShiftStart: clock.NewTimeOfDay(4, 30), ShiftEnd: clock.NewTimeOfDay(11, 0),
			FixedCostFen: 40000, CostPerKmFen: 300, Chilled: true, Frozen: true}); err != nil {
			t.Fatal(err)
		}
		// Received in full, typed: allocation follows the purchase stage at once.
		var receipts []night.Receipt
		if err := a.db.Select(&receipts, `SELECT id AS sale_item_id, sold AS received FROM sale_items WHERE warehouse_id = $1 AND sold > 0`,
			w.WarehouseID); err != nil {
			t.Fatal(err)
		}
		if _, err := a.waves.RecordReceipts(ctx, id, wave.FirstComeFirstServed, true, receipts, "cities test"); err != nil {
			t.Fatal(err)
		}
	}
	admin, _, err := auth.IssueToken(ctx, a.db, time.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "cities test"})
	if err != nil {
		t.Fatal(err)
	}
	base, _, _, _ := startServe(t, url, redisURL)
	for range s.workers {
		startWorker(t, url, redisURL, "GROUPBUY_SWEEP_EVERY=1s", "GROUPBUY_ROUTE_FULL_BUDGET=1",
			"GROUPBUY_ROUTE_BUDGET="+s.routeBudget.String(), "GROUPBUY_ROUTE_SOLVES="+strconv.Itoa(s.routeSolves))
	}

	// Every wave ready, as the API process reports it.
	deadline := time.Now().Add(s.within + 30*time.Second)
	for _, id := range n.waves {
		for {
			var got struct {
				State string `json:"state"`
			}
			r := doHTTP(t, http.DefaultClient, http.MethodGet, fmt.Sprintf("%s/api/v1/ops/waves/%d", base, id), admin, nil)
			r.json(t, &got)
			if got.State == string(wave.Ready) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("wave %d is %s, not ready, %s after the workers started", id, got.State, s.within+30*time.Second)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	var rows []cityStage
	if err := a.db.Select(&rows, `SELECT wave_id, stage, started_at, finished_at FROM wave_stages WHERE finished_at IS NOT NULL`); err != nil {
		t.Fatal(err)
	}
	n.stages = map[int64]map[wave.Stage]cityStage{}
	for _, r := range rows {
		if n.stages[r.WaveID] == nil {
			n.stages[r.WaveID] = map[wave.Stage]cityStage{}
		}
		n.stages[r.WaveID][r.Stage] = r
		if r.Stage == wave.StageClose && (n.start.IsZero() || r.Started.Before(n.start)) {
			n.start = r.Started
		}
	}
	var routes []cityStage
	for _, id := range n.waves {
		st := n.stages[id]
		prev := wave.StageClose
		for _, name := range []wave.Stage{wave.StagePurchase, wave.StageAllocate, wave.StagePick, wave.StageRoute, wave.StageReady} {
			cur, ok := st[name]
			if !ok {
				t.Fatalf("wave %d has no committed %s stage", id, name)
			}
			if name != wave.StageRoute {
				if wait := cur.Started.Sub(st[prev].Finished); wait > n.shortWaitMax {
					n.shortWaitMax, n.shortWaitAt = wait, fmt.Sprintf("wave %d %s", id, name)
				}
			}
			prev = name
		}
		routes = append(routes, st[wave.StageRoute])
		n.readyMax = max(n.readyMax, st[wave.StageReady].Finished.Sub(n.start))
	}
	n.routesAtOnce = mostAtOnce(routes)
	return n
}

// mostAtOnce is the most of the stages that ran at the same moment.
func mostAtOnce(stages []cityStage) int {
	type edge struct {
		at    time.Time
		delta int
	}
	var edges []edge
	for _, s := range stages {
		edges = append(edges, edge{s.Started, 1}, edge{s.Finished, -1})
	}
	// An end before a start at the same instant: back to back is not at once.
	sort.Slice(edges, func(i, j int) bool {
		if !edges[i].at.Equal(edges[j].at) {
			return edges[i].at.Before(edges[j].at)
		}
		return edges[i].delta < edges[j].delta
	})
	most, now := 0, 0
	for _, e := range edges {
		now += e.delta
		most = max(most, now)
	}
	return most
}

// table prints each city's stage times from the common start, in seconds.
func (n citiesNight) table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "wave   close  purch  alloc   pick  route  ready   (s from the first close began to each stage's commit)\n")
	for _, id := range n.waves {
		fmt.Fprintf(&b, "%4d", id)
		for _, name := range []wave.Stage{wave.StageClose, wave.StagePurchase, wave.StageAllocate, wave.StagePick, wave.StageRoute, wave.StageReady} {
			fmt.Fprintf(&b, " %6.2f", n.stages[id][name].Finished.Sub(n.start).Seconds())
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "longest wait of a short stage for its turn: %s (%s); route solves at once: %d; last wave ready after %s\n",
		n.shortWaitMax.Round(time.Millisecond), n.shortWaitAt, n.routesAtOnce, n.readyMax.Round(time.Millisecond))
	return b.String()
}

// TestTenCitiesTwoWorkers: ten warehouses with the same cutoff, two worker
// processes and an API process on one PostgreSQL and Redis. The route
// stages (each searching its whole budget) run at most one per worker at a
// time, on the route queue's own worker; meanwhile no city's short stages
// wait for a route solve to end, and every wave is ready within the solves'
// rounds plus a margin.
func TestTenCitiesTwoWorkers(t *testing.T) {
	s := citiesSpec{cities: 10, points: 20, skus: 15, lines: 400, workers: 2, routeSolves: 1, routeBudget: 2 * time.Second}
	rounds := (s.cities + s.workers*s.routeSolves - 1) / (s.workers * s.routeSolves)
	s.within = time.Duration(rounds)*s.routeBudget + 8*time.Second
	n := runCities(t, s)
	t.Log("\n" + n.table())
	if n.routesAtOnce > s.workers*s.routeSolves {
		t.Errorf("%d route solves ran at once; each of the %d workers may run %d", n.routesAtOnce, s.workers, s.routeSolves)
	}
	// A short stage queued behind a solve would wait for most of its budget.
	if n.shortWaitMax >= s.routeBudget*3/4 {
		t.Errorf("%s waited %s for its turn: as long as a route solve (%s)", n.shortWaitAt, n.shortWaitMax, s.routeBudget)
	}
	if n.readyMax > s.within {
		t.Errorf("the last wave was ready %s after the cutoff's close began, over its budget %s (%d rounds of %s solves and 8 s)",
			n.readyMax, s.within, rounds, s.routeBudget)
	}
}

// BenchmarkTenCities is the lab figure of the same night at a size of the
// caller's (GROUPBUY_CITY_LINES order lines a city, default 20,000): each
// city's stage times, the longest wait of a short stage, route solves at
// once, and when the last wave was ready.
func BenchmarkTenCities(b *testing.B) {
	lines := 20_000
	if v := os.Getenv("GROUPBUY_CITY_LINES"); v != "" {
		var err error
		if lines, err = strconv.Atoi(v); err != nil {
			b.Fatal(err)
		}
	}
	s := citiesSpec{cities: 10, points: max(20, lines/100), skus: max(15, min(300, lines/100)), lines: lines, workers: 2, routeSolves: 1,
		routeBudget: 5 * time.Second, within: 10 * time.Minute}
	for b.Loop() {
		n := runCities(b, s)
		// Printed whole: a benchmark's log is cut to ten lines.
		fmt.Printf("10 cities × %d lines (%d points, %d SKUs), 2 workers, 1 route solve each of %s\n%s", s.lines, s.points, s.skus, s.routeBudget, n.table())
		b.ReportMetric(n.readyMax.Seconds(), "s-last-ready")
		b.ReportMetric(float64(n.shortWaitMax.Milliseconds()), "ms-short-wait-max")
		b.ReportMetric(float64(n.routesAtOnce), "routes-at-once")
	}
}
