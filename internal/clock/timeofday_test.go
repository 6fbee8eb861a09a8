package clock

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"groupbuy/internal/apperr"
)

func TestParseTimeOfDay(t *testing.T) {
	for s, want := range map[string]int{"00:00": 0, "07:05": 425, "23:59": 1439, "12:00": 720} {
		v, err := ParseTimeOfDay(s)
		if err != nil || v.Minutes() != want || v.String() != s || v.IsZero() {
			t.Errorf("%q: %v (%d min) %v", s, v, v.Minutes(), err)
		}
	}
	for _, bad := range []string{"", "7:00", "07:5", "24:00", "23:60", "0700", "07-00", "+7:00", " 07:00", "07:00:00", "٠٧:٠٠", "ab:cd"} {
		if v, err := ParseTimeOfDay(bad); err == nil {
			t.Errorf("%q accepted as %v", bad, v)
		}
	}
	if v := NewTimeOfDay(0, 0); v.IsZero() || v.String() != "00:00" {
		t.Errorf("midnight is %q, zero %v", v, v.IsZero())
	}
	if (TimeOfDay{}).String() != "" {
		t.Error("the zero TimeOfDay is not written empty")
	}
}

// TestTimeOfDayFields: "" is unset and refused by Require; anything else
// that is not HH:MM is a 400 naming the field, as a request's field is.
func TestTimeOfDayFields(t *testing.T) {
	v, err := ParseTimeOfDayField("opens", "")
	if err != nil || !v.IsZero() {
		t.Fatalf("empty: %v %v", v, err)
	}
	var e *apperr.Error
	if err := v.Require("opens"); !errors.As(err, &e) || e.Field != "opens" || e.Message != `opens must be a local time HH:MM, got ""` {
		t.Fatalf("unset required: %#v", err)
	}
	if _, err := ParseTimeOfDayField("closes", "25:00"); !errors.As(err, &e) || e.Field != "closes" || e.Kind != apperr.Invalid ||
		e.Message != `closes must be a local time HH:MM, got "25:00"` {
		t.Fatalf("bad value: %#v", err)
	}
	if err := NewTimeOfDay(8, 0).Require("opens"); err != nil {
		t.Fatal(err)
	}
}

func TestTimeOfDayJSONAndSQL(t *testing.T) {
	var v struct {
		At  TimeOfDay `json:"at"`
		Not TimeOfDay `json:"not"`
	}
	if err := json.Unmarshal([]byte(`{"at":"21:30","not":""}`), &v); err != nil || v.At != NewTimeOfDay(21, 30) || !v.Not.IsZero() {
		t.Fatalf("unmarshal: %+v %v", v, err)
	}
	if b, err := json.Marshal(v); err != nil || string(b) != `{"at":"21:30","not":""}` {
		t.Fatalf("marshal: %s %v", b, err)
	}
	if err := json.Unmarshal([]byte(`{"at":"9pm"}`), &v); err == nil || !strings.Contains(err.Error(), "HH:MM") {
		t.Fatalf("9pm: %v", err)
	}
	for _, c := range []struct {
		src  any
		want TimeOfDay
	}{{"23:00:00", NewTimeOfDay(23, 0)}, {[]byte("07:30"), NewTimeOfDay(7, 30)}, {time.Date(0, 1, 1, 6, 45, 0, 0, time.UTC), NewTimeOfDay(6, 45)}} {
		var got TimeOfDay
		if err := got.Scan(c.src); err != nil || got != c.want {
			t.Errorf("scan %v: %v %v", c.src, got, err)
		}
	}
	var null TimeOfDay
	if err := null.Scan(nil); err != nil || !null.IsZero() {
		t.Errorf("scan NULL: %v %v", null, err)
	}
	if err := null.Scan("25:00:00"); err == nil {
		t.Error("scanned 25:00")
	}
	if v, err := NewTimeOfDay(8, 5).Value(); err != nil || v != "08:05" {
		t.Errorf("value: %v %v", v, err)
	}
	if v, err := (TimeOfDay{}).Value(); err != nil || v != nil {
		t.Errorf("zero value: %v %v", v, err)
	}
}

// TestTimeOfDayOn: the instant of a local time on a calendar day, whatever
// the zone of the date given, across a change of daylight saving time.
func TestTimeOfDayOn(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	sh, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		t.Fatal(err)
	}
	cutoff := NewTimeOfDay(23, 0)
	cases := []struct {
		date time.Time
		loc  *time.Location
		want time.Time
	}{
		{time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC), sh, time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)},
		{time.Date(2026, 10, 30, 0, 0, 0, 0, time.UTC), ny, time.Date(2026, 10, 31, 3, 0, 0, 0, time.UTC)}, // EDT
		{time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), ny, time.Date(2026, 11, 2, 4, 0, 0, 0, time.UTC)},   // EST
		{time.Date(2026, 11, 30, 20, 0, 0, 0, sh), sh, time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)},     // the date's own zone
	}
	for _, c := range cases {
		if got := cutoff.On(c.date, c.loc); !got.Equal(c.want) || got.Location() != time.UTC {
			t.Errorf("23:00 on %s in %s: %s, want %s", c.date, c.loc, got, c.want)
		}
	}
	// A time the day skips is read on the offset before the change, as
	// PostgreSQL reads it: as far past the gap as it is into it. (Go's
	// time.Date put it an hour early west of UTC, a skipped midnight on the
	// day before.)
	skipped := []struct {
		zone string
		at   TimeOfDay
		date time.Time
		want time.Time
	}{
		{"America/New_York", NewTimeOfDay(2, 30), time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 7, 30, 0, 0, time.UTC)}, // 03:30 EDT
		{"America/Santiago", NewTimeOfDay(0, 0), time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC), time.Date(2026, 9, 6, 4, 0, 0, 0, time.UTC)},   // 01:00 -03
		{"Australia/Lord_Howe", NewTimeOfDay(2, 15), time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC), time.Date(2026, 10, 3, 15, 45, 0, 0, time.UTC)},
		{"Europe/Berlin", NewTimeOfDay(2, 30), time.Date(2026, 3, 29, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC)},    // 03:30 CEST
		{"America/New_York", NewTimeOfDay(1, 30), time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 30, 0, 0, time.UTC)}, // twice: the first
	}
	for _, c := range skipped {
		loc, err := time.LoadLocation(c.zone)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.at.On(c.date, loc); !got.Equal(c.want) {
			t.Errorf("%s on %s in %s: %s (%s), want %s", c.at, c.date.Format(time.DateOnly), c.zone, got, got.In(loc), c.want.In(loc))
		}
	}
	if m := Midnight(time.Date(2026, 9, 6, 0, 0, 0, 0, time.UTC), mustZone(t, "America/Santiago")); m.Format("2006-01-02 15:04") != "2026-09-06 01:00" {
		t.Errorf("the midnight Santiago skips: %s", m)
	}
	if s := NewTimeOfDay(7, 30).Seconds(); s != 27000 {
		t.Errorf("seconds: %d", s)
	}
	if !NewTimeOfDay(7, 0).Before(NewTimeOfDay(7, 1)) || NewTimeOfDay(7, 1).Before(NewTimeOfDay(7, 1)) {
		t.Error("Before")
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
