package night

import (
	"time"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/pickup"
)

// MaxSaleDaysAhead bounds how far ahead a sale may be published: a quarter
// is more than any group buy plans, and a typo in the year is caught.
const MaxSaleDaysAhead = 90

// checkSaleDate refuses a new sale's delivery date before the warehouse's
// today (in its time zone) or more than MaxSaleDaysAhead days after it.
func checkSaleDate(w pickup.Warehouse, date fulfillment.Date, now time.Time) error {
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
