package notify

import (
	"fmt"
	"strings"
	"time"

	"groupbuy/internal/clock"
)

// QuietHours: no SMS between Start and End local time. The zero value means
// the default 21:00-08:00, crossing midnight; Start == End means never quiet.
type QuietHours struct{ Start, End clock.TimeOfDay }

// DefaultQuietHours is 21:00-08:00, when residents do not expect texts.
func DefaultQuietHours() QuietHours {
	return QuietHours{Start: clock.NewTimeOfDay(21, 0), End: clock.NewTimeOfDay(8, 0)}
}

// ParseQuietHours reads a window written "HH:MM-HH:MM", as kept in the
// environment.
func ParseQuietHours(s string) (QuietHours, error) {
	start, end, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return QuietHours{}, fmt.Errorf("notify: quiet hours %q: want HH:MM-HH:MM", s)
	}
	var q QuietHours
	var err error
	if q.Start, err = clock.ParseTimeOfDay(strings.TrimSpace(start)); err != nil {
		return QuietHours{}, fmt.Errorf("notify: quiet hours start: %w", err)
	}
	if q.End, err = clock.ParseTimeOfDay(strings.TrimSpace(end)); err != nil {
		return QuietHours{}, fmt.Errorf("notify: quiet hours end: %w", err)
	}
	return q, nil
}

// Validate reports whether Start and End are both set.
func (q QuietHours) Validate() error {
	if q.Start.IsZero() || q.End.IsZero() {
		return fmt.Errorf("notify: quiet hours %s-%s: both ends are needed", q.Start, q.End)
	}
	return nil
}

// Until reports whether t falls in quiet hours in loc and, if so, the instant
// they end (UTC). A window with an end unset counts as the default, so a
// mistake never lets texts out at night. The end is computed on the local calendar,
// so a night that loses or gains an hour to daylight saving ends at 08:00 on
// the wall clock all the same.
func (q QuietHours) Until(t time.Time, loc *time.Location) (quiet bool, end time.Time) {
	if loc == nil {
		loc = time.UTC
	}
	if q == (QuietHours{}) || q.Validate() != nil {
		q = DefaultQuietHours()
	}
	start, stop := q.Start.Minutes(), q.End.Minutes()
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
	return true, clock.NewTimeOfDay(stop/60, stop%60).On(time.Date(y, mo, d+endDay, 0, 0, 0, 0, time.UTC), loc)
}
