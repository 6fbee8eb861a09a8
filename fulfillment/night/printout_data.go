package night

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/pickup"
)

// night is what a wave's printouts are drawn from: the warehouse, its
// pickup points with their leaders, and (once routed) the routes and bags.
type night struct {
	wave   wave.Wave
	hdr    printout.Header
	loc    *time.Location
	depot  printout.Place
	routes []routeplan.PlannedRoute
	points map[int64]pickup.Point
	people map[int64]pickup.Leader // by leader id
}

func loadNight(ctx context.Context, q sqlx.QueryerContext, w wave.Wave, at time.Time) (*night, error) {
	wh, err := pickup.GetWarehouse(ctx, q, w.WarehouseID)
	if err != nil {
		return nil, err
	}
	loc, err := wh.Location()
	if err != nil {
		return nil, err
	}
	return &night{wave: w, loc: loc,
		hdr:   printout.Header{Warehouse: wh.Name, Date: w.DeliveryDate.String(), WaveID: w.ID, PrintedAt: at.In(loc)},
		depot: printout.Place{Name: wh.Name, Address: wh.Address, Lat: wh.Lat, Lng: wh.Lng},
	}, nil
}

// pickSheets returns one pick list per zone that has lines (only zone's when
// given, even if empty).
func (n *night) pickSheets(ctx context.Context, q sqlx.QueryerContext, zone fulfillment.Zone) ([]printout.PickSheet, error) {
	lines, err := PickList(ctx, q, n.wave.ID, zone)
	if err != nil {
		return nil, err
	}
	var out []printout.PickSheet
	if zone != "" {
		out = append(out, printout.PickSheet{Header: n.hdr, Zone: string(zone)})
	}
	for _, l := range lines {
		if len(out) == 0 || out[len(out)-1].Zone != string(l.Zone) {
			out = append(out, printout.PickSheet{Header: n.hdr, Zone: string(l.Zone)})
		}
		s := &out[len(out)-1]
		s.Lines = append(s.Lines, printout.PickLine{Bin: l.Bin, SKU: l.SKU, Name: l.Name, Unit: l.Unit, Quantity: l.Quantity})
	}
	return out, nil
}

// loadRoutes loads the routes (one when route is a code) and the points
// with bags in the wave or stops on its routes, with their leaders: by id,
// since a point may have moved to another warehouse since.
func (n *night) loadRoutes(ctx context.Context, q sqlx.QueryerContext, route string) error {
	all, err := routeplan.ListRoutes(ctx, q, n.wave.ID)
	if err != nil {
		return err
	}
	n.routes = all.Routes
	if route != "" {
		n.routes = nil
		for _, r := range all.Routes {
			if r.Code == route {
				n.routes = append(n.routes, r)
			}
		}
		if len(n.routes) == 0 {
			return routeplan.ErrRouteNotFound
		}
	}
	var pointIDs []int64
	if err := sqlx.SelectContext(ctx, q, &pointIDs, `SELECT DISTINCT pickup_point_id FROM bags WHERE wave_id = $1`, n.wave.ID); err != nil {
		return err
	}
	for _, r := range all.Routes {
		for _, st := range r.Stops {
			pointIDs = append(pointIDs, st.PickupPointID)
		}
	}
	points, err := pickup.PointsByID(ctx, q, pointIDs)
	if err != nil {
		return err
	}
	n.points = make(map[int64]pickup.Point, len(points))
	ids := make([]int64, 0, len(points))
	for _, p := range points {
		n.points[p.ID] = p
		ids = append(ids, p.LeaderID)
	}
	sites, err := pickup.LeaderSites(ctx, q, ids)
	if err != nil {
		return err
	}
	n.people = make(map[int64]pickup.Leader, len(sites))
	for id, s := range sites {
		n.people[id] = s.Leader
	}
	return nil
}

func (n *night) leader(pointID int64) pickup.Leader { return n.people[n.points[pointID].LeaderID] }

// routeSheets builds the driver sheets of the loaded routes.
func (n *night) routeSheets() []printout.RouteSheet {
	out := make([]printout.RouteSheet, 0, len(n.routes))
	for _, r := range n.routes {
		s := printout.RouteSheet{Header: n.hdr, Route: r.Code, Vehicle: r.VehicleType, Departure: r.DepartureAt.In(n.loc),
			Return: r.ReturnAt.In(n.loc), DistanceM: r.DistanceM, Depot: n.depot}
		for _, st := range r.Stops {
			p, l := n.points[st.PickupPointID], n.leader(st.PickupPointID)
			s.Stops = append(s.Stops, printout.RouteStop{Seq: st.Seq, Place: printout.Place{Name: p.Name, Address: p.Address, Lat: st.Lat, Lng: st.Lng},
				Leader: l.Name, Phone: l.Phone, Arrival: st.ArrivalAt.In(n.loc), Departure: st.DepartureAt.In(n.loc), Bags: st.Bags, WeightG: st.WeightG})
			if st.WindowStart != nil {
				last := &s.Stops[len(s.Stops)-1]
				last.WindowStart, last.WindowEnd = st.WindowStart.In(n.loc), st.WindowEnd.In(n.loc)
			}
		}
		out = append(out, s)
	}
	return out
}

// sortSheets builds the sorting sheets of the loaded routes: per route, each
// SKU (of scope's zone, when given) in walking order with its quantity per
// stop in stop order. The whole wave's sheets end with one of the points no
// route serves (route "", stops numbered by point), whose bags are picked
// and labelled like the rest.
func (n *night) sortSheets(ctx context.Context, q sqlx.QueryerContext, scope PrintScope) ([]printout.SortSheet, error) {
	var rows []struct {
		Route    string `db:"code"`
		Seq      int    `db:"seq"`
		PointID  int64  `db:"pickup_point_id"`
		Zone     string `db:"zone"`
		SKU      string `db:"sku"`
		Name     string `db:"name"`
		Unit     string `db:"unit"`
		Quantity int64  `db:"quantity"`
	}
	if err := sqlx.SelectContext(ctx, q, &rows, `SELECT coalesce(r.code, '') AS code, coalesce(rs.seq, 0) AS seq, s.pickup_point_id,
			s.zone, p.sku, p.name, p.unit, s.quantity
		FROM sort_line_skus s JOIN sale_items si ON si.id = s.sale_item_id JOIN products p ON p.id = si.product_id
		LEFT JOIN (route_stops rs JOIN routes r ON r.id = rs.route_id AND r.wave_id = $1) ON rs.pickup_point_id = s.pickup_point_id
		WHERE s.wave_id = $1 AND ($2 = '' OR r.code = $2) AND ($3 = '' OR s.zone = $3)
		ORDER BY r.route_no NULLS LAST, s.zone, p.bin, p.sku, rs.seq, s.pickup_point_id`, n.wave.ID, scope.Route, scope.Zone); err != nil {
		return nil, err
	}
	sheet := func(code string) printout.SortSheet { return printout.SortSheet{Header: n.hdr, Route: code} }
	stop := func(seq int, pointID int64) printout.SortStop {
		return printout.SortStop{Seq: seq, Point: n.points[pointID].Name, Leader: n.leader(pointID).Name}
	}
	byCode := map[string]*printout.SortSheet{}
	out := make([]printout.SortSheet, len(n.routes), len(n.routes)+1)
	for i, r := range n.routes {
		out[i] = sheet(r.Code)
		for _, st := range r.Stops {
			out[i].Stops = append(out[i].Stops, stop(st.Seq, st.PickupPointID))
		}
		byCode[r.Code] = &out[i]
	}
	unrouted := map[int64]int{} // seq of each point no route serves
	for _, r := range rows {
		if r.Route == "" {
			unrouted[r.PointID] = 0
		}
	}
	if len(unrouted) > 0 {
		out = append(out, sheet(""))
		s := &out[len(out)-1]
		for i, id := range slices.Sorted(maps.Keys(unrouted)) {
			unrouted[id] = i + 1
			s.Stops = append(s.Stops, stop(i+1, id))
		}
		byCode[""] = s
	}
	for _, r := range rows {
		s := byCode[r.Route]
		if s == nil {
			continue
		}
		if r.Route == "" {
			r.Seq = unrouted[r.PointID]
		}
		if k := len(s.Items); k == 0 || s.Items[k-1].SKU != r.SKU || s.Items[k-1].Zone != r.Zone {
			s.Items = append(s.Items, printout.SortItem{Zone: r.Zone, SKU: r.SKU, Name: r.Name, Unit: r.Unit})
		}
		it := &s.Items[len(s.Items)-1]
		it.Drops = append(it.Drops, printout.SortDrop{Seq: r.Seq, Quantity: r.Quantity})
	}
	return out, nil
}

// labels builds one label per bag, in route, stop and zone order; bags of
// points no route serves come last, without a route, so none goes missing.
// A zone in scope keeps that zone's labels, numbered as among all the
// point's bags ("bag 2 of 3"), so they match the whole wave's labels.
func (n *night) labels(ctx context.Context, q sqlx.QueryerContext, scope PrintScope) ([]printout.Label, error) {
	var bags []struct {
		ID      int64  `db:"id"`
		PointID int64  `db:"pickup_point_id"`
		Zone    string `db:"zone"`
		Units   int64  `db:"units"`
		SKUs    int64  `db:"skus"`
		WeightG int64  `db:"weight_g"`
	}
	if err := sqlx.SelectContext(ctx, q, &bags, `SELECT id, pickup_point_id, zone, units, skus, weight_g FROM bags
		WHERE wave_id = $1 ORDER BY pickup_point_id, zone`, n.wave.ID); err != nil {
		return nil, err
	}
	byPoint := map[int64][]int{}
	for i, b := range bags {
		byPoint[b.PointID] = append(byPoint[b.PointID], i)
	}
	var out []printout.Label
	add := func(code string, seq int, pointID int64) {
		idx := byPoint[pointID]
		delete(byPoint, pointID)
		p, l := n.points[pointID], n.leader(pointID)
		for k, i := range idx {
			b := bags[i]
			if scope.Zone != "" && fulfillment.Zone(b.Zone) != scope.Zone {
				continue
			}
			out = append(out, printout.Label{BagRef: printout.BagRef{WaveID: n.wave.ID, BagID: b.ID, Route: code, Stop: seq, Zone: b.Zone},
				Date: n.hdr.Date, Warehouse: n.hdr.Warehouse, Point: p.Name, Leader: l.Name, Phone: l.Phone,
				Units: b.Units, SKUs: b.SKUs, WeightG: b.WeightG, BagNo: k + 1, Bags: len(idx)})
		}
	}
	for _, r := range n.routes {
		for _, st := range r.Stops {
			add(r.Code, st.Seq, st.PickupPointID)
		}
	}
	if scope.Route == "" {
		for _, b := range bags {
			if _, left := byPoint[b.PointID]; left {
				add("", 0, b.PointID)
			}
		}
	}
	return out, nil
}
