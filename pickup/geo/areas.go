package geo

import (
	"cmp"
	"container/heap"
	"fmt"
	"math"
	"slices"

	"github.com/uber/h3-go/v4"
)

// Capacity is what one delivery area may weigh and fill: typically one
// vehicle's load.
type Capacity struct {
	WeightG  int64 `json:"weight_g"`
	VolumeML int64 `json:"volume_ml"`
}

func (c Capacity) holds(w, v int64) bool { return w <= c.WeightG && v <= c.VolumeML }

// AreaPoint is a pickup point with its demand for one delivery date.
type AreaPoint struct {
	ID       int64
	Lat, Lng float64
	WeightG  int64
	VolumeML int64
}

// DeliveryArea (网格) is a contiguous group of cells whose points' demand
// stays within the limit.
type DeliveryArea struct {
	ID       int      `json:"id"`
	Cells    []CellID `json:"cells"`
	PointIDs []int64  `json:"pickup_point_ids"`
	WeightG  int64    `json:"weight_g"`
	VolumeML int64    `json:"volume_ml"`
	// OverLimit marks an area of one point whose demand alone exceeds the limit.
	OverLimit bool `json:"over_limit"`
	// Split marks an area holding part of the points of one cell that alone
	// exceeds the limit: several areas then share that cell.
	Split bool `json:"split"`
}

// areaCell is one occupied cell while areas are grown.
type areaCell struct {
	cell     h3.Cell
	centre   h3.LatLng
	points   []int // indexes into the input, by id
	weight   int64
	volume   int64
	bearing  float64 // from the depot, radians in [0, 2π)
	distance float64 // from the depot, metres
	area     int     // 0 while unassigned
	next     []int   // occupied neighbours (gridDisk k=1), by cell id
}

// PartitionAreas splits pickup points into delivery areas of cells at
// resolution res, each within limit:
//
//   - points are grouped by their cell at res; cells are seeded in a sweep by
//     bearing from the depot (then distance, then cell id), so areas are
//     slices of the city around the warehouse, as routing likes them;
//   - from each unassigned seed an area grows over occupied neighbouring cells
//     (gridDisk k=1), nearest to the seed first (then cell id), taking every
//     cell that still fits and skipping those that do not: each area's cells
//     are connected by construction;
//   - a cell whose demand alone exceeds the limit is split by its points (in
//     sweep order, then id) into areas of that one cell marked Split; a point
//     that alone exceeds the limit is an area of its own marked OverLimit,
//     the only areas that may exceed the limit.
//
// The result depends only on the input (as a set): every point is in exactly
// one area. Points with no demand are placed too.
func PartitionAreas(depot h3.LatLng, points []AreaPoint, limit Capacity, res int) ([]DeliveryArea, error) {
	if limit.WeightG <= 0 || limit.VolumeML <= 0 {
		return nil, fmt.Errorf("partition areas: limit must be positive, got %+v", limit)
	}
	if res < 0 || res > 15 {
		return nil, fmt.Errorf("partition areas: resolution %d outside 0-15", res)
	}
	order := make([]int, len(points))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return cmp.Compare(points[a].ID, points[b].ID) })
	byCell := map[h3.Cell]int{}
	var cells []*areaCell
	for _, i := range order {
		p := points[i]
		if p.WeightG < 0 || p.VolumeML < 0 {
			return nil, fmt.Errorf("partition areas: point %d has negative demand", p.ID)
		}
		c, err := h3.LatLngToCell(h3.LatLng{Lat: p.Lat, Lng: p.Lng}, res)
		if err != nil {
			return nil, fmt.Errorf("partition areas: point %d: %w", p.ID, err)
		}
		k, ok := byCell[c]
		if !ok {
			k = len(cells)
			byCell[c] = k
			cells = append(cells, &areaCell{cell: c})
		}
		ac := cells[k]
		ac.points = append(ac.points, i)
		ac.weight += p.WeightG
		ac.volume += p.VolumeML
	}
	for _, ac := range cells {
		centre, err := h3.CellToLatLng(ac.cell)
		if err != nil {
			return nil, err
		}
		ac.centre = centre
		ac.bearing, ac.distance = bearing(depot, centre), DistanceM(depot.Lat, depot.Lng, centre.Lat, centre.Lng)
	}
	slices.SortFunc(cells, func(a, b *areaCell) int {
		return cmp.Or(cmp.Compare(a.bearing, b.bearing), cmp.Compare(a.distance, b.distance), cmp.Compare(a.cell, b.cell))
	})
	for k, ac := range cells {
		byCell[ac.cell] = k
	}
	for _, ac := range cells {
		disk, err := h3.GridDisk(ac.cell, 1)
		if err != nil {
			return nil, err
		}
		slices.Sort(disk)
		for _, n := range disk {
			if k, ok := byCell[n]; ok && n != ac.cell {
				ac.next = append(ac.next, k)
			}
		}
	}

	var areas []DeliveryArea
	for _, ac := range cells {
		if ac.area != 0 || limit.holds(ac.weight, ac.volume) {
			continue
		}
		areas = splitCell(areas, ac, points, depot, limit)
	}
	for seed, ac := range cells {
		if ac.area != 0 {
			continue
		}
		areas = append(areas, growArea(cells, seed, len(areas)+1, limit, points))
	}
	return areas, nil
}

// splitCell packs the points of a cell over the limit into areas of that cell.
func splitCell(areas []DeliveryArea, ac *areaCell, points []AreaPoint, depot h3.LatLng, limit Capacity) []DeliveryArea {
	idx := slices.Clone(ac.points)
	slices.SortFunc(idx, func(a, b int) int {
		pa, pb := points[a], points[b]
		return cmp.Or(cmp.Compare(bearing(depot, h3.LatLng{Lat: pa.Lat, Lng: pa.Lng}), bearing(depot, h3.LatLng{Lat: pb.Lat, Lng: pb.Lng})),
			cmp.Compare(pa.ID, pb.ID))
	})
	ac.area = -1
	var cur *DeliveryArea
	for _, i := range idx {
		p := points[i]
		if cur == nil || !limit.holds(cur.WeightG+p.WeightG, cur.VolumeML+p.VolumeML) {
			areas = append(areas, DeliveryArea{ID: len(areas) + 1, Cells: []CellID{CellID(ac.cell)}, Split: true})
			cur = &areas[len(areas)-1]
		}
		cur.PointIDs = append(cur.PointIDs, p.ID)
		cur.WeightG += p.WeightG
		cur.VolumeML += p.VolumeML
		cur.OverLimit = !limit.holds(cur.WeightG, cur.VolumeML)
	}
	for i := range areas {
		slices.Sort(areas[i].PointIDs)
	}
	return areas
}

// growArea grows area id from the seed cell over neighbours, nearest first.
func growArea(cells []*areaCell, seed, id int, limit Capacity, points []AreaPoint) DeliveryArea {
	a := DeliveryArea{ID: id}
	origin := cells[seed].centre
	tried := map[int]bool{seed: true}
	fr := &frontier{cells: cells}
	heap.Push(fr, frontierCell{k: seed})
	for fr.Len() > 0 {
		k := heap.Pop(fr).(frontierCell).k
		ac := cells[k]
		if ac.area != 0 || !limit.holds(a.WeightG+ac.weight, a.VolumeML+ac.volume) {
			continue // a seed always fits: cells over the limit were split already
		}
		ac.area = id
		a.Cells = append(a.Cells, CellID(ac.cell))
		a.WeightG += ac.weight
		a.VolumeML += ac.volume
		for _, i := range ac.points {
			a.PointIDs = append(a.PointIDs, points[i].ID)
		}
		for _, n := range ac.next {
			if !tried[n] && cells[n].area == 0 {
				tried[n] = true
				nc := cells[n].centre
				heap.Push(fr, frontierCell{k: n, d: DistanceM(origin.Lat, origin.Lng, nc.Lat, nc.Lng)})
			}
		}
	}
	slices.Sort(a.Cells)
	slices.Sort(a.PointIDs)
	return a
}

type frontierCell struct {
	k int
	d float64
}

// frontier is a heap of cells by distance from the seed, then cell id.
type frontier struct {
	cells []*areaCell
	items []frontierCell
}

func (f *frontier) Len() int { return len(f.items) }
func (f *frontier) Less(i, j int) bool {
	a, b := f.items[i], f.items[j]
	if a.d != b.d {
		return a.d < b.d
	}
	return f.cells[a.k].cell < f.cells[b.k].cell
}
func (f *frontier) Swap(i, j int) { f.items[i], f.items[j] = f.items[j], f.items[i] }
func (f *frontier) Push(x any)    { f.items = append(f.items, x.(frontierCell)) }
func (f *frontier) Pop() any {
	x := f.items[len(f.items)-1]
	f.items = f.items[:len(f.items)-1]
	return x
}

// bearing is the initial great-circle bearing from a to b, in [0, 2π).
func bearing(a, b h3.LatLng) float64 {
	const rad = math.Pi / 180
	p1, p2, dl := a.Lat*rad, b.Lat*rad, (b.Lng-a.Lng)*rad
	y := math.Sin(dl) * math.Cos(p2)
	x := math.Cos(p1)*math.Sin(p2) - math.Sin(p1)*math.Cos(p2)*math.Cos(dl)
	t := math.Atan2(y, x)
	if t < 0 {
		t += 2 * math.Pi
	}
	return t
}

// The limit of a delivery area when the request names none: one light
// truck's load (a 4.2 m van).
const (
	DefaultAreaWeightG  = 1_500_000
	DefaultAreaVolumeML = 8_000_000
)

// DefaultAreaLimit is the default limit of a delivery area as a Capacity.
func DefaultAreaLimit() Capacity {
	return Capacity{WeightG: DefaultAreaWeightG, VolumeML: DefaultAreaVolumeML}
}
