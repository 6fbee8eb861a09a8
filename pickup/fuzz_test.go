package pickup

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"groupbuy/internal/csvio"
	"groupbuy/internal/csvio/csviotest"
	"groupbuy/internal/input"
)

// FuzzImportPointsCSV feeds arbitrary files through the pickup point import's
// steps before its first database read (ReadCSV, pointFromRow, validate, as
// ImportPoints runs them). Nothing may panic; a refusal is a 400 naming its
// line; what passes is within the rules and is text PostgreSQL can store.
func FuzzImportPointsCSV(f *testing.F) {
	// More seeds, the cases that once failed among them, are in
	// testdata/fuzz/FuzzImportPointsCSV.
	f.Add([]byte(strings.Join(PointCSVColumns, ",") + "\nP001,WH1,阳光小区东门,\"上海市, 浦东新区\",31.2,121.5,08:00,21:00,王团长,13800000001\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ins, err := parsePointsCSV(data)
		if err != nil {
			csviotest.CheckRefusal(t, data, err)
			return
		}
		for _, in := range ins {
			p := in.Point
			if math.IsNaN(p.Lat) || math.IsNaN(p.Lng) || math.Abs(p.Lat) > 90 || math.Abs(p.Lng) > 180 || p.Opens.IsZero() || !p.Opens.Before(p.Closes) {
				t.Fatalf("accepted point out of bounds: %+v", p)
			}
			if !input.Printable(p.Name, 100) || !input.Printable(in.LeaderName, 100) || CheckPhone("p", in.LeaderPhone) != nil {
				t.Fatalf("accepted names or phone break the rules: %+v", in)
			}
			csviotest.CheckStorable(t, in, p.Code, p.Name, p.Address, in.LeaderName, in.LeaderPhone)
		}
	})
}

// parsePointsCSV is ImportPoints without its transaction: the same steps in
// the same order, with every warehouse_code taken as found.
func parsePointsCSV(data []byte) ([]PointInput, error) {
	rows, err := csvio.Read(bytes.NewReader(data), pointCSV)
	if err != nil {
		return nil, err
	}
	var out []PointInput
	seen := map[string]int{}
	for _, row := range rows {
		in, err := pointFromRow(row)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[in.Code]; dup {
			return nil, row.Errorf("code", "code %q already appears on line %d", in.Code, first)
		}
		seen[in.Code] = row.Line
		in.WarehouseID = 0
		if err := in.validate("leader_"); err != nil {
			return nil, csvio.AtLine(row.Line, err)
		}
		out = append(out, in)
	}
	return out, nil
}
