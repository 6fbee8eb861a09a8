package pickup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"

	"groupbuy/pickup/geo"
)

func newTestWarehouse(t *testing.T, s *Service, code string, lat, lng float64) Warehouse {
	t.Helper()
	w, err := s.CreateWarehouse(context.Background(), Warehouse{Code: code, Name: "仓 " + code, Lat: lat, Lng: lng,
		TimeZone: "Asia/Shanghai", CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func pointInput(i int, warehouseID int64, lat, lng float64) PointInput {
	return PointInput{Point: Point{Code: fmt.Sprintf("T%04d", i), WarehouseID: warehouseID, Name: fmt.Sprintf("点%d", i),
		Lat: lat, Lng: lng, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)}, LeaderName: fmt.Sprintf("团长%d", i), LeaderPhone: fmt.Sprintf("1390000%04d", i)}
}

// Two processes, one database: a point one adds is found by the other's
// nearby search once its index syncs, within MaxStale.
func TestIndexFollowsOtherProcesses(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	clock := clock.NewManual(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	a, b := NewService(db, clock), NewService(db, clock)
	b.Index().MaxStale = 50 * time.Millisecond
	w := newTestWarehouse(t, a, "W1", 31.2, 121.4)
	q := NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 2000, Limit: 10}
	if got, err := b.Nearby(ctx, q); err != nil || len(got) != 0 {
		t.Fatalf("empty network: %v %v", got, err)
	}
	saved, err := a.SavePoint(ctx, pointInput(1, w.ID, 31.201, 121.401))
	if err != nil {
		t.Fatal(err)
	}
	if saved.Point.Cell == 0 || saved.Point.Cell.Cell().Resolution() != geo.PointRes {
		t.Fatalf("saved point has cell %v", saved.Point.Cell)
	}
	// The writer reads its own write at once.
	if got, err := a.Nearby(ctx, q); err != nil || len(got) != 1 {
		t.Fatalf("writer's own search: %v %v", got, err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		got, err := b.Nearby(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 1 && got[0].ID == saved.Point.ID && got[0].Cell == saved.Point.Cell {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other process never saw the new point: %+v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// A move is followed too: the point leaves the search area.
	if _, err := a.SavePoint(ctx, pointInput(1, w.ID, 31.5, 121.4)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if got, err := b.Nearby(ctx, q); err != nil || len(got) != 0 {
		t.Fatalf("after the move: %+v %v", got, err)
	}
}

// Rows from before migration 00004 have no cells: the index fills them in.
func TestIndexBackfillsCells(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4)
	for i := range 3 {
		if _, err := s.SavePoint(ctx, pointInput(i, w.ID, 31.2+float64(i)*0.001, 121.4)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`UPDATE pickup_points SET h3_r9 = NULL, h3_r8 = NULL, h3_r7 = NULL`); err != nil {
		t.Fatal(err)
	}
	fresh := NewService(db, clock.System{})
	got, err := fresh.Nearby(ctx, NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 1000, Limit: 10})
	if err != nil || len(got) != 3 {
		t.Fatalf("nearby: %v %v", got, err)
	}
	var missing int
	if err := db.Get(&missing, `SELECT count(*) FROM pickup_points WHERE h3_r9 IS NULL OR h3_r8 IS NULL OR h3_r7 IS NULL`); err != nil {
		t.Fatal(err)
	}
	if missing != 0 {
		t.Fatalf("%d points still have no cell", missing)
	}
	p, err := GetPoint(ctx, db, got[0].ID)
	if err != nil || p.Cell == 0 {
		t.Fatalf("point after backfill: %+v %v", p, err)
	}
}

func TestServiceAreas(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	west := newTestWarehouse(t, s, "WEST", 31.2, 121.3)
	east := newTestWarehouse(t, s, "EAST", 31.2, 121.6)
	// No service area anywhere: the named warehouse serves, as before.
	if _, err := s.SavePoint(ctx, pointInput(1, east.ID, 31.2, 121.0)); err != nil {
		t.Fatalf("before service areas: %v", err)
	}
	var e *apperr.Error
	if _, err := s.SavePoint(ctx, pointInput(2, 0, 31.2, 121.4)); !errors.As(err, &e) || e.Field != "warehouse_id" {
		t.Fatalf("no warehouse and no areas: %v", err)
	}
	// West serves 121.2-121.5, east 121.4-121.7: they overlap in 121.4-121.5.
	box := func(lng0, lng1 float64) geo.GeoJSONGeometry {
		return geo.Geometry("Polygon", [][][2]float64{{{lng0, 31.1}, {lng1, 31.1}, {lng1, 31.3}, {lng0, 31.3}, {lng0, 31.1}}})
	}
	for _, c := range []struct {
		w          Warehouse
		lng0, lng1 float64
	}{{west, 121.2, 121.5}, {east, 121.4, 121.7}} {
		cells, err := geo.PolygonCells("geojson", box(c.lng0, c.lng1), geo.SearchRes, MaxServiceCells)
		if err != nil {
			t.Fatal(err)
		}
		sa, err := s.SetServiceArea(ctx, c.w.ID, cells)
		if err != nil {
			t.Fatal(err)
		}
		if len(sa.Cells) != len(cells) || sa.Outline.Type != "MultiPolygon" || sa.Resolution != geo.SearchRes {
			t.Fatalf("service area: %d cells, outline %s", len(sa.Cells), sa.Outline.Type)
		}
	}
	cases := []struct {
		name     string
		lng      float64
		named    int64
		want     int64
		wantCode string
	}{
		{"west only, unnamed", 121.25, 0, west.ID, ""},
		{"overlap near west", 121.43, 0, west.ID, ""},
		{"overlap near east", 121.47, 0, east.ID, ""},
		{"overlap, east named", 121.43, east.ID, east.ID, ""},
		{"west only, east named", 121.25, east.ID, 0, "warehouse_does_not_serve"},
		{"outside every area", 122.5, 0, 0, "outside_service_area"},
		{"outside, named", 122.5, west.ID, 0, "outside_service_area"},
	}
	for i, c := range cases {
		got, err := s.SavePoint(ctx, pointInput(10+i, c.named, 31.2, c.lng))
		if c.wantCode != "" {
			if !errors.As(err, &e) || e.Code != c.wantCode || e.Kind != apperr.Unprocessable {
				t.Errorf("%s: got %v, want %s", c.name, err, c.wantCode)
			}
			continue
		}
		if err != nil || got.Point.WarehouseID != c.want {
			t.Errorf("%s: warehouse %d, err %v; want %d", c.name, got.Point.WarehouseID, err, c.want)
		}
	}
	// CSV: the bad row is named by its line and nothing is stored.
	csv := strings.Join([]string{strings.Join(PointCSVColumns, ","),
		"C1,,点一,,31.2,121.25,08:00,21:00,甲,13700000001",
		"C2,,点二,,31.2,122.5,08:00,21:00,乙,13700000002"}, "\n")
	_, err := s.ImportPoints(ctx, strings.NewReader(csv))
	if !errors.As(err, &e) || e.Code != "outside_service_area" || e.Details["line"] != 3 || !strings.Contains(e.Message, "line 3") {
		t.Fatalf("CSV with a point outside: %v (%+v)", err, e)
	}
	if _, err := GetPointByCode(ctx, db, "C1"); !errors.Is(err, ErrPointNotFound) {
		t.Fatalf("the import stored line 2: %v", err)
	}
	// Clearing both areas returns to named warehouses.
	for _, w := range []Warehouse{west, east} {
		if _, err := s.SetServiceArea(ctx, w.ID, nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.SavePoint(ctx, pointInput(99, west.ID, 31.2, 122.5)); err != nil {
		t.Fatalf("after clearing the areas: %v", err)
	}
}

func TestServiceCellsOf(t *testing.T) {
	parent := h3.CellFromString("861f1d48fffffff")
	children, err := parent.Children(geo.SearchRes)
	if err != nil {
		t.Fatal(err)
	}
	cells, err := ServiceCellsOf("cells", []string{parent.String(), children[3].String()})
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 7 { // a resolution-6 cell has 7 children; the other is one of them
		t.Fatalf("got %d cells", len(cells))
	}
	var e *apperr.Error
	for _, bad := range [][]string{{"nonsense"}, {"891f1d48003ffff"}, {"801ffffffffffff"}} {
		if _, err := ServiceCellsOf("cells", bad); !errors.As(err, &e) || e.Field != "cells" {
			t.Errorf("%v: got %v", bad, err)
		}
	}
}

// Searches run concurrently with syncs and writes (run with -race).
func TestIndexConcurrentSearches(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	s.Index().MaxStale = time.Millisecond
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4)
	done := make(chan error, 4)
	for range 4 {
		go func() {
			for range 40 {
				if _, err := s.Nearby(ctx, NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 5000, Limit: 20}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for i := range 10 {
		if _, err := s.SavePoint(ctx, pointInput(i, w.ID, 31.2+float64(i)*0.001, 121.4)); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Nearby(ctx, NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 5000, Limit: 20})
	if err != nil || len(got) != 10 {
		t.Fatalf("after the writes: %d points, %v", len(got), err)
	}
}

// TestServiceAreaSetTwiceAtOnceIsOneOfThem: two areas set for one warehouse
// at the same moment leave one of them, whole, never the union of both
// (each replaces the cells: delete, then insert).
func TestServiceAreaSetTwiceAtOnceIsOneOfThem(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := NewService(db, clock.System{})
	w := newTestWarehouse(t, s, "TWICE", 31.2, 121.4)
	area := func(lng0, lng1 float64) []geo.CellID {
		cells, err := geo.PolygonCells("geojson", geo.Geometry("Polygon", [][][2]float64{{{lng0, 31.1}, {lng1, 31.1}, {lng1, 31.3}, {lng0, 31.3}, {lng0, 31.1}}}),
			geo.SearchRes, MaxServiceCells)
		if err != nil {
			t.Fatal(err)
		}
		return cells
	}
	west, east := area(121.2, 121.3), area(121.5, 121.6)
	for round := range 20 {
		var wg sync.WaitGroup
		for _, cells := range [][]geo.CellID{west, east, west, east} {
			wg.Go(func() {
				if _, err := s.SetServiceArea(ctx, w.ID, cells); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		got, err := serviceCells(ctx, db, w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != len(west) && len(got) != len(east) {
			t.Fatalf("round %d: %d cells stored, want %d (west) or %d (east)", round, len(got), len(west), len(east))
		}
	}
}

// TestASyncUnderwayDoesNotHideTheWritersPoint: another request's sync took
// its snapshot before a point's save committed and ends after the saver's
// Invalidate; the saver's next search still finds its point, rather than
// an index marked fresh from the older snapshot.
func TestASyncUnderwayDoesNotHideTheWritersPoint(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	clk := clock.NewManual(time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC))
	s := NewService(db, clk)
	s.Index().MaxStale = time.Hour // no poll rescues it: only the invalidation can
	w := newTestWarehouse(t, s, "W1", 31.2, 121.4)
	q := NearbyQuery{Lat: 31.2, Lng: 121.4, RadiusM: 2000, Limit: 10}
	if _, err := s.Nearby(ctx, q); err != nil {
		t.Fatal(err)
	}
	tx := db.MustBeginTx(ctx, nil)
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE pickup_points IN ACCESS EXCLUSIVE MODE`); err != nil {
		t.Fatal(err)
	}
	if _, err := savePoint(ctx, tx, pointInput(1, w.ID, 31.201, 121.401), clk.Now()); err != nil {
		t.Fatal(err)
	}
	s.Index().Invalidate()
	done := make(chan error)
	go func() { done <- s.Index().Sync(ctx, false) }() // another request's search, held by the lock
	for i := 0; ; i++ {
		var waiting int
		if err := db.Get(&waiting, `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if i > 250 {
			t.Fatal("the other sync never waited for the save")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	s.Index().Invalidate() // as SavePoint does after its commit
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, err := s.Nearby(ctx, q); err != nil || len(got) != 1 {
		t.Fatalf("the saver's search after its commit: %d points (%v)", len(got), err)
	}
}

// TestAPointInsideAServedCellIsServed: (31.21, 121.4545) lies in a
// resolution-7 cell that is not the parent of its resolution-9 cell (H3 is
// not exactly nested). A service area of that cell serves it, named or not.
func TestAPointInsideAServedCellIsServed(t *testing.T) {
	ctx := context.Background()
	s := NewService(testenv.DB(t), clock.System{})
	w := newTestWarehouse(t, s, "W1", 31.23, 121.47)
	lat, lng := 31.21, 121.4545
	in, err := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, geo.SearchRes)
	if err != nil {
		t.Fatal(err)
	}
	fine, _ := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, geo.PointRes)
	if parent, _ := fine.Parent(geo.SearchRes); parent == in {
		t.Fatal("the location lies in its finest cell's parent: it tests nothing")
	}
	if _, err := s.SetServiceArea(ctx, w.ID, []geo.CellID{geo.CellID(in)}); err != nil {
		t.Fatal(err)
	}
	for i, wh := range []int64{w.ID, 0} {
		if p, err := s.SavePoint(ctx, pointInput(i+1, wh, lat, lng)); err != nil || p.Point.WarehouseID != w.ID {
			t.Errorf("a point inside the served cell %s, warehouse %d named: %+v %v", in, wh, p, err)
		}
	}
}
