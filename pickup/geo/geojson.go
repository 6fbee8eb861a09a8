package geo

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"

	"groupbuy/internal/apperr"
)

// GeoJSONGeometry is a GeoJSON geometry (RFC 7946): Point, Polygon or
// MultiPolygon, coordinates as [lng, lat].
type GeoJSONGeometry struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
}

// GeoJSONFeature is a GeoJSON feature with free-form properties.
type GeoJSONFeature struct {
	Type       string          `json:"type"`
	Geometry   GeoJSONGeometry `json:"geometry"`
	Properties map[string]any  `json:"properties"`
}

// GeoJSONFeatureCollection is a GeoJSON feature collection.
type GeoJSONFeatureCollection struct {
	Type     string           `json:"type"`
	Features []GeoJSONFeature `json:"features"`
}

func Geometry(kind string, coords any) GeoJSONGeometry {
	raw, err := json.Marshal(coords)
	if err != nil {
		panic(err) // only slices of float64 are marshalled here
	}
	return GeoJSONGeometry{Type: kind, Coordinates: raw}
}

func ring(loop []h3.LatLng) [][2]float64 {
	out := make([][2]float64, 0, len(loop)+1)
	for _, v := range loop {
		out = append(out, [2]float64{v.Lng, v.Lat})
	}
	if len(loop) > 0 {
		out = append(out, out[0]) // GeoJSON rings are closed
	}
	return out
}

// Outline returns the MultiPolygon outline of cells of one resolution.
func Outline(cells []CellID) (GeoJSONGeometry, error) {
	hs := make([]h3.Cell, len(cells))
	for i, c := range cells {
		hs[i] = c.Cell()
	}
	polys, err := h3.CellsToMultiPolygon(hs)
	if err != nil {
		return GeoJSONGeometry{}, fmt.Errorf("outline of %d cells: %w", len(cells), err)
	}
	coords := make([][][][2]float64, 0, len(polys))
	for _, p := range polys {
		rings := [][][2]float64{ring(p.GeoLoop)}
		for _, h := range p.Holes {
			rings = append(rings, ring(h))
		}
		coords = append(coords, rings)
	}
	return Geometry("MultiPolygon", coords), nil
}

// Hexagon returns a cell's boundary as a GeoJSON Polygon.
func Hexagon(c h3.Cell) (GeoJSONGeometry, error) {
	b, err := h3.CellToBoundary(c)
	if err != nil {
		return GeoJSONGeometry{}, err
	}
	return Geometry("Polygon", [][][2]float64{ring(b)}), nil
}

// PolygonCells fills a GeoJSON Polygon or MultiPolygon with the cells at res
// whose centres it contains (h3 PolygonToCells), sorted and without
// duplicates; field names the request field in errors. The work is bounded
// before any polygon is filled (planPolyfill).
func PolygonCells(field string, g GeoJSONGeometry, res, maxCells int) ([]CellID, error) {
	polys, err := planPolyfill(field, g, res, maxCells)
	if err != nil {
		return nil, err
	}
	seen := map[CellID]bool{}
	for _, gp := range polys {
		cells, err := h3.PolygonToCells(gp, res)
		if err != nil {
			return nil, apperr.InvalidField(field, "cannot fill the polygon with cells: %v", err)
		}
		for _, c := range cells {
			seen[CellID(c)] = true
		}
		if len(seen) > maxCells {
			return nil, apperr.InvalidField(field, "the polygon covers more than %d resolution-%d cells", maxCells, res)
		}
	}
	if len(seen) == 0 {
		return nil, apperr.InvalidField(field, "the polygon contains no resolution-%d cell centre", res)
	}
	return SortedCells(seen), nil
}

// Filling a polygon allocates and walks as many cells as h3 estimates its
// bounding box holds (fillEstimate), testing them against its edges; a
// cell's own arithmetic costs about as much as polyfillEdgeCost edge tests
// (measured with h3 4.x: about 1 µs a cell, 2.4 ns a cell and an edge).
const polyfillEdgeCost = 400

// polyfillVertices is how many vertices the largest polygon allowed may
// have within the work limit.
const polyfillVertices = 1000

// polyfillBoxPerCell is how many cells h3 may estimate for each cell the
// largest allowed area holds: its estimate is about 4 times the cells of a
// square box (2 at 60° of latitude), so an area of maxCells cells fills.
const polyfillBoxPerCell = 20

// planPolyfill reads a Polygon or MultiPolygon and returns the polygons to
// fill: each distinct polygon once (copies fill to the same cells), and only
// if their work together, estimated from bounding boxes and vertices, stays
// within what the largest allowed polygon of polyfillVertices vertices takes
// (about 1.5 s of CPU and 50 MB at maxCells = MaxServiceCells). A request
// beyond it is refused before any polygon is filled.
func planPolyfill(field string, g GeoJSONGeometry, res, maxCells int) ([]h3.GeoPolygon, error) {
	var polys [][][][]float64
	switch g.Type {
	case "Polygon":
		var p [][][]float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil {
			return nil, apperr.InvalidField(field, "Polygon coordinates must be rings of [lng, lat]")
		}
		polys = [][][][]float64{p}
	case "MultiPolygon":
		if err := json.Unmarshal(g.Coordinates, &polys); err != nil {
			return nil, apperr.InvalidField(field, "MultiPolygon coordinates must be polygons of rings of [lng, lat]")
		}
	default:
		return nil, apperr.InvalidField(field, "%s must be a GeoJSON Polygon or MultiPolygon, not %q", field, g.Type)
	}
	cellKm2, err := h3.HexagonAreaAvgKm2(res)
	if err != nil {
		return nil, err
	}
	pentagonKm2, err := pentagonAreaKm2(res)
	if err != nil {
		return nil, err
	}
	maxBox := polyfillBoxPerCell * float64(maxCells)
	maxWork := maxBox * (polyfillEdgeCost + polyfillVertices)
	var out []h3.GeoPolygon
	var work float64
	distinct := map[string]bool{}
	for _, p := range polys {
		key, err := json.Marshal(p)
		if err != nil {
			return nil, err
		}
		if distinct[string(key)] {
			continue
		}
		distinct[string(key)] = true
		gp, vertices, err := geoPolygonOf(field, p)
		if err != nil {
			return nil, err
		}
		box := fillEstimate(gp.GeoLoop, pentagonKm2)
		if box == 0 {
			return nil, apperr.InvalidField(field, "a polygon's positions lie on one line of latitude or longitude: it has no area")
		}
		if box > maxBox {
			return nil, apperr.InvalidField(field, "the polygon's bounding box is too large: it may hold at most about %d resolution-%d cells (%.0f km², in a square box)",
				maxCells, res, float64(maxCells)*cellKm2)
		}
		if work += max(box, 1) * float64(polyfillEdgeCost+vertices); work > maxWork {
			return nil, apperr.InvalidField(field, "%s is too much work to fill: the bounding boxes of its distinct polygons, weighted by their vertices, "+
				"may add up to about %d resolution-%d cells' square box (%.0f km²) at %d vertices", field, maxCells, res, float64(maxCells)*cellKm2, polyfillVertices)
		}
		out = append(out, gp)
	}
	return out, nil
}

// geoPolygonOf reads a polygon's rings, the first its outline, and counts
// their vertices.
func geoPolygonOf(field string, p [][][]float64) (h3.GeoPolygon, int, error) {
	var gp h3.GeoPolygon
	if len(p) == 0 {
		return gp, 0, apperr.InvalidField(field, "a polygon needs an outer ring")
	}
	vertices := 0
	for i, r := range p {
		loop, err := loopOf(field, r)
		if err != nil {
			return gp, 0, err
		}
		vertices += len(loop)
		if i == 0 {
			gp.GeoLoop = loop
		} else {
			gp.Holes = append(gp.Holes, loop)
		}
	}
	return gp, vertices, nil
}

// loopOf reads a ring: closed (RFC 7946), and with no edge over 180° of
// longitude, which h3 would take as crossing the antimeridian and fill the
// other side of the Earth (a polygon crossing it is cut in two, §3.1.9).
func loopOf(field string, r [][]float64) (h3.GeoLoop, error) {
	if len(r) < 4 {
		return nil, apperr.InvalidField(field, "a ring needs at least 4 positions (closed)")
	}
	loop := make(h3.GeoLoop, 0, len(r))
	for i, pos := range r {
		if len(pos) < 2 {
			return nil, apperr.InvalidField(field, "a position is [lng, lat]")
		}
		lng, lat := pos[0], pos[1]
		if math.IsNaN(lat) || lat < -90 || lat > 90 || math.IsNaN(lng) || lng < -180 || lng > 180 {
			return nil, apperr.InvalidField(field, "position [%v, %v] is outside [-180, 180] × [-90, 90]", lng, lat)
		}
		if i > 0 && math.Abs(lng-loop[i-1].Lng) > 180 {
			return nil, apperr.InvalidField(field, "an edge spans more than 180° of longitude: cut a polygon crossing the antimeridian in two")
		}
		loop = append(loop, h3.LatLng{Lat: lat, Lng: lng})
	}
	if loop[0] != loop[len(loop)-1] {
		return nil, apperr.InvalidField(field, "a ring must end at the position it starts at (closed)")
	}
	return loop[:len(loop)-1], nil // h3 loops are implicitly closed
}

// fillEstimate is how many cells h3's polygonToCells allocates for, and may
// walk, filling loop: its own estimate from the bounding box (h3
// bboxHexEstimate), which goes by the box's diagonal, so a thin strip or a
// box reaching towards a pole costs what it costs, not what its area says.
// pentagonKm2 is the area of the resolution's pentagon; 0 is a flat box.
func fillEstimate(loop h3.GeoLoop, pentagonKm2 float64) float64 {
	minLat, maxLat, minLng, maxLng := 90.0, -90.0, 180.0, -180.0
	for _, v := range loop {
		minLat, maxLat = min(minLat, v.Lat), max(maxLat, v.Lat)
		minLng, maxLng = min(minLng, v.Lng), max(maxLng, v.Lng)
	}
	d := h3.GreatCircleDistanceKm(h3.LatLng{Lat: maxLat, Lng: maxLng}, h3.LatLng{Lat: minLat, Lng: minLng})
	long, wide := max(maxLng-minLng, maxLat-minLat), min(maxLng-minLng, maxLat-minLat)
	if wide == 0 {
		return 0 // a flat box, which h3 cannot fill
	}
	return max(float64(len(loop)), math.Ceil(d*d/math.Min(3, long/wide)/pentagonKm2))
}

// pentagonAreaKm2 is the area h3's estimate divides by at res: a regular
// hexagon of the pentagon's radius, less 20 %.
func pentagonAreaKm2(res int) (float64, error) {
	ps, err := h3.Pentagons(res)
	if err != nil {
		return 0, err
	}
	c, err := h3.CellToLatLng(ps[0])
	if err != nil {
		return 0, err
	}
	b, err := h3.CellToBoundary(ps[0])
	if err != nil {
		return 0, err
	}
	r := h3.GreatCircleDistanceKm(c, b[0])
	return 0.8 * 3 * math.Sqrt(3) / 2 * r * r, nil
}

// SortedCells returns the cells of a set, sorted.
func SortedCells(set map[CellID]bool) []CellID {
	return slices.Sorted(maps.Keys(set))
}
