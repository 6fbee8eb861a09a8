package lastmile

import (
	"fmt"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/refund"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// pointVars are the template variables naming a pickup point.
func pointVars(p pickup.Point) map[string]string {
	return map[string]string{"point": p.Name, "address": p.Address, "hours": p.Opens.String() + "-" + p.Closes.String()}
}

// parcelKey names the notices about one parcel: what a resident collects at
// one pickup point for one delivery date, e.g. arrival:2026-12-01:7:42 for
// resident 42 at point 7. The point is part of it because one person may
// collect at two points on a day, each with its own code; the resident alone
// would let the first point's notice swallow the second's.
func parcelKey(kind string, date fulfillment.Date, pointID, residentID int64) string {
	return fmt.Sprintf("%s:%s:%d:%d", kind, date, pointID, residentID)
}

// reminderKey is one evening's reminder of a parcel; the parcel sweep's
// query builds the same key in SQL to skip parcels already reminded.
func reminderKey(date fulfillment.Date, pointID, residentID int64, evening time.Time) string {
	return parcelKey("reminder", date, pointID, residentID) + ":" + evening.Format(time.DateOnly)
}

// arrivalNotice tells a resident their parcels are at the point, with the code.
func arrivalNotice(p pickup.Point, date fulfillment.Date, residentID int64, code string, items []refund.NoticeItem) notice.Notice {
	vars := pointVars(p)
	vars["code"] = code
	return notice.Notice{ResidentID: residentID, Kind: notify.KindArrival,
		// One arrival per parcel, however many orders and deliveries.
		Key:     parcelKey("arrival", date, p.ID, residentID),
		Payload: map[string]any{"vars": vars, "delivery_date": date.String(), "pickup_point_id": p.ID, "items": items}}
}
