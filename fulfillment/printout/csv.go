package printout

import (
	"bytes"
	"strconv"
	"time"

	"groupbuy/internal/csvio"
)

// The CSV files carry the same lines as the PDFs, one row per printed line,
// with stable English headers for the warehouse's own systems. Names and
// addresses come from users: csvio's writer keeps formulas in them from
// running when the file is opened in a spreadsheet.

func writeCSV(header []string, rows [][]string) []byte {
	var b bytes.Buffer
	w := csvio.NewWriter(&b)
	_ = w.Write(header) // a bytes.Buffer does not fail
	for _, r := range rows {
		_ = w.Write(r)
	}
	_ = w.Flush()
	return b.Bytes()
}

// CSV returns the pick list, one row per line in walking order.
func (s PickSheet) CSV() []byte {
	rows := make([][]string, 0, len(s.Lines))
	for _, l := range s.Lines {
		rows = append(rows, []string{itoa(s.WaveID), s.Date, s.Zone, l.Bin, l.SKU, l.Name, l.Unit, itoa(l.Quantity)})
	}
	return writeCSV([]string{"wave_id", "delivery_date", "zone", "bin", "sku", "name", "unit", "quantity"}, rows)
}

// CSV returns the sorting sheet, one row per SKU and stop.
func (s SortSheet) CSV() []byte {
	stops := map[int]SortStop{}
	for _, st := range s.Stops {
		stops[st.Seq] = st
	}
	var rows [][]string
	for _, it := range s.Items {
		for _, d := range it.Drops {
			st := stops[d.Seq]
			rows = append(rows, []string{itoa(s.WaveID), s.Route, strconv.Itoa(d.Seq), st.Point, st.Leader, it.Zone, it.SKU, it.Name, it.Unit, itoa(d.Quantity)})
		}
	}
	return writeCSV([]string{"wave_id", "route", "stop", "pickup_point", "leader", "zone", "sku", "name", "unit", "quantity"}, rows)
}

// PickSheetsCSV returns the pick lists of several zones as one file.
func PickSheetsCSV(sheets []PickSheet) []byte { return sheetsCSV(sheets) }

// SortSheetsCSV returns the sorting sheets of several routes as one file.
func SortSheetsCSV(sheets []SortSheet) []byte { return sheetsCSV(sheets) }

// sheetsCSV joins the sheets' files under one header line; with no sheets
// it is the header alone.
func sheetsCSV[S interface{ CSV() []byte }](sheets []S) []byte {
	if len(sheets) == 0 {
		var none S
		return none.CSV()
	}
	var out []byte
	for i, s := range sheets {
		c := s.CSV()
		if i > 0 {
			c = c[len(firstLine(c)):]
		}
		out = append(out, c...)
	}
	return out
}

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return b
}

// LabelsCSV returns one row per bag with its QR payload.
func LabelsCSV(labels []Label, key []byte) []byte {
	rows := make([][]string, 0, len(labels))
	for _, l := range labels {
		rows = append(rows, []string{itoa(l.WaveID), itoa(l.BagID), l.Route, strconv.Itoa(l.Stop), l.Zone, l.Point, l.Leader, l.Phone,
			itoa(l.Units), itoa(l.SKUs), itoa(l.WeightG), l.Payload(key)})
	}
	return writeCSV([]string{"wave_id", "bag_id", "route", "stop", "zone", "pickup_point", "leader", "phone", "units", "skus", "weight_g", "payload"}, rows)
}

// hhmm is t as HH:MM, or "" for the zero time.
func hhmm(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format("15:04")
}

// RouteCSV returns the stops of route sheets in order.
func RouteCSV(sheets []RouteSheet) []byte {
	var rows [][]string
	for _, s := range sheets {
		for _, st := range s.Stops {
			rows = append(rows, []string{itoa(s.WaveID), s.Route, s.Vehicle, strconv.Itoa(st.Seq), st.Name, st.Address, st.Leader, st.Phone,
				st.Arrival.Format("15:04"), st.Departure.Format("15:04"), itoa(st.Bags), itoa(st.WeightG),
				strconv.FormatFloat(st.Lat, 'f', 6, 64), strconv.FormatFloat(st.Lng, 'f', 6, 64), hhmm(st.WindowStart), hhmm(st.WindowEnd)})
		}
	}
	return writeCSV([]string{"wave_id", "route", "vehicle", "stop", "pickup_point", "address", "leader", "phone", "arrival", "departure", "bags", "weight_g", "lat", "lng",
		"window_start", "window_end"}, rows)
}
