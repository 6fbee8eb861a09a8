package notify

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// QuietHours: no SMS between Start and End local time ("HH:MM"). The zero
// value means the default 21:00-08:00, crossing midnight; Start == End means
// never quiet.
type QuietHours struct{ Start, End string }

// DefaultQuietHours is 21:00-08:00, when residents do not expect texts.
func DefaultQuietHours() QuietHours { return QuietHours{Start: "21:00", End: "08:00"} }

// ParseQuietHours reads a window written "HH:MM-HH:MM", as kept in the
// environment.
func ParseQuietHours(s string) (QuietHours, error) {
	start, end, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("notify: quiet hours %q: want HH:MM-HH:MM", s)
	}
	q := QuietHours{Start: strings.TrimSpace(start), End: strings.TrimSpace(end)}
	return q, q.Validate()
}

// Validate reports whether Start and End are both valid "HH:MM" times.
func (q QuietHours) Validate() error {
	if _, err := clockMinutes(q.Start); err != nil {
		return fmt.Errorf("notify: quiet hours start: %w", err)
	}
	if _, err := clockMinutes(q.End); err != nil {
		return fmt.Errorf("notify: quiet hours end: %w", err)
	}
	return nil
}

// Until reports whether t falls in quiet hours in loc and, if so, the instant
// they end (UTC). A window it cannot parse counts as the default, so a typo
// never lets texts out at night. The end is computed on the local calendar,
// so a night that loses or gains an hour to daylight saving ends at 08:00 on
// the wall clock all the same.
func (q QuietHours) Until(t time.Time, loc *time.Location) (quiet bool, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	if q == (QuietHours{}) || q.Validate() != nil {
		q = DefaultQuietHours()
	}
	start, _ := clockMinutes(q.Start)
	stop, _ := clockMinutes(q.End)
	if start == stop {
		return false, time.Time{}
	}
	local := t.In(loc)
	h, m, s := local.Clock()
	now := (h*60+m)*60 + s
	startS, stopS := start*60, stop*60
	y, mo, d := local.Date()
	var endDay int
	switch {
	case startS < stopS: // same-day window, e.g. 12:00-14:00
		if now < startS || now >= stopS {
			return false, time.Time{}
		}
	case now >= startS: // evening part of a window crossing midnight
		endDay = 1
	case now < stopS: // morning part
	default:
		return false, time.Time{}
	}
	end = time.Date(y, mo, d+endDay, stop/60, stop%60, 0, 0, loc)
	return true, end.UTC()
}

// clockMinutes parses "HH:MM" into minutes after midnight.
func clockMinutes(s string) (int, error) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || !twoDigits(hh) || !twoDigits(mm) {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 {
		return 0, fmt.Errorf("%q is not HH:MM", s)
	}
	return h*60 + m, nil
}

func twoDigits(s string) bool {
	return len(s) == 2 && s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
}
