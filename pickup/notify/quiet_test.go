package notify

import (
	"testing"
	"time"
	_ "time/tzdata" // the zones must load in slim images too

	"groupbuy/internal/clock"
)

// window is the quiet hours start-end, written HH:MM.
func window(t *testing.T, start, end string) QuietHours {
	t.Helper()
	var q QuietHours
	var err error
	if start != "" {
		if q.Start, err = clock.ParseTimeOfDay(start); err != nil {
			t.Fatal(err)
		}
	}
	if end != "" {
		if q.End, err = clock.ParseTimeOfDay(end); err != nil {
			t.Fatal(err)
		}
	}
	return q
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietHoursUntil(t *testing.T) {
	sh := mustZone(t, "Asia/Shanghai")
	ny := mustZone(t, "America/New_York")
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		q     QuietHours
		at    time.Time
		loc   *time.Location
		quiet bool
		end   string // RFC 3339 UTC
	}{
		{"shanghai evening", QuietHours{}, utc("2026-12-01T14:30:00Z"), sh, true, "2026-12-02T00:00:00Z"}, // 22:30 local
		{"shanghai at start", QuietHours{}, utc("2026-12-01T13:00:00Z"), sh, true, "2026-12-02T00:00:00Z"},
		{"shanghai just before start", QuietHours{}, utc("2026-12-01T12:59:59Z"), sh, false, ""},
		{"shanghai early morning", QuietHours{}, utc("2026-12-01T22:00:00Z"), sh, true, "2026-12-02T00:00:00Z"}, // 06:00 on the 2nd
		{"shanghai at end", QuietHours{}, utc("2026-12-02T00:00:00Z"), sh, false, ""},
		{"shanghai noon", QuietHours{}, utc("2026-12-02T04:00:00Z"), sh, false, ""},
		{"shanghai month end", QuietHours{}, utc("2026-12-31T15:00:00Z"), sh, true, "2027-01-01T00:00:00Z"},
		// The night clocks spring forward in New York (8 March 2026, 02:00 EST -> 03:00 EDT):
		// quiet from 21:00 EST until 08:00 EDT, ten hours of wall clock eleven apart.
		{"new york spring forward", DefaultQuietHours(), utc("2026-03-08T03:00:00Z"), ny, true, "2026-03-08T12:00:00Z"}, // 22:00 EST
		{"new york inside the gap", DefaultQuietHours(), utc("2026-03-08T07:30:00Z"), ny, true, "2026-03-08T12:00:00Z"}, // 03:30 EDT
		{"new york after spring end", DefaultQuietHours(), utc("2026-03-08T12:00:00Z"), ny, false, ""},                  // 08:00 EDT
		// Falling back (1 November 2026, 02:00 EDT -> 01:00 EST): the night is twelve hours long.
		{"new york fall back", DefaultQuietHours(), utc("2026-11-01T01:00:00Z"), ny, true, "2026-11-01T13:00:00Z"},     // 21:00 EDT on 31 Oct
		{"new york repeated hour", DefaultQuietHours(), utc("2026-11-01T06:30:00Z"), ny, true, "2026-11-01T13:00:00Z"}, // 01:30 EST
		{"same-day window", window(t, "12:00", "14:00"), utc("2026-12-01T05:00:00Z"), sh, true, "2026-12-01T06:00:00Z"},
		{"outside same-day window", window(t, "12:00", "14:00"), utc("2026-12-01T14:30:00Z"), sh, false, ""},
		{"empty window", window(t, "08:00", "08:00"), utc("2026-12-01T14:30:00Z"), sh, false, ""},
		{"an end unset falls back to default", window(t, "09:00", ""), utc("2026-12-01T14:30:00Z"), sh, true, "2026-12-02T00:00:00Z"},
	}
	for _, tt := range tests {
		quiet, end := tt.q.Until(tt.at, tt.loc)
		if quiet != tt.quiet {
			t.Errorf("%s: quiet = %v, want %v", tt.name, quiet, tt.quiet)
			continue
		}
		if !tt.quiet {
			if !end.IsZero() {
				t.Errorf("%s: end = %v, want zero", tt.name, end)
			}
			continue
		}
		if end.Location() != time.UTC || end.Format(time.RFC3339) != tt.end {
			t.Errorf("%s: end = %v, want %s", tt.name, end, tt.end)
		}
	}
}

func TestParseQuietHours(t *testing.T) {
	q, err := ParseQuietHours(" 22:30-07:00 ")
	if err != nil || q != window(t, "22:30", "07:00") {
		t.Errorf("got %+v, %v", q, err)
	}
	for _, bad := range []string{"", "22:30", "24:00-07:00", "22:60-07:00", "2230-0700", "+1:00-07:00"} {
		if _, err := ParseQuietHours(bad); err == nil {
			t.Errorf("ParseQuietHours(%q) accepted", bad)
		}
	}
}
