package routeplan

import (
	"fmt"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
	"groupbuy/routing"
)

// dayClock converts the local times of one delivery day into the solver's
// seconds since that day's local midnight, through the warehouse's time
// zone, so that a day with a daylight-saving change still lines up with
// the instants the plan is stored as.
type dayClock struct {
	date     time.Time // the delivery date (its calendar day)
	midnight time.Time // its first instant in loc
	loc      *time.Location
}

func newDayClock(date time.Time, loc *time.Location) dayClock {
	return dayClock{date: date, midnight: clock.Midnight(date, loc), loc: loc}
}

func (d dayClock) seconds(t clock.TimeOfDay) int64 {
	return int64(t.On(d.date, d.loc).Sub(d.midnight) / time.Second)
}

// zones names the temperature zones of flags as routing capabilities.
func zones(chilled, frozen bool) []string {
	var out []string
	if chilled {
		out = append(out, string(fulfillment.Chilled))
	}
	if frozen {
		out = append(out, string(fulfillment.Frozen))
	}
	return out
}

// stopWindow is when a stop may be served: the warehouse's delivery window,
// narrowed to the point's receiving hours when it has them. When the two do
// not overlap it returns the reason instead, with both windows.
func (d dayClock) stopWindow(wh pickup.Warehouse, s StopDemand) (routing.TimeWindow, string) {
	w := routing.TimeWindow{Start: d.seconds(wh.DeliveryStart), End: d.seconds(wh.DeliveryEnd)}
	if s.ReceivingFrom.IsZero() {
		return w, ""
	}
	w.Start, w.End = max(w.Start, d.seconds(s.ReceivingFrom)), min(w.End, d.seconds(s.ReceivingUntil))
	if w.Start >= w.End {
		return w, fmt.Sprintf("its receiving hours %s–%s do not overlap the warehouse's delivery window %s–%s",
			s.ReceivingFrom, s.ReceivingUntil, wh.DeliveryStart, wh.DeliveryEnd)
	}
	return w, ""
}
