package fulfillment

import (
	"database/sql/driver"
	"fmt"
	"time"

	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
	"groupbuy/pickup"
)

// Date is a calendar date (a delivery date), without time or zone.
type Date struct{ time.Time }

// ParseDate reads YYYY-MM-DD within input.MinYear to input.MaxYear, naming
// field in its error.
func ParseDate(field, s string) (Date, error) {
	t, err := input.ParseDate(field, time.DateOnly, s)
	return Date{t}, err
}

// MaxSaleDaysAhead bounds how far ahead a sale may be published: a quarter
// is more than any group buy plans, and a typo in the year is caught.
const MaxSaleDaysAhead = 90

// checkSaleDate refuses a new sale's delivery date before the warehouse's
// today (in its time zone) or more than MaxSaleDaysAhead days after it.
func checkSaleDate(w pickup.Warehouse, date Date, now time.Time) error {
	loc, err := w.Location()
	if err != nil {
		return err
	}
	local := now.In(loc)
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	last := today.AddDate(0, 0, MaxSaleDaysAhead)
	if date.Before(today) || date.After(last) {
		return apperr.InvalidField("delivery_date", "delivery_date must be from %s (today at warehouse %s) to %s (%d days ahead), got %s",
			today.Format(time.DateOnly), w.Code, last.Format(time.DateOnly), MaxSaleDaysAhead, date)
	}
	return nil
}

// String formats the date as YYYY-MM-DD.
func (d Date) String() string { return d.Format(time.DateOnly) }

// MarshalJSON writes "YYYY-MM-DD".
func (d Date) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// UnmarshalJSON reads "YYYY-MM-DD".
func (d *Date) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return apperr.InvalidField("delivery_date", "delivery_date must be a string YYYY-MM-DD")
	}
	v, err := ParseDate("delivery_date", string(b[1:len(b)-1]))
	if err != nil {
		return err
	}
	*d = v
	return nil
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
