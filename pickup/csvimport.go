package pickup

import (
	"context"
	"fmt"
	"io"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/csvio"
	"groupbuy/internal/pg"
)

// PointCSVColumns are the columns a pickup point import must have;
// receiving_from and receiving_until may follow.
var PointCSVColumns = []string{"code", "warehouse_code", "name", "address", "lat", "lng", "opens", "closes", "leader_name", "leader_phone"}

var pointCSV = csvio.Columns{Required: PointCSVColumns, Optional: []string{"receiving_from", "receiving_until"}}

// ImportPoints creates or updates pickup points and their leaders from CSV,
// all or nothing: the first bad row is reported by line and nothing is stored.
func (s *Service) ImportPoints(ctx context.Context, r io.Reader) ([]PointCreated, error) {
	rows, err := csvio.Read(r, pointCSV)
	if err != nil {
		return nil, err
	}
	var out []PointCreated
	err = pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		out = make([]PointCreated, 0, len(rows))
		warehouses := map[string]int64{}
		seen := map[string]int{}
		for _, row := range rows {
			in, err := pointFromRow(row)
			if err != nil {
				return err
			}
			if first, dup := seen[in.Code]; dup {
				return row.Errorf("code", "code %q already appears on line %d", in.Code, first)
			}
			seen[in.Code] = row.Line
			// An empty warehouse_code lets the service areas choose (servicearea.go).
			wcode := row.Get("warehouse_code")
			wid, ok := warehouses[wcode]
			if !ok && wcode != "" {
				w, err := WarehouseByCode(ctx, tx, wcode)
				if err != nil {
					return row.Errorf("warehouse_code", "no warehouse with code %q", wcode)
				}
				wid, warehouses[wcode] = w.ID, w.ID
			}
			in.WarehouseID = wid
			if err := in.validate("leader_"); err != nil {
				return csvio.AtLine(row.Line, err)
			}
			created, err := savePoint(ctx, tx, in, s.clock.Now())
			if err != nil {
				return csvio.AtLine(row.Line, csvConflict(row, csvWarehouse(row, err)))
			}
			out = append(out, created)
		}
		return nil
	})
	if err == nil {
		s.index.Invalidate()
	}
	return out, err
}

func csvConflict(row csvio.Row, err error) error {
	if e, ok := err.(*apperr.Error); ok && e.Kind == apperr.Conflict {
		return row.Errorf("leader_phone", "%s", e.Message)
	}
	return err
}

// csvWarehouse puts the service-area rule's errors in CSV terms: the column
// for a missing warehouse, the line for a point outside the areas.
func csvWarehouse(row csvio.Row, err error) error {
	e, ok := err.(*apperr.Error)
	switch {
	case ok && e.Field == "warehouse_id":
		return row.Errorf("warehouse_code", "warehouse_code is required while no warehouse has a service area")
	case ok && e.Kind == apperr.Unprocessable:
		c := e.With("line", row.Line)
		c.Message = fmt.Sprintf("line %d: %s", row.Line, e.Message)
		return c
	}
	return err
}

func pointFromRow(row csvio.Row) (PointInput, error) {
	lat, err := row.Float("lat")
	if err != nil {
		return PointInput{}, err
	}
	lng, err := row.Float("lng")
	if err != nil {
		return PointInput{}, err
	}
	// receiving_from and receiving_until are optional columns: a file
	// without them imports points that receive whenever the warehouse delivers.
	var times [4]clock.TimeOfDay
	for i, col := range []string{"opens", "closes", "receiving_from", "receiving_until"} {
		if times[i], err = clock.ParseTimeOfDayField(col, row.Get(col)); err != nil {
			return PointInput{}, csvio.AtLine(row.Line, err)
		}
	}
	return PointInput{
		Point: Point{Code: row.Get("code"), Name: row.Get("name"), Address: row.Get("address"),
			Lat: lat, Lng: lng, Opens: times[0], Closes: times[1], ReceivingFrom: times[2], ReceivingUntil: times[3], WarehouseID: -1},
		LeaderName: row.Get("leader_name"), LeaderPhone: row.Get("leader_phone"),
	}, nil
}
