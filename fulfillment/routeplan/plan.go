// Package routeplan owns each warehouse's vehicle types and a wave's planned
// routes (routes, route_stops, unserved_stops): it turns a wave's stops into
// a routing.Problem, solves it in sectors (routing.Sectors) within a time
// budget, and stores the plan. The last mile marks routes dispatched and
// stops reached through Dispatch and Arrive here.
package routeplan

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/uber/h3-go/v4"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/input"
	"groupbuy/pickup"
	"groupbuy/pickup/geo"
	"groupbuy/routing"
)

// VehicleType is a kind of truck a warehouse dispatches, with how many it has.
type VehicleType struct {
	ID           int64           `db:"id" json:"id"`
	WarehouseID  int64           `db:"warehouse_id" json:"warehouse_id"`
	Code         string          `db:"code" json:"code"`
	Name         string          `db:"name" json:"name"`
	Count        int64           `db:"count" json:"count"`
	CapacityG    int64           `db:"capacity_g" json:"capacity_g"`
	CapacityML   int64           `db:"capacity_ml" json:"capacity_ml"`
	ShiftStart   clock.TimeOfDay `db:"shift_start" json:"shift_start"` // local
	ShiftEnd     clock.TimeOfDay `db:"shift_end" json:"shift_end"`
	FixedCostFen int64           `db:"fixed_cost_fen" json:"fixed_cost_fen"`
	CostPerKmFen int64           `db:"cost_per_km_fen" json:"cost_per_km_fen"`
	// Chilled and Frozen tell whether the type has a compartment for bags
	// of that zone; a stop with such bags rides only a type that has.
	Chilled bool `db:"chilled" json:"chilled"`
	Frozen  bool `db:"frozen" json:"frozen"`
	// MaxRouteMinutes caps each route's duration from departure to return
	// (a driver's shift); 0: only the shift window bounds it.
	MaxRouteMinutes int64     `db:"max_route_minutes" json:"max_route_minutes"`
	CreatedAt       time.Time `db:"created_at" json:"created_at"`
}

// CheckRouteCode refuses a route filter that cannot be a route's code (R01,
// R02, … R120: routeCode), before it reaches a query; "" is no filter. A
// printout's stored scope joins route and zone ("R01-chilled"), so a route
// named like a zone would read another scope's file.
func CheckRouteCode(code string) error {
	if code == "" {
		return nil
	}
	n, err := strconv.Atoi(strings.TrimPrefix(code, "R"))
	if err != nil || n < 1 || routeCode(n) != code {
		return apperr.InvalidField("route", "route must be a route code such as R01")
	}
	return nil
}

// routeCode is the code of a wave's route numbered n.
func routeCode(n int) string { return fmt.Sprintf("R%02d", n) }

// RouteCode is a route filter as a request reads it: "" or a code that
// can be a route's (CheckRouteCode).
type RouteCode string

// UnmarshalText reads a route filter under CheckRouteCode.
func (r *RouteCode) UnmarshalText(b []byte) error {
	if err := CheckRouteCode(string(b)); err != nil {
		return err
	}
	*r = RouteCode(b)
	return nil
}

// Validate checks a vehicle type before it is stored.
func (v *VehicleType) Validate() error {
	switch {
	case !input.Printable(v.Code, 20):
		return apperr.InvalidField("code", "code is required: up to 20 characters, without control characters")
	case !input.Printable(v.Name, 50):
		return apperr.InvalidField("name", "name is required, at most 50 characters")
	case v.Count < 1 || v.Count > 1000:
		return apperr.InvalidField("count", "count must be between 1 and 1000")
	case v.CapacityG < 1 || v.CapacityG > 50_000_000:
		return apperr.InvalidField("capacity_g", "capacity_g must be between 1 and 50,000,000 grams")
	case v.CapacityML < 1 || v.CapacityML > 100_000_000:
		return apperr.InvalidField("capacity_ml", "capacity_ml must be between 1 and 100,000,000 millilitres")
	case v.FixedCostFen < 0 || v.FixedCostFen > fulfillment.MaxPriceFen:
		return apperr.InvalidField("fixed_cost_fen", "fixed_cost_fen must be between 0 and %d", fulfillment.MaxPriceFen)
	case v.CostPerKmFen < 0 || v.CostPerKmFen > 1_000_000:
		return apperr.InvalidField("cost_per_km_fen", "cost_per_km_fen must be between 0 and 1,000,000")
	case v.MaxRouteMinutes < 0 || v.MaxRouteMinutes > 24*60:
		return apperr.InvalidField("max_route_minutes", "max_route_minutes must be between 0 (no cap) and 1440")
	}
	if v.ShiftStart.IsZero() {
		return apperr.InvalidField("shift_start", "shift_start must be HH:MM")
	}
	if v.ShiftEnd.IsZero() || !v.ShiftStart.Before(v.ShiftEnd) {
		return apperr.InvalidField("shift_end", "shift_end must be HH:MM after shift_start")
	}
	return nil
}

const vehicleCols = `id, warehouse_id, code, name, count, capacity_g, capacity_ml,
	to_char(shift_start, 'HH24:MI') AS shift_start, to_char(shift_end, 'HH24:MI') AS shift_end,
	fixed_cost_fen, cost_per_km_fen, chilled, frozen, max_route_minutes, created_at`

// Service runs the fleet's commands and reads the plans.
type Service struct {
	db    *sqlx.DB
	clock clock.Clock
}

// NewService returns the fleet's commands over db.
func NewService(db *sqlx.DB, clock clock.Clock) *Service { return &Service{db: db, clock: clock} }

// VehicleTypes returns a warehouse's vehicle types by code.
func (s *Service) VehicleTypes(ctx context.Context, warehouseID int64) ([]VehicleType, error) {
	return ListVehicleTypes(ctx, s.db, warehouseID)
}

// WaveRoutes returns the route plan of a wave (empty before the route stage).
func (s *Service) WaveRoutes(ctx context.Context, waveID int64) (WaveRoutes, error) {
	if _, err := wave.Get(ctx, s.db, waveID); err != nil {
		return WaveRoutes{}, err
	}
	return ListRoutes(ctx, s.db, waveID)
}

// SaveVehicleType creates or updates (by warehouse and code) a vehicle type.
func (s *Service) SaveVehicleType(ctx context.Context, v VehicleType) (VehicleType, error) {
	if err := v.Validate(); err != nil {
		return v, err
	}
	if _, err := pickup.GetWarehouse(ctx, s.db, v.WarehouseID); err != nil {
		return v, err
	}
	var out VehicleType
	err := s.db.GetContext(ctx, &out, `INSERT INTO vehicle_types (warehouse_id, code, name, count, capacity_g, capacity_ml,
			shift_start, shift_end, fixed_cost_fen, cost_per_km_fen, created_at, chilled, frozen, max_route_minutes)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT (warehouse_id, code) DO UPDATE SET name = EXCLUDED.name, count = EXCLUDED.count,
			capacity_g = EXCLUDED.capacity_g, capacity_ml = EXCLUDED.capacity_ml, shift_start = EXCLUDED.shift_start,
			shift_end = EXCLUDED.shift_end, fixed_cost_fen = EXCLUDED.fixed_cost_fen, cost_per_km_fen = EXCLUDED.cost_per_km_fen,
			chilled = EXCLUDED.chilled, frozen = EXCLUDED.frozen, max_route_minutes = EXCLUDED.max_route_minutes
		RETURNING `+vehicleCols,
		v.WarehouseID, v.Code, v.Name, v.Count, v.CapacityG, v.CapacityML, v.ShiftStart, v.ShiftEnd, v.FixedCostFen, v.CostPerKmFen, s.clock.Now(),
		v.Chilled, v.Frozen, v.MaxRouteMinutes)
	return out, err
}

// ListVehicleTypes returns a warehouse's vehicle types by code.
func ListVehicleTypes(ctx context.Context, q sqlx.QueryerContext, warehouseID int64) ([]VehicleType, error) {
	out := []VehicleType{}
	err := sqlx.SelectContext(ctx, q, &out, `SELECT `+vehicleCols+` FROM vehicle_types WHERE warehouse_id = $1 ORDER BY code`, warehouseID)
	return out, err
}

// Plan is a solved wave, ready to be written.
type Plan struct {
	routes   []plannedRoute
	unserved []unservedStop
	stops    int
}

type plannedRoute struct {
	vehicleTypeID               int64
	weightG, volumeML, distance int64
	departure, ret              time.Time
	costFen                     int64
	stops                       []plannedStop
}

type plannedStop struct {
	pointID                  int64
	arrival, start, departed time.Time
	windowStart, windowEnd   time.Time
	weightG, volumeML, bags  int64
}

type unservedStop struct {
	pointID int64
	cause   routing.Cause
	reason  string
}

// StopDemand is what one pickup point receives: its place and its bags.
type StopDemand struct {
	PointID  int64   `db:"pickup_point_id"`
	Lat      float64 `db:"lat"`
	Lng      float64 `db:"lng"`
	WeightG  int64   `db:"weight_g"`
	VolumeML int64   `db:"volume_ml"`
	Bags     int64   `db:"bags"`
	// The point's receiving hours (local); zero: whenever the warehouse delivers.
	ReceivingFrom  clock.TimeOfDay `db:"receiving_from"`
	ReceivingUntil clock.TimeOfDay `db:"receiving_until"`
	// Whether some of its bags are chilled or frozen.
	Chilled bool `db:"chilled"`
	Frozen  bool `db:"frozen"`
}

// Options tune the planner.
type Options struct {
	Budget      time.Duration // the routing engine's time limit (default 60 s)
	Threads     int           // search threads (default 2)
	ServiceTime time.Duration // time at each pickup point (default 5 min)
	// FullBudget keeps the search going for the whole budget, restarting
	// when it stops improving, instead of ending early.
	FullBudget bool
	// OSRM, when its URL is set, gives road distances and times (kept per
	// wave); else, and while it fails, great-circle distance × 1.3 at 25 km/h.
	OSRM OSRM
}

// Planner solves the routes of waves.
type Planner struct {
	db  *sqlx.DB
	log *slog.Logger
	opt Options
}

// NewPlanner returns a planner that reads fleets from db.
func NewPlanner(db *sqlx.DB, log *slog.Logger, opt Options) *Planner {
	if opt.Budget <= 0 {
		opt.Budget = 60 * time.Second
	}
	if opt.Threads <= 0 {
		opt.Threads = 2
	}
	if opt.ServiceTime <= 0 {
		opt.ServiceTime = 5 * time.Minute
	}
	return &Planner{db: db, log: log, opt: opt}
}

// Request is one wave to plan: its stops, and the seed of the solver (the
// same seed and stops give the same plan).
type Request struct {
	Wave  wave.Wave
	Stops []StopDemand
	Seed  int64
	// Progress hears the seconds of the solver's budget used, of the
	// budget, from the start and every second; nil: nobody.
	Progress func(done, total int64)
	// Solving hears the solver's progress (sectors, stops served, best
	// cost, seconds left) at most once a second; nil: nobody.
	Solving func(wave.RouteProgress)
}

// Plan solves the routes of a wave, outside any transaction: the solver
// runs for its whole time budget.
func (pl *Planner) Plan(ctx context.Context, req Request) (*Plan, error) {
	start := time.Now()
	wv, demand := req.Wave, req.Stops
	// Solver time: the budget less a twentieth kept for reading and writing
	// the plan; the sectors take four fifths of it, a second pass the rest.
	solverEnd := start.Add(pl.opt.Budget * 19 / 20)
	if req.Progress != nil {
		defer tickProgress(ctx, req.Progress, start, solverEnd)()
	}
	wh, err := pickup.GetWarehouse(ctx, pl.db, wv.WarehouseID)
	if err != nil {
		return nil, err
	}
	fleet, err := ListVehicleTypes(ctx, pl.db, wh.ID)
	if err != nil {
		return nil, err
	}
	if len(fleet) == 0 {
		return nil, fmt.Errorf("warehouse %s has no vehicle types: add them with POST /api/v1/ops/warehouses/%d/vehicle-types, then rerun the route stage", wh.Code, wh.ID)
	}
	loc, err := wh.Location()
	if err != nil {
		return nil, err
	}
	day := newDayClock(wv.DeliveryDate.Time, loc)
	at := func(sec float64) time.Time {
		return day.midnight.Add(time.Duration(math.Round(sec)) * time.Second).UTC().Truncate(time.Second)
	}
	p := &routing.Problem{Depot: routing.Depot{Location: routing.Location{Lat: wh.Lat, Lon: wh.Lng}}}
	if pl.opt.OSRM.URL != "" {
		p.Matrix = waveMatrices{db: pl.db, log: pl.log, osrm: pl.opt.OSRM, waveID: wv.ID}
	}
	for _, v := range fleet {
		s, e := day.seconds(v.ShiftStart), day.seconds(v.ShiftEnd)
		perMetre := float64(v.CostPerKmFen) / 1000
		if perMetre == 0 {
			perMetre = 0.001 // still prefer shorter routes
		}
		p.Vehicles = append(p.Vehicles, routing.VehicleType{Name: v.Code, Count: int(v.Count),
			Capacity: routing.Load{v.CapacityG, v.CapacityML}, Shift: routing.TimeWindow{Start: s, End: e},
			FixedCost: float64(v.FixedCostFen), DistanceCost: perMetre, Offers: zones(v.Chilled, v.Frozen),
			MaxDuration: v.MaxRouteMinutes * 60})
	}
	plan := &Plan{stops: len(demand)}
	for _, d := range demand {
		win, closed := day.stopWindow(wh, d)
		if closed != "" {
			plan.unserved = append(plan.unserved, unservedStop{pointID: d.PointID, cause: routing.CauseWindow, reason: closed})
			continue
		}
		p.Stops = append(p.Stops, routing.Stop{ID: routing.IntID(d.PointID), Location: routing.Location{Lat: d.Lat, Lon: d.Lng},
			Demand: routing.Load{d.WeightG, d.VolumeML}, Window: win, Service: int64(pl.opt.ServiceTime / time.Second),
			Requires: zones(d.Chilled, d.Frozen)})
	}
	fleetByCode := make(map[string]VehicleType, len(fleet))
	for _, v := range fleet {
		fleetByCode[v.Code] = v
	}
	byPoint := make(map[int64]StopDemand, len(demand))
	for _, d := range demand {
		byPoint[d.PointID] = d
	}
	firstEnd := start.Add(time.Until(solverEnd) * 4 / 5)
	parts := routing.Sectors(p, maxSectorStops, pl.deliveryAreas(p, wh, fleet))
	var m *meter
	if req.Solving != nil {
		m = newMeter(req.Solving, len(parts), len(p.Stops), solverEnd)
	}
	remaining := len(p.Stops)
	used := map[string]int{}
	var retry []routing.Stop
	for _, sector := range parts {
		// Each sector gets a share of the time left in proportion to its
		// stops, so the budget holds however the sectors fare.
		budget := time.Duration(float64(time.Until(firstEnd)) * float64(len(sector.Stops)) / float64(remaining))
		remaining -= len(sector.Stops)
		sol, err := pl.solvePart(ctx, sector, budget, req.Seed, m.sector())
		if err != nil {
			return nil, err
		}
		m.ended(sol, true)
		plan.add(sector, sol, fleetByCode, byPoint, at, used)
		retry = append(retry, plan.takeRetriable(sector, p.Vehicles)...)
	}
	// Stops a sector had no vehicle left for get one more chance with the
	// vehicles other sectors did not use.
	if len(retry) > 0 {
		rest := *p
		rest.Stops = retry
		rest.Vehicles = nil
		for _, v := range p.Vehicles {
			if v.Count == 0 || v.Count > used[v.Name] {
				if v.Count > 0 {
					v.Count -= used[v.Name]
				}
				rest.Vehicles = append(rest.Vehicles, v)
			}
		}
		sol, err := pl.solvePart(ctx, &rest, time.Until(solverEnd), req.Seed, m.sector())
		if err != nil {
			return nil, err
		}
		m.ended(sol, false)
		plan.add(&rest, sol, fleetByCode, byPoint, at, used)
	}
	return plan, nil
}

// tickProgress reports the whole seconds since start of the solver's time
// up to end: at once, then every second until the returned stop is called.
// (A progress callback from the solver itself would say more.)
func tickProgress(ctx context.Context, progress func(done, total int64), start, end time.Time) (stop func()) {
	total := int64(math.Ceil(end.Sub(start).Seconds()))
	progress(0, total)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-tick.C:
				progress(min(int64(time.Since(start)/time.Second), total), total)
			}
		}
	}()
	return func() { close(done); <-stopped }
}

// deliveryAreas groups the wave's stops into the pickup network's H3
// delivery areas, each within the largest vehicle's capacity, in their sweep
// order around the warehouse: the starting point the route stage cuts its
// sectors from. Nil when they cannot be formed (the sectors then sweep by
// bearing).
func (pl *Planner) deliveryAreas(p *routing.Problem, wh pickup.Warehouse, fleet []VehicleType) [][]int64 {
	var limit geo.Capacity
	for _, v := range fleet {
		limit.WeightG, limit.VolumeML = max(limit.WeightG, v.CapacityG), max(limit.VolumeML, v.CapacityML)
	}
	points := make([]geo.AreaPoint, len(p.Stops))
	for i, s := range p.Stops {
		points[i] = geo.AreaPoint{ID: s.ID.Num, Lat: s.Location.Lat, Lng: s.Location.Lon, WeightG: s.Demand[0], VolumeML: s.Demand[1]}
	}
	areas, err := geo.PartitionAreas(h3.LatLng{Lat: wh.Lat, Lng: wh.Lng}, points, limit, geo.AreaRes)
	if err != nil {
		pl.log.Warn("delivery areas", "warehouse", wh.Code, "err", err)
		return nil
	}
	out := make([][]int64, len(areas))
	for i, a := range areas {
		out[i] = a.PointIDs
	}
	return out
}

// maxSectorStops bounds one solver run: on thousands of stops the search's
// matrices grow to millions of entries and its generations slow to a crawl,
// though its first plan comes within seconds.
const maxSectorStops = 600

// solvePart runs the routing engine on one part of the wave; a part without
// any vehicle leaves all its stops unserved.
func (pl *Planner) solvePart(ctx context.Context, p *routing.Problem, budget time.Duration, seed int64,
	progress func(routing.Progress)) (*routing.Solution, error) {
	if len(p.Vehicles) == 0 {
		sol := &routing.Solution{}
		for i, st := range p.Stops {
			sol.Unserved = append(sol.Unserved, routing.Unserved{Stop: i, ID: st.ID, Cause: routing.CauseFleetFull,
				Reason: "fleet full: the other sectors took every vehicle"})
		}
		return sol, nil
	}
	opt := routing.Options{TimeLimit: max(budget, time.Second), Threads: pl.opt.Threads, Seed: seed, Progress: progress}
	if pl.opt.FullBudget {
		opt.Patience = -1
	}
	return routing.Solve(ctx, p, opt)
}

// add appends a part's solution to the plan, counting vehicles used by type.
func (plan *Plan) add(part *routing.Problem, sol *routing.Solution, fleet map[string]VehicleType, byPoint map[int64]StopDemand,
	at func(float64) time.Time, used map[string]int) {
	for _, r := range sol.Routes {
		name := part.Vehicles[r.VehicleType].Name
		used[name]++
		pr := plannedRoute{vehicleTypeID: fleet[name].ID, distance: int64(math.Round(r.Distance)), departure: at(r.Departure), ret: at(r.Return),
			costFen: int64(math.Round(r.Cost))}
		for _, v := range r.Visits {
			d, win := byPoint[v.ID.Num], part.Stops[v.Stop].Window
			pr.weightG, pr.volumeML = pr.weightG+d.WeightG, pr.volumeML+d.VolumeML
			pr.stops = append(pr.stops, plannedStop{pointID: d.PointID, arrival: at(v.Arrival), start: at(v.Start), departed: at(v.Depart),
				windowStart: at(float64(win.Start)), windowEnd: at(float64(win.End)), weightG: d.WeightG, volumeML: d.VolumeML, bags: d.Bags})
		}
		plan.routes = append(plan.routes, pr)
	}
	for _, u := range sol.Unserved {
		plan.unserved = append(plan.unserved, unservedStop{pointID: u.ID.Num, cause: u.Cause, reason: u.Reason})
	}
}

// takeRetriable removes from the unserved list the stops of a sector that
// were left out for want of a vehicle, or that the sector judged against
// only some of the fleet's types (a sector may have no share of the trucks
// or the refrigerated vans): only the whole fleet tells whether any type
// could carry them, reach them in time or fit them in its shift. It
// returns them for the second pass, which gives the true reason.
func (plan *Plan) takeRetriable(sector *routing.Problem, fleet []routing.VehicleType) []routing.Stop {
	part := byID(sector.Stops)
	partial := len(sector.Vehicles) < len(fleet)
	var out []routing.Stop
	kept := plan.unserved[:0]
	for _, u := range plan.unserved {
		st, ok := part[u.pointID]
		if ok && (u.cause == routing.CauseFleetFull || partial) {
			out = append(out, st)
			continue
		}
		kept = append(kept, u)
	}
	plan.unserved = kept
	return out
}

func byID(stops []routing.Stop) map[int64]routing.Stop {
	m := make(map[int64]routing.Stop, len(stops))
	for _, s := range stops {
		m[s.ID.Num] = s
	}
	return m
}

// Write stores the plan of a wave inside tx, in place of any earlier one,
// and returns the stops it serves of those it was given.
func (plan *Plan) Write(ctx context.Context, tx *sqlx.Tx, waveID int64) (served, stops int64, err error) {
	for _, q := range []string{
		`DELETE FROM route_stops WHERE route_id IN (SELECT id FROM routes WHERE wave_id = $1)`,
		`DELETE FROM routes WHERE wave_id = $1`,
		`DELETE FROM unserved_stops WHERE wave_id = $1`,
	} {
		if _, err := tx.ExecContext(ctx, q, waveID); err != nil {
			return 0, 0, err
		}
	}
	for i, r := range plan.routes {
		var id int64
		if err := tx.GetContext(ctx, &id, `INSERT INTO routes (wave_id, route_no, code, vehicle_type_id, stops, weight_g, volume_ml,
				distance_m, departure_at, return_at, cost_fen) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			waveID, i+1, routeCode(i+1), r.vehicleTypeID, len(r.stops), r.weightG, r.volumeML, r.distance,
			r.departure, r.ret, r.costFen); err != nil {
			return 0, 0, err
		}
		st, err := tx.PrepareContext(ctx, `COPY route_stops (route_id, seq, pickup_point_id, arrival_at, start_at, departure_at,
			weight_g, volume_ml, bags, window_start, window_end) FROM STDIN`)
		if err != nil {
			return 0, 0, err
		}
		for seq, s := range r.stops {
			if _, err := st.ExecContext(ctx, id, seq+1, s.pointID, s.arrival, s.start, s.departed, s.weightG, s.volumeML, s.bags,
				s.windowStart, s.windowEnd); err != nil {
				return 0, 0, err
			}
		}
		if _, err := st.ExecContext(ctx); err != nil {
			return 0, 0, err
		}
		st.Close()
		served += int64(len(r.stops))
	}
	for _, u := range plan.unserved {
		if _, err := tx.ExecContext(ctx, `INSERT INTO unserved_stops (wave_id, pickup_point_id, reason) VALUES ($1, $2, $3)`,
			waveID, u.pointID, u.reason); err != nil {
			return 0, 0, err
		}
	}
	return served, int64(plan.stops), nil
}

// RouteStop is one stop of a planned route.
type RouteStop struct {
	Seq           int       `db:"seq" json:"seq"`
	PickupPointID int64     `db:"pickup_point_id" json:"pickup_point_id"`
	Name          string    `db:"name" json:"name"`
	Lat           float64   `db:"lat" json:"lat"`
	Lng           float64   `db:"lng" json:"lng"`
	ArrivalAt     time.Time `db:"arrival_at" json:"arrival_at"`
	StartAt       time.Time `db:"start_at" json:"start_at"`
	DepartureAt   time.Time `db:"departure_at" json:"departure_at"`
	WeightG       int64     `db:"weight_g" json:"weight_g"`
	VolumeML      int64     `db:"volume_ml" json:"volume_ml"`
	Bags          int64     `db:"bags" json:"bags"`
	// The window the stop was planned in: the warehouse's delivery window
	// within the point's receiving hours (absent on plans made before).
	WindowStart *time.Time `db:"window_start" json:"window_start,omitempty"`
	WindowEnd   *time.Time `db:"window_end" json:"window_end,omitempty"`
}

// PlannedRoute is one vehicle's route of a wave.
type PlannedRoute struct {
	ID          int64       `db:"id" json:"id"`
	RouteNo     int         `db:"route_no" json:"route_no"`
	Code        string      `db:"code" json:"code"`
	VehicleType string      `db:"vehicle_type" json:"vehicle_type"`
	Stops       []RouteStop `db:"-" json:"stops"`
	WeightG     int64       `db:"weight_g" json:"weight_g"`
	VolumeML    int64       `db:"volume_ml" json:"volume_ml"`
	DistanceM   int64       `db:"distance_m" json:"distance_m"`
	DepartureAt time.Time   `db:"departure_at" json:"departure_at"`
	ReturnAt    time.Time   `db:"return_at" json:"return_at"`
	CostFen     int64       `db:"cost_fen" json:"cost_fen"`
}

// UnservedStop is a pickup point the plan could not reach, and why.
type UnservedStop struct {
	PickupPointID int64  `db:"pickup_point_id" json:"pickup_point_id"`
	Name          string `db:"name" json:"name"`
	Reason        string `db:"reason" json:"reason"`
}

// WaveRoutes is a wave's route plan.
type WaveRoutes struct {
	Routes   []PlannedRoute `json:"routes"`
	Unserved []UnservedStop `json:"unserved"`
}

// ListRoutes loads a wave's routes with their stops.
func ListRoutes(ctx context.Context, q sqlx.QueryerContext, waveID int64) (WaveRoutes, error) {
	out := WaveRoutes{Routes: []PlannedRoute{}, Unserved: []UnservedStop{}}
	if err := sqlx.SelectContext(ctx, q, &out.Routes, `SELECT r.id, r.route_no, r.code, v.code AS vehicle_type, r.weight_g, r.volume_ml,
		r.distance_m, r.departure_at, r.return_at, r.cost_fen FROM routes r JOIN vehicle_types v ON v.id = r.vehicle_type_id
		WHERE r.wave_id = $1 ORDER BY r.route_no`, waveID); err != nil {
		return out, err
	}
	var stops []struct {
		RouteID int64 `db:"route_id"`
		RouteStop
	}
	if err := sqlx.SelectContext(ctx, q, &stops, `SELECT s.route_id, s.seq, s.pickup_point_id, p.name, p.lat, p.lng, s.arrival_at,
		s.start_at, s.departure_at, s.weight_g, s.volume_ml, s.bags, s.window_start, s.window_end
		FROM route_stops s JOIN routes r ON r.id = s.route_id JOIN pickup_points p ON p.id = s.pickup_point_id
		WHERE r.wave_id = $1 ORDER BY r.route_no, s.seq`, waveID); err != nil {
		return out, err
	}
	idx := map[int64]int{}
	for i, r := range out.Routes {
		idx[r.ID] = i
		out.Routes[i].Stops = []RouteStop{}
	}
	for _, s := range stops {
		r := &out.Routes[idx[s.RouteID]]
		r.Stops = append(r.Stops, s.RouteStop)
	}
	err := sqlx.SelectContext(ctx, q, &out.Unserved, `SELECT u.pickup_point_id, p.name, u.reason FROM unserved_stops u
		JOIN pickup_points p ON p.id = u.pickup_point_id WHERE u.wave_id = $1 ORDER BY u.pickup_point_id`, waveID)
	return out, err
}
