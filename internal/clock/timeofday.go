package clock

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
	"time"

	"groupbuy/internal/apperr"
)

// TimeOfDay is a local time of day to the minute, written "HH:MM" (00:00
// to 23:59) in JSON, in the database's time columns, in CSV files and in
// the environment: the one home of that format (points' hours, cutoffs,
// delivery windows, vehicle shifts, quiet hours, reminders). The zero
// TimeOfDay is unset and written ""; midnight is 00:00, not zero.
type TimeOfDay struct {
	minutes int16 // after midnight
	set     bool
}

// NewTimeOfDay returns hh:mm; it panics outside 00:00 to 23:59, so it is
// for times written in code.
func NewTimeOfDay(hh, mm int) TimeOfDay {
	if hh < 0 || hh > 23 || mm < 0 || mm > 59 {
		panic(fmt.Sprintf("clock: %d:%d is no time of day", hh, mm))
	}
	return TimeOfDay{minutes: int16(hh*60 + mm), set: true}
}

// ParseTimeOfDay reads "HH:MM", two digits each.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	if len(s) != 5 || s[2] != ':' || !digits(s[:2]) || !digits(s[3:]) {
		return TimeOfDay{}, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	hh, mm := int(s[0]-'0')*10+int(s[1]-'0'), int(s[3]-'0')*10+int(s[4]-'0')
	if hh > 23 || mm > 59 {
		return TimeOfDay{}, fmt.Errorf("%q is not a time of day HH:MM", s)
	}
	return NewTimeOfDay(hh, mm), nil
}

// ParseTimeOfDayField reads the value s of a request's or an import's
// field: "" is the zero TimeOfDay (which Require refuses where the field is
// required), anything else must be "HH:MM"; the error names field.
func ParseTimeOfDayField(field, s string) (TimeOfDay, error) {
	var t TimeOfDay
	if err := t.UnmarshalText([]byte(s)); err != nil {
		return TimeOfDay{}, invalidTimeOfDay(field, s)
	}
	return t, nil
}

// Require refuses the zero TimeOfDay as the value of a required field.
func (t TimeOfDay) Require(field string) error {
	if !t.set {
		return invalidTimeOfDay(field, "")
	}
	return nil
}

// invalidTimeOfDay is the 400 for a field that is not "HH:MM"; with field
// "", whoever knows the field names it (the JSON decoder does).
func invalidTimeOfDay(field, s string) *apperr.Error {
	if field == "" {
		return apperr.Errorf(apperr.Invalid, "invalid_field", "must be a local time HH:MM, got %q", s)
	}
	return apperr.InvalidField(field, "%s must be a local time HH:MM, got %q", field, s)
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// IsZero reports whether t is unset.
func (t TimeOfDay) IsZero() bool { return !t.set }

// String is "HH:MM", or "" for the zero TimeOfDay.
func (t TimeOfDay) String() string {
	if !t.set {
		return ""
	}
	return fmt.Sprintf("%02d:%02d", t.minutes/60, t.minutes%60)
}

// Clock returns the hour and minute.
func (t TimeOfDay) Clock() (hh, mm int) { return int(t.minutes) / 60, int(t.minutes) % 60 }

// Minutes returns the minutes since midnight.
func (t TimeOfDay) Minutes() int { return int(t.minutes) }

// Seconds returns the seconds since midnight.
func (t TimeOfDay) Seconds() int64 { return int64(t.minutes) * 60 }

// Before reports whether t is earlier in the day than u.
func (t TimeOfDay) Before(u TimeOfDay) bool { return t.minutes < u.minutes }

// On returns the instant t on the calendar day of date (its year, month
// and day, whatever its zone) in loc, in UTC. On a day that repeats t for
// daylight saving it is the first time. On a day that skips t (clocks go
// forward) it is read, as PostgreSQL reads it, on the offset before the
// change: as far past the gap's end as t is past its start (02:30 in a gap
// of 02:00-03:00 is 03:30). time.Date's choice there depends on the zone:
// west of UTC an hour before the gap, which closed ordering an hour early
// and put a skipped midnight on the day before.
func (t TimeOfDay) On(date time.Time, loc *time.Location) time.Time {
	hh, mm := t.Clock()
	y, mo, d := date.Date()
	at := time.Date(y, mo, d, hh, mm, 0, 0, loc)
	if h, m, _ := at.Clock(); h != hh || m != mm {
		_, before := at.Add(-24 * time.Hour).Zone()
		at = time.Date(y, mo, d, hh, mm, 0, 0, time.UTC).Add(-time.Duration(before) * time.Second)
	}
	return at.UTC()
}

// Midnight is the first instant of date's calendar day in loc (on a day
// whose midnight is skipped, when the clocks show the skip's end).
func Midnight(date time.Time, loc *time.Location) time.Time {
	return TimeOfDay{set: true}.On(date, loc).In(loc)
}

// MarshalText writes "HH:MM" ("" when unset).
func (t TimeOfDay) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads "HH:MM"; "" is the zero TimeOfDay, which the rules of
// a required field refuse.
func (t *TimeOfDay) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = TimeOfDay{}
		return nil
	}
	v, err := ParseTimeOfDay(string(b))
	if err != nil {
		return invalidTimeOfDay("", string(b))
	}
	*t = v
	return nil
}

// MarshalJSON writes "HH:MM" ("" when unset).
func (t TimeOfDay) MarshalJSON() ([]byte, error) { return json.Marshal(t.String()) }

// Value stores t in a time (or text) column as "HH:MM"; unset is NULL.
func (t TimeOfDay) Value() (driver.Value, error) {
	if !t.set {
		return nil, nil
	}
	return t.String(), nil
}

// Scan reads a time column ("HH:MM:SS", seconds dropped) or text "HH:MM";
// NULL is the zero TimeOfDay.
func (t *TimeOfDay) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case nil:
		*t = TimeOfDay{}
		return nil
	case string:
		s = v
	case []byte:
		s = string(v)
	case time.Time: // a driver that parses time columns
		*t = NewTimeOfDay(v.Hour(), v.Minute())
		return nil
	default:
		return fmt.Errorf("clock: cannot scan %T into a TimeOfDay", src)
	}
	if len(s) > 5 && s[5] == ':' {
		s = s[:5]
	}
	v, err := ParseTimeOfDay(s)
	if err != nil {
		return err
	}
	*t = v
	return nil
}
