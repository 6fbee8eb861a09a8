package main

import (
	"net/http"

	"groupbuy/fulfillment/daysummary"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
)

// summaryRoutes are the day's summary of a wave (fulfillment/daysummary).
func summaryRoutes(a *app) []api.Route {
	h := daysummary.NewHandlers(a.db)
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/summary", Access: staffReads, Section: "Ops: the last mile", Tag: "ops",
			ID: "waveSummary", Summary: "A wave's day in figures",
			Doc: "How the day of the wave went, as far as it has gone: fill rate (units received in good order at the pickup points / units ordered), " +
				"cut rate (units cut for shortage / units ordered), on-time stops (reached within their planned window / stops), km and cost per order " +
				"(the routes' planned distance and cost / orders), collection rate (parcel units collected / units ready), and the counts they come from. " +
				"Rates are fractions rounded to four places.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.WaveSummary)},
	}
}
