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

// TestPolyfillPlanGoesByWhatH3Allocates: h3 allocates and walks the cells
// it estimates from a box's diagonal, so a box reaching towards a pole, or
// a thin strip of no area, is refused before it is filled (each cost
// seconds and hundreds of MB, for a request of a hundred bytes), while the
// largest allowed area still fills.
func TestPolyfillPlanGoesByWhatH3Allocates(t *testing.T) {
	square := func(lat0, lng0, lat1, lng1 float64) GeoJSONGeometry {
		return Geometry("Polygon", [][][2]float64{{{lng0, lat0}, {lng1, lat0}, {lng1, lat1}, {lng0, lat1}, {lng0, lat0}}})
	}
	strips := func(n int) GeoJSONGeometry {
		polys := make([][][][2]float64, n)
		for i := range polys {
			lat := float64(i) * 1e-6
			polys[i] = [][][2]float64{{{0, lat}, {179, lat}, {179, lat + 1e-9}, {0, lat + 1e-9}, {0, lat}}}
		}
		return Geometry("MultiPolygon", polys)
	}
	for name, g := range map[string]GeoJSONGeometry{
		"0..85° × 20°":         square(0, 0, 85, 20),
		"pole to pole × 10°":   square(-89.99, 0, 89.99, 10),
		"a strip 179° × 1e-9°": strips(1),
		"2 such strips":        strips(2),
	} {
		polys, err := planPolyfill("geojson", g, SearchRes, maxServiceCells)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Field != "geojson" {
			t.Errorf("%s: planned %d polygons for filling (%v)", name, len(polys), err)
		}
	}
	// A square of the 100,000 cells allowed (6.2° at 30°N) fills; one of
	// ten times that is refused before filling.
	if cells, err := PolygonCells("geojson", square(30, 120, 36.2, 126.2), SearchRes, 2*maxServiceCells); err != nil || len(cells) < maxServiceCells {
		t.Errorf("the largest allowed square: %d cells (%v)", len(cells), err)
	}
	if _, err := planPolyfill("geojson", square(30, 110, 50, 130), SearchRes, maxServiceCells); err == nil {
		t.Error("a square of ten times the allowed cells is planned for filling")
	}
}

// TestRingsAreClosedAndDoNotWrap: an unclosed ring is refused, not filled
// without its last corner; an edge over 180° of longitude is refused, not
// filled on the other side of the Earth as h3 would (RFC 7946 cuts a
// polygon crossing the antimeridian in two).
func TestRingsAreClosedAndDoNotWrap(t *testing.T) {
	for name, ring := range map[string][][2]float64{
		"unclosed":   {{121.2, 31.1}, {121.5, 31.1}, {121.5, 31.4}, {121.2, 31.4}},
		"over 180°":  {{-91, 0}, {91, 0}, {91, 0.05}, {-91, 0.05}, {-91, 0}},
		"flat":       {{121.2, 31.1}, {121.5, 31.1}, {121.3, 31.1}, {121.2, 31.1}},
		"one corner": {{121.2, 31.1}, {121.2, 31.1}, {121.2, 31.1}, {121.2, 31.1}},
	} {
		cells, err := PolygonCells("geojson", Geometry("Polygon", [][][2]float64{ring}), SearchRes, maxServiceCells)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Field != "geojson" {
			t.Errorf("%s ring: %d cells (%v), want refused", name, len(cells), err)
		}
	}
}
