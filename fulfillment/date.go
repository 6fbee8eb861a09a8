// Package fulfillment is the shared vocabulary of the night's subpackages:
// the delivery Date, the temperature Zone, the RefundReason of the refunds
// ledger, and the limits every request is held to. The work itself lives in
// the subpackages: catalog (products, sale items, caps), intake (orders),
// wave (waves and their stage records), night (the stage pipeline, receipts,
// allocation, picking, printouts), routeplan (vehicles and routes), lastmile
// (deliveries, receipt, the pickup desk, parcels), refund and commission.
package fulfillment

import (
	"database/sql/driver"
	"fmt"
	"strconv"
	"strings"
	"time"

	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
)

// Date is a calendar date (a delivery date), without time or zone.
type Date struct{ time.Time }

// ParseDate reads YYYY-MM-DD within input.MinYear to input.MaxYear, naming
// field in its error.
func ParseDate(field, s string) (Date, error) {
	t, err := input.ParseDate(field, time.DateOnly, s)
	return Date{t}, err
}

// ParseMonth reads YYYY-MM as the first day of that month, naming field in
// its error.
func ParseMonth(field, s string) (Date, error) {
	t, err := input.ParseDate(field, "2006-01", s)
	return Date{t}, err
}

// Field names element i of a list in an error: Field("lines", 2,
// "quantity") is lines[2].quantity.
func Field(list string, i int, name string) string {
	return list + "[" + strconv.Itoa(i) + "]." + name
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(time.DateOnly) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD", leaving the field unnamed: a Date is a
// delivery date, an expiry, a day of a range, and the JSON decoder names
// the field it is in.
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return apperr.Errorf(apperr.Invalid, "invalid_field", "must be a string YYYY-MM-DD")
	}
	v, err := ParseDate("", string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// UnmarshalText reads YYYY-MM-DD (a query parameter), leaving the field
// unnamed: whoever reads it names the field (api's binder does).
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate("", string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Month is a calendar month, as the date of its first day.
type Month struct{ Date }

// UnmarshalText reads YYYY-MM (a query parameter), leaving the field unnamed.
func (m *Month) UnmarshalText(b []byte) error {
	v, err := ParseMonth("", string(b))
	if err != nil {
		return err
	}
	m.Date = v
	return nil
}

// DateQuery is the request of a route that reads a required delivery date.
type DateQuery struct {
	Date Date `query:"date" required:"true" format:"date" doc:"The delivery date, YYYY-MM-DD."`
}

// Dates is a list of dates as one PostgreSQL date[] parameter.
type Dates []Date

// Value stores the dates as a PostgreSQL array literal.
func (ds Dates) Value() (driver.Value, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, d := range ds {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.String())
	}
	b.WriteByte('}')
	return b.String(), nil
}

// Value stores the date as a PostgreSQL date.
func (d Date) Value() (driver.Value, error) { return d.String(), nil }

// Scan reads a PostgreSQL date.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		d.Time = time.Date(v.Year(), v.Month(), v.Day(), 0, 0, 0, 0, time.UTC)
		return nil
	case []byte:
		t, err := time.Parse(time.DateOnly, string(v))
		d.Time = t
		return err
	case string:
		t, err := time.Parse(time.DateOnly, v)
		d.Time = t
		return err
	}
	return fmt.Errorf("cannot scan %T into Date", src)
}
