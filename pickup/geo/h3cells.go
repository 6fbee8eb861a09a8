package geo

import (
	"database/sql/driver"
	"fmt"
	"math"

	"github.com/uber/h3-go/v4"
)

// The H3 resolutions pickup uses. A point is stored with its cell at each.
const (
	// PointRes (average cell about 0.1 km², edge about 200 m) places a point
	// finely enough to draw it and to group points of one housing estate.
	PointRes = 9
	// AreaRes (about 0.74 km², edge about 530 m) is where delivery areas grow:
	// a dense city has a few points per cell, so areas are contiguous.
	AreaRes = 8
	// SearchRes (about 5.2 km², edge about 1.4 km) buckets points for the
	// nearby search and is the resolution of service areas: a 2 km search
	// reads about 19 cells, and a city's service area is a few hundred cells.
	SearchRes = 7
)

// EarthRadiusM is the mean Earth radius h3 uses, so our distances agree with
// h3.GreatCircleDistanceM.
const EarthRadiusM = 6371007.180918475

// CellID is an H3 cell, stored as a bigint and shown as its hex string.
type CellID int64

// Cell returns the h3 cell.
func (c CellID) Cell() h3.Cell { return h3.Cell(c) }

// MarshalText writes the cell's hex string ("" when unset).
func (c CellID) MarshalText() ([]byte, error) {
	if c == 0 {
		return []byte{}, nil
	}
	return []byte(h3.Cell(c).String()), nil
}

// UnmarshalText reads a cell's hex string ("" is no cell).
func (c *CellID) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*c = 0
		return nil
	}
	id, ok := ParseCell(string(b))
	if !ok {
		return fmt.Errorf("%q is not an H3 cell", b)
	}
	*c = id
	return nil
}

// Scan reads a nullable bigint.
func (c *CellID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*c = 0
	case int64:
		*c = CellID(v)
	default:
		return fmt.Errorf("cell: cannot scan %T", src)
	}
	return nil
}

// Value stores the cell as a bigint, NULL when unset.
func (c CellID) Value() (driver.Value, error) {
	if c == 0 {
		return nil, nil
	}
	return int64(c), nil
}

// PointCells are a location's cells at the resolutions pickup stores.
type PointCells struct{ R9, R8, R7 CellID }

// CellsAt returns the cells a valid location lies in, each at its own
// resolution. Not the parents of the finest: H3 is not exactly nested, and
// near a cell's edge the parent is the neighbour (about 6 % of locations at
// SearchRes), where a service area filled by cell centres, its outline,
// delivery areas and the nearby index all place the location in its own.
func CellsAt(lat, lng float64) (PointCells, error) {
	var out [3]CellID
	for i, res := range []int{PointRes, AreaRes, SearchRes} {
		c, err := h3.LatLngToCell(h3.LatLng{Lat: lat, Lng: lng}, res)
		if err != nil {
			return PointCells{}, fmt.Errorf("h3 cell of (%v, %v): %w", lat, lng, err)
		}
		out[i] = CellID(c)
	}
	return PointCells{R9: out[0], R8: out[1], R7: out[2]}, nil
}

// DistanceM is the great-circle (haversine) distance in metres between two
// locations given in degrees; the nearby search and its brute-force check
// both use it, so "within the radius" means the same to both.
func DistanceM(lat1, lng1, lat2, lng2 float64) float64 {
	const rad = math.Pi / 180
	p1, p2 := lat1*rad, lat2*rad
	dp, dl := p2-p1, (lng2-lng1)*rad
	sp, sl := math.Sin(dp/2), math.Sin(dl/2)
	a := sp*sp + math.Cos(p1)*math.Cos(p2)*sl*sl
	if a > 1 {
		a = 1
	}
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(a))
}

// UnitVector is a location on the unit sphere: the squared chord between two
// of them orders pairs by distance at the cost of a few multiplications.
type UnitVector struct{ X, Y, Z float64 }

func UnitOf(lat, lng float64) UnitVector {
	const rad = math.Pi / 180
	cl := math.Cos(lat * rad)
	return UnitVector{cl * math.Cos(lng*rad), cl * math.Sin(lng*rad), math.Sin(lat * rad)}
}

func (u UnitVector) Chord2(v UnitVector) float64 {
	dx, dy, dz := u.X-v.X, u.Y-v.Y, u.Z-v.Z
	return dx*dx + dy*dy + dz*dz
}

// Chord2Within returns the squared chord of a great-circle distance, widened
// so that rounding never drops a point the exact distance would keep.
func Chord2Within(meters float64) float64 {
	c := 2 * math.Sin(math.Min(meters/EarthRadiusM, math.Pi)/2)
	return c*c*(1+1e-9) + 1e-15
}

// ParseCell parses an H3 cell's hex string.
func ParseCell(s string) (CellID, bool) {
	c := h3.CellFromString(s)
	if !c.IsValid() {
		return 0, false
	}
	return CellID(c), true
}
