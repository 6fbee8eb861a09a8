package geo

import (
	"errors"
	"strings"
	"testing"

	"groupbuy/internal/apperr"
)

// multiPolygon is a MultiPolygon of n side° squares at (lat, lng), each
// shifted east by shift° more than the one before, with vertices per side.
func multiPolygon(n int, lat, lng, side, shift float64, perSide int) GeoJSONGeometry {
	polys := make([][][][2]float64, n)
	for i := range polys {
		x := lng + float64(i)*shift
		var ring [][2]float64
		for e := range 4 {
			for k := range perSide {
				f := side * float64(k) / float64(perSide)
				ring = append(ring, [][2]float64{{x + f, lat}, {x + side, lat + f}, {x + side - f, lat + side}, {x, lat + side - f}}[e])
			}
		}
		polys[i] = [][][2]float64{append(ring, ring[0])}
	}
	return Geometry("MultiPolygon", polys)
}

// TestPolyfillWorkIsBounded checks the plan that precedes any filling: a
// polygon repeated is filled once, and polygons whose bounding boxes and
// vertices add up to more than the largest allowed polygon are refused
// before any is filled, whatever cells they would cover.
func TestPolyfillWorkIsBounded(t *testing.T) {
	for _, c := range []struct {
		name  string
		g     GeoJSONGeometry
		fills int // 0: refused as too much work
	}{
		{"13,000 copies of a 6° square", multiPolygon(13_000, 25, 112, 6, 0, 1), 1},
		{"30 near copies of a 6° square", multiPolygon(30, 25, 112, 6, 1e-9, 1), 0},
		{"10 near copies of a 6° square", multiPolygon(10, 25, 112, 6, 1e-9, 1), 10},
		{"a 6° square of 8,000 vertices", multiPolygon(1, 25, 112, 6, 0, 2000), 0},
		{"a 0.5° square of 8,000 vertices", multiPolygon(1, 25, 112, 0.5, 0, 2000), 1},
		{"1,500 distinct small squares", multiPolygon(1500, 25, 112, 0.03, 0.04, 1), 1500},
	} {
		polys, err := planPolyfill("geojson", c.g, SearchRes, maxServiceCells)
		if c.fills == 0 {
			var e *apperr.Error
			if !errors.As(err, &e) || e.Field != "geojson" || !strings.Contains(e.Message, "too much work") {
				t.Errorf("%s: %d polygons to fill, err %v; want refused", c.name, len(polys), err)
			}
			continue
		}
		if err != nil || len(polys) != c.fills {
			t.Errorf("%s: %d polygons to fill (%v), want %d", c.name, len(polys), err, c.fills)
		}
	}
	// Filled, the copies give the cells of one.
	one, err := PolygonCells("geojson", multiPolygon(1, 30, 120, 1, 0, 1), SearchRes, maxServiceCells)
	if err != nil {
		t.Fatal(err)
	}
	many, err := PolygonCells("geojson", multiPolygon(5000, 30, 120, 1, 0, 1), SearchRes, maxServiceCells)
	if err != nil || len(many) != len(one) {
		t.Fatalf("5,000 copies: %d cells (%v), one copy %d", len(many), err, len(one))
	}
}

// maxServiceCells is the cap pickup puts on a service area
// (pickup.MaxServiceCells), the size these tests fill at.
const maxServiceCells = 100_000
