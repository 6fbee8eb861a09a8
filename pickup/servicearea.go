package pickup

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/uber/h3-go/v4"

	"groupbuy/internal/apperr"
	"groupbuy/internal/pg"

	"groupbuy/pickup/geo"
)

// Service areas are sets of resolution-geo.SearchRes cells a warehouse serves.
//
// While no warehouse has a service area, a point is served by the warehouse it
// names, so setups from before service areas keep working. Once any service
// area exists, the cell of a point decides: outside every area the point is
// refused (422 outside_service_area); a named warehouse must serve the cell
// (422 warehouse_does_not_serve); with no warehouse named, the nearest of
// those serving the cell is chosen (by distance to the warehouse, then id).
// Changing a service area does not move existing points.

// MaxServiceCells bounds one warehouse's service area (about 520,000 km² at
// geo.SearchRes): a larger request is refused rather than filled.
const MaxServiceCells = 100_000

// ServiceArea is the set of cells a warehouse serves.
type ServiceArea struct {
	WarehouseID int64        `json:"warehouse_id"`
	Resolution  int          `json:"resolution"`
	Cells       []geo.CellID `json:"cells"`
	// Outline is a GeoJSON MultiPolygon of the cells, for drawing.
	Outline geo.GeoJSONGeometry `json:"outline"`
}

// Errors of service areas.
var (
	ErrOutsideServiceArea = apperr.Errorf(apperr.Unprocessable, "outside_service_area",
		"the pickup point lies outside every warehouse's service area")
	ErrWarehouseDoesNotServe = apperr.Errorf(apperr.Unprocessable, "warehouse_does_not_serve",
		"the named warehouse's service area does not include the pickup point")
)

// ServiceCellsOf expands cells at geo.SearchRes or coarser to their geo.SearchRes
// children, sorted and without duplicates; field names the request field.
// A cell given again is not expanded again: a request of one cell repeated
// costs what the cell costs.
func ServiceCellsOf(field string, cells []string) ([]geo.CellID, error) {
	seen := map[geo.CellID]bool{}
	given := map[geo.CellID]bool{}
	for _, s := range cells {
		c, ok := geo.ParseCell(s)
		if !ok {
			return nil, apperr.InvalidField(field, "%q is not an H3 cell", s)
		}
		if given[c] {
			continue
		}
		given[c] = true
		res := c.Cell().Resolution()
		if res > geo.SearchRes {
			return nil, apperr.InvalidField(field, "cell %s has resolution %d; service areas use resolution %d or coarser cells", s, res, geo.SearchRes)
		}
		if n := h3.NumCells(geo.SearchRes) / h3.NumCells(res); len(seen)+n > MaxServiceCells {
			return nil, apperr.InvalidField(field, "a service area may hold at most %d resolution-%d cells", MaxServiceCells, geo.SearchRes)
		}
		children, err := c.Cell().Children(geo.SearchRes)
		if err != nil {
			return nil, apperr.InvalidField(field, "cell %s: %v", s, err)
		}
		for _, ch := range children {
			seen[geo.CellID(ch)] = true
		}
	}
	return geo.SortedCells(seen), nil
}

// SetServiceArea replaces a warehouse's service area; no cells clears it.
func (s *Service) SetServiceArea(ctx context.Context, warehouseID int64, cells []geo.CellID) (ServiceArea, error) {
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		// Two areas set at once would each delete the cells the other had
		// not yet written, and leave the union: they take turns.
		if err := lockWarehouse(ctx, tx, warehouseID); err != nil {
			return err
		}
		return replaceServiceCells(ctx, tx, warehouseID, cells)
	})
	if err != nil {
		return ServiceArea{}, err
	}
	return s.ServiceArea(ctx, warehouseID)
}

// ServiceArea returns a warehouse's service area with its outline.
func (s *Service) ServiceArea(ctx context.Context, warehouseID int64) (ServiceArea, error) {
	if _, err := GetWarehouse(ctx, s.db, warehouseID); err != nil {
		return ServiceArea{}, err
	}
	cells, err := serviceCells(ctx, s.db, warehouseID)
	if err != nil {
		return ServiceArea{}, err
	}
	outline, err := geo.Outline(cells)
	if err != nil {
		return ServiceArea{}, err
	}
	return ServiceArea{WarehouseID: warehouseID, Resolution: geo.SearchRes, Cells: cells, Outline: outline}, nil
}

// assignWarehouse applies the service-area rule to p inside tx, setting
// p.WarehouseID when it is 0 and service areas decide.
func assignWarehouse(ctx context.Context, tx sqlx.ExtContext, p *Point) error {
	anyArea, err := serviceAreasExist(ctx, tx)
	if err != nil {
		return err
	}
	if !anyArea {
		if p.WarehouseID == 0 {
			return apperr.InvalidField("warehouse_id", "warehouse_id is required while no warehouse has a service area")
		}
		return nil
	}
	cells, err := geo.CellsAt(p.Lat, p.Lng)
	if err != nil {
		return err
	}
	serving, err := warehousesServing(ctx, tx, cells.R7)
	if err != nil {
		return err
	}
	if len(serving) == 0 {
		return ErrOutsideServiceArea.With("h3_cell", h3.Cell(cells.R7).String())
	}
	if p.WarehouseID != 0 {
		for _, w := range serving {
			if w.ID == p.WarehouseID {
				return nil
			}
		}
		return ErrWarehouseDoesNotServe.With("warehouse_id", p.WarehouseID)
	}
	best := serving[0]
	bestD := geo.DistanceM(p.Lat, p.Lng, best.Lat, best.Lng)
	for _, w := range serving[1:] { // serving is by id, so ties keep the lower id
		if d := geo.DistanceM(p.Lat, p.Lng, w.Lat, w.Lng); d < bestD {
			best, bestD = w, d
		}
	}
	p.WarehouseID = best.ID
	return nil
}
