package main

import (
	"net/http"
	"strings"

	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
)

// driverPageURL is the address of a route's driver page: the pass rides in
// the fragment, which a browser never sends to a server nor in a Referer.
func driverPageURL(base, pass string) string {
	return strings.TrimRight(base, "/") + "/console/driver.html#" + pass
}

// driverRoutes are the driver's page's: one route by the pass its route
// sheet's QR code carries (X-Driver-Pass), not by an API token; a pass
// opens its own route only and expires when the delivery day ends.
func (a *app) driverRoutes() []api.Route {
	h := lastmile.NewDriverHandlers(a.deliveries, a.driverPass, a.clock)
	section := "Drivers (a route's pass, no token)"
	errs := []*apperr.Error{lastmile.ErrNoDriverPass, lastmile.ErrBadDriverPass}
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/driver/routes/:id", Access: public, Section: section, Tag: "driver",
			ID: "getDriverRoute", Summary: "A route for its driver's page",
			Doc:     "The route's stops in order with their places, ETAs, bags and delivery states. Needs the route's pass in X-Driver-Pass; another route's pass, or an expired one, is 403.",
			Errors:  append(errs, routeplan.ErrRouteNotFound),
			Handler: api.JSON(h.Route)},
		{Method: http.MethodPost, Path: "/api/v1/driver/routes/:id/stops/:seq/arrive", Access: public, Section: section, Tag: "driver",
			ID: "driverArrive", Summary: "The driver reached a stop",
			Doc:     "As POST /api/v1/ops/routes/{id}/stops/{seq}/arrive, by the route's pass. Takes no body.",
			Errors:  append(errs, routeplan.ErrRouteNotFound, lastmile.ErrStopNotFound, lastmile.ErrNotDispatched),
			Handler: api.JSON(h.Arrive)},
		{Method: http.MethodPost, Path: "/api/v1/driver/routes/:id/stops/:seq/deliver", Access: public, Section: section, Tag: "driver",
			ID: "driverHandOver", Summary: "The driver handed a stop's bags over",
			Doc:     "Records handed_over_at on the stop's delivery (the first time only), and the arrival if it was not marked. The leader still confirms receipt. Takes no body.",
			Errors:  append(errs, routeplan.ErrRouteNotFound, lastmile.ErrStopNotFound, lastmile.ErrNotDispatched),
			Handler: api.JSON(h.HandOver)},
	}
}
