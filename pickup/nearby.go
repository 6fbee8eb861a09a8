package pickup

import (
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"

	"groupbuy/internal/apperr"

	"groupbuy/pickup/geo"
)

// Nearby search limits.
const (
	MaxNearbyRadiusM     = 50_000
	DefaultNearbyRadiusM = 3_000
	MaxNearbyLimit       = 100
	DefaultNearbyLimit   = 10
)

// NearbyQuery asks for the pickup points within RadiusM metres of a location,
// nearest first, at most Limit of them.
type NearbyQuery struct {
	Lat, Lng float64
	RadiusM  float64
	Limit    int
}

// Validate checks the query's bounds, naming the offending request field.
func (q NearbyQuery) Validate() error {
	if err := checkLatLng("", q.Lat, q.Lng); err != nil {
		return err
	}
	if math.IsNaN(q.RadiusM) || q.RadiusM <= 0 || q.RadiusM > MaxNearbyRadiusM {
		return apperr.InvalidField("radius_m", "radius_m must be more than 0 and at most %d metres", MaxNearbyRadiusM)
	}
	if q.Limit < 1 || q.Limit > MaxNearbyLimit {
		return apperr.InvalidField("limit", "limit must be between 1 and %d", MaxNearbyLimit)
	}
	return nil
}

// NearbyPoint is a pickup point with its great-circle distance from the query.
type NearbyPoint struct {
	Point
	DistanceM float64 `json:"distance_m"`
}

// indexedPoint is a point with its position on the unit sphere.
type indexedPoint struct {
	Point
	u geo.UnitVector
}

// cellGeometry bounds where a cell's points can be: every point of the cell is
// within RadiusM of Centre.
type cellGeometry struct {
	Centre  h3.LatLng
	RadiusM float64
}

// geometryOf computes a cell's centre and circumradius. H3 cell edges are
// great-circle arcs (gnomonic projections of straight lines), so the cell lies
// inside the spherical cap through its farthest boundary vertex; the 1% + 1 m
// margin covers the distortion vertices of cells crossing an icosahedron
// face edge and floating-point rounding.
func geometryOf(c h3.Cell) (cellGeometry, error) {
	centre, err := h3.CellToLatLng(c)
	if err != nil {
		return cellGeometry{}, err
	}
	b, err := h3.CellToBoundary(c)
	if err != nil {
		return cellGeometry{}, err
	}
	var r float64
	for _, v := range b {
		r = max(r, geo.DistanceM(centre.Lat, centre.Lng, v.Lat, v.Lng))
	}
	return cellGeometry{Centre: centre, RadiusM: r*1.01 + 1}, nil
}

// searchCell is one resolution-geo.SearchRes cell of a pointSet: its geometry and
// its points by id. Cells next to occupied ones are kept with no points so a
// search rarely computes geometry.
type searchCell struct {
	geo    cellGeometry
	points []indexedPoint
}

// geometryRing is how far around each occupied cell a pointSet keeps geometry.
const geometryRing = 3

// pointSet is an immutable snapshot of the pickup points bucketed by their
// geo.SearchRes cell. Updates build a new set sharing the unchanged cells.
type pointSet struct {
	cells map[h3.Cell]*searchCell
	cell  map[int64]h3.Cell // point id → its cell
	n     int
}

// newPointSet indexes points.
func newPointSet(points []Point) (*pointSet, error) {
	s := &pointSet{cells: map[h3.Cell]*searchCell{}, cell: map[int64]h3.Cell{}}
	return s.with(points, nil)
}

// with returns a copy of s with the points upserted and the ids removed.
func (s *pointSet) with(upserts []Point, removed []int64) (*pointSet, error) {
	out := &pointSet{cells: make(map[h3.Cell]*searchCell, len(s.cells)), cell: make(map[int64]h3.Cell, len(s.cell)+len(upserts))}
	for c, sc := range s.cells {
		out.cells[c] = sc
	}
	for id, c := range s.cell {
		out.cell[id] = c
	}
	touched := map[h3.Cell]bool{}
	drop := map[int64]bool{}
	for _, id := range removed {
		drop[id] = true
	}
	for _, p := range upserts {
		drop[p.ID] = true
	}
	for id := range drop {
		if c, ok := out.cell[id]; ok {
			touched[c] = true
			delete(out.cell, id)
		}
	}
	added := map[h3.Cell][]indexedPoint{}
	for _, p := range upserts {
		c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, geo.SearchRes)
		if err != nil {
			return nil, fmt.Errorf("index point %d: %w", p.ID, err)
		}
		out.cell[p.ID] = c
		touched[c] = true
		added[c] = append(added[c], indexedPoint{Point: p, u: geo.UnitOf(p.Lat, p.Lng)})
	}
	for c := range touched {
		old := out.cells[c]
		sc := &searchCell{}
		if old != nil {
			sc.geo = old.geo
			for _, p := range old.points {
				if !drop[p.ID] {
					sc.points = append(sc.points, p)
				}
			}
		} else {
			g, err := geometryOf(c)
			if err != nil {
				return nil, err
			}
			sc.geo = g
		}
		sc.points = append(sc.points, added[c]...)
		slices.SortFunc(sc.points, func(a, b indexedPoint) int { return int(a.ID - b.ID) })
		out.cells[c] = sc
		if len(added[c]) > 0 {
			if err := out.addGeometryAround(c); err != nil {
				return nil, err
			}
		}
	}
	out.n = len(out.cell)
	return out, nil
}

func (s *pointSet) addGeometryAround(c h3.Cell) error {
	disk, err := h3.GridDisk(c, geometryRing)
	if err != nil {
		return err
	}
	for _, n := range disk {
		if n == 0 || s.cells[n] != nil {
			continue
		}
		g, err := geometryOf(n)
		if err != nil {
			return err
		}
		s.cells[n] = &searchCell{geo: g}
	}
	return nil
}

// geometry returns a cell's bounds, from the set when it has them.
func (s *pointSet) geometry(c h3.Cell) (cellGeometry, *searchCell, error) {
	if sc := s.cells[c]; sc != nil {
		return sc.geo, sc, nil
	}
	g, err := geometryOf(c)
	return g, nil, err
}

// boundSlack absorbs rounding when a lower bound on distance is compared with
// a radius: a cell is skipped only when it is clearly beyond it.
const boundSlack = 0.01 // metres

// candidate is a point within the (widened) radius and its squared chord
// from the query, which orders points as their great-circle distance does.
// It holds no pointer, so sorting candidates costs no GC write barriers.
type candidate struct {
	c2   float64
	cell int32 // index into the query's visited cells
	i    int32 // index into that cell's points
}

// nearby searches the set ring by ring around the query's cell. A point within
// the radius lies in a cell at some grid distance k; the great-circle path to
// it crosses every ring before k, so once every cell of a ring is farther than
// the radius (centre distance minus circumradius), no later ring can hold a
// point inside it. With Limit candidates in hand the radius shrinks to the
// Limit-th one. Candidates are ranked by chord, then the exact haversine
// distance decides, distance ≤ radius, ranked by (distance, id): the same
// rule as the brute-force scan.
func (s *pointSet) nearby(q NearbyQuery) ([]NearbyPoint, error) {
	if s.n == 0 {
		return []NearbyPoint{}, nil
	}
	origin, err := h3.LatLngToCell(h3.LatLng{Lat: q.Lat, Lng: q.Lng}, geo.SearchRes)
	if err != nil {
		return nil, err
	}
	qu := geo.UnitOf(q.Lat, q.Lng)
	within := geo.Chord2Within(q.RadiusM)
	bound := q.RadiusM
	cands := make([]candidate, 0, 64)
	visited := make([]*searchCell, 0, 32)
	for k := 0; ; k++ {
		ring, err := h3.GridRing(origin, k)
		if err != nil {
			return nil, fmt.Errorf("nearby ring %d: %w", k, err)
		}
		ringMin := math.Inf(1)
		for _, c := range ring {
			if c == 0 {
				continue
			}
			g, sc, err := s.geometry(c)
			if err != nil {
				return nil, err
			}
			lb := geo.DistanceM(q.Lat, q.Lng, g.Centre.Lat, g.Centre.Lng) - g.RadiusM
			ringMin = min(ringMin, lb)
			if sc == nil || lb > bound+boundSlack {
				continue
			}
			slot := int32(len(visited))
			visited = append(visited, sc)
			for i := range sc.points {
				if c2 := qu.Chord2(sc.points[i].u); c2 <= within {
					cands = append(cands, candidate{c2, slot, int32(i)})
				}
			}
		}
		if len(cands) >= q.Limit {
			cands = nearest(cands, q.Limit)
			bound = min(bound, chordToM(cands[q.Limit-1].c2))
			within = min(within, geo.Chord2Within(bound))
		}
		if ringMin > bound+boundSlack {
			break
		}
	}
	return rank(q, cands, visited), nil
}

// nearest keeps the limit candidates of smallest chord and any that tie with
// the last of them within rounding, sorted by chord.
func nearest(cands []candidate, limit int) []candidate {
	slices.SortFunc(cands, func(a, b candidate) int { return cmpFloat(a.c2, b.c2) })
	last := cands[limit-1].c2*(1+1e-9) + 1e-18
	n := limit
	for n < len(cands) && cands[n].c2 <= last {
		n++
	}
	return cands[:n]
}

// rank measures candidates in chord order and returns the first Limit by
// (distance, id) that are within the radius.
func rank(q NearbyQuery, cands []candidate, cells []*searchCell) []NearbyPoint {
	slices.SortFunc(cands, func(a, b candidate) int { return cmpFloat(a.c2, b.c2) })
	out := make([]NearbyPoint, 0, min(len(cands), q.Limit+4))
	var lastC2 float64
	for _, c := range cands {
		if len(out) >= q.Limit && c.c2 > lastC2*(1+1e-9)+1e-18 {
			break // strictly farther than every point kept
		}
		p := &cells[c.cell].points[c.i]
		if d := geo.DistanceM(q.Lat, q.Lng, p.Lat, p.Lng); d <= q.RadiusM {
			out = append(out, NearbyPoint{Point: p.Point, DistanceM: d})
			lastC2 = c.c2
		}
	}
	sortNearby(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// chordToM converts a squared chord back to metres, rounded up a little.
func chordToM(c2 float64) float64 {
	return 2*geo.EarthRadiusM*math.Asin(math.Min(1, math.Sqrt(c2)/2))*(1+1e-9) + 1e-6
}

func sortNearby(ps []NearbyPoint) {
	slices.SortFunc(ps, func(a, b NearbyPoint) int {
		if a.DistanceM != b.DistanceM {
			if a.DistanceM < b.DistanceM {
				return -1
			}
			return 1
		}
		return int(a.ID - b.ID)
	})
}

// NearbyBruteForce answers q by measuring every point: the reference the
// index is tested and benchmarked against.
func NearbyBruteForce(points []Point, q NearbyQuery) []NearbyPoint {
	out := []NearbyPoint{}
	for _, p := range points {
		if d := geo.DistanceM(q.Lat, q.Lng, p.Lat, p.Lng); d <= q.RadiusM {
			out = append(out, NearbyPoint{Point: p, DistanceM: d})
		}
	}
	sortNearby(out)
	if len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out
}
