package main

import (
	"context"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/stock"
	"groupbuy/fulfillment/supplieraccount"
	"groupbuy/fulfillment/supply"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/httpx"
	"groupbuy/internal/ratelimit"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
)

// The route table: every route the process serves, who may call it, its
// typed handler and its documentation. The router (api.Register), the
// OpenAPI document (openapi.json) and the README's access table all come
// from it (openapi.go writes the last two: go generate ./cmd/groupbuy).
//
// routes lists the sections in the order the README shows them; each
// section is a function of the handlers returning its rows. A new area adds
// its section function in a file of its own (routes_supply.go:
// supplyRoutes(h)) and one line to routes.

// Who may call a route, by intent. Admin is listed wherever staff are: an
// admin does what ops does, but does not act as a leader.
var (
	public       = api.Access{Name: "public"}
	leaders      = api.Access{Name: "leaders", Roles: []auth.Role{auth.RoleLeader}, Errors: errs(pickup.ErrNoPoint)}
	tokenHolders = api.Access{Name: "token holders", Roles: []auth.Role{auth.RoleLeader, auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}}
	// staffReads lets warehouse staff, ops and admins read the ops API.
	staffReads = api.Access{Name: "staff reads", Roles: []auth.Role{auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}}
	// warehouseWrites lets warehouse staff (and ops, admins) record what
	// happens on the floor: receipts, dispatch, arrival.
	warehouseWrites = api.Access{Name: "warehouse writes", Roles: staffReads.Roles}
	// opsWrites lets ops and admins shape the catalog, the network and the night.
	opsWrites = api.Access{Name: "ops writes", Roles: []auth.Role{auth.RoleOps, auth.RoleAdmin}}
	admins    = api.Access{Name: "admins", Roles: []auth.Role{auth.RoleAdmin}}
	// consoleSession is opsWrites by bearer header or by the console's
	// session cookie, for pages a browser navigates to.
	consoleSession = api.Access{Name: "console session", Roles: opsWrites.Roles, Session: true}
)

// allRoles are the columns of the README's access table.
var allRoles = []auth.Role{auth.RoleLeader, auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin}

// handlers are the domain packages' handlers the table calls.
type handlers struct {
	pickup     *pickup.Handlers
	notices    *notice.Handlers
	catalog    *catalog.Handlers
	orders     *intake.Handlers
	night      *night.Handlers
	fleet      *routeplan.Handlers
	lastMile   *lastmile.Handlers
	commission *commission.Handlers
	supply     *supply.Handlers
	account    *supplieraccount.Handlers
}

func (a *app) handlers() handlers {
	p := pickup.NewHandlers(a.pickup)
	p.Demand = func(ctx context.Context, warehouseID int64, date time.Time) ([]pickup.Demand, error) {
		return intake.DemandByPoint(ctx, a.db, warehouseID, date)
	}
	cat := catalog.NewHandlers(a.catalog)
	cat.Stock = func(ctx context.Context, warehouseID int64, date fulfillment.Date, ids []int64) (map[int64]int64, error) {
		return stock.UsableStock(ctx, a.db, warehouseID, date, ids)
	}
	return handlers{pickup: p, notices: notice.NewHandlers(a.db), catalog: cat, orders: intake.NewHandlers(a.intake),
		night: night.NewHandlers(a.waves), fleet: routeplan.NewHandlers(a.fleet),
		lastMile: lastmile.NewHandlers(a.deliveries, a.desk), commission: commission.NewHandlers(a.commission),
		supply: supply.NewHandlers(a.supply, a.db), account: supplieraccount.NewHandlers(supplieraccount.NewService(a.db, a.clock, a.supply), a.db)}
}

// routes is the table.
func (a *app) routes() []api.Route {
	h := a.handlers()
	return slices.Concat(
		a.systemRoutes(),
		leaderRoutes(h),
		nearbyRoutes(h),
		networkRoutes(h),
		catalogRoutes(h),
		nightRoutes(h),
		lastMileRoutes(h),
		summaryRoutes(a),
		commissionRoutes(h),
		supplyRoutes(h),
		operableRoutes(a),
		aftersaleRoutes(a),
		a.consoleRoutes(),
		a.driverRoutes(),
		a.metricsRoutes(),
		a.tokenRoutes(h),
	)
}

func errs(e ...*apperr.Error) []*apperr.Error { return e }

// Errors that are written where they happen, with the values in the
// message; the table documents them by code.
var (
	errDuplicateCode            = apperr.Errorf(apperr.Conflict, "duplicate_code", "a warehouse with this code exists")
	errHandoverRequired         = apperr.Errorf(apperr.Conflict, "handover_required", "the point has another leader: hand it over instead")
	errUnknownSKU               = apperr.Errorf(apperr.Unprocessable, "unknown_sku", "no product has this sku")
	errUnknownProduct           = apperr.Errorf(apperr.Unprocessable, "unknown_product", "no product has this id")
	errUnknownReceiptItem       = apperr.Errorf(apperr.Unprocessable, "unknown_sale_item", "every sale item must belong to this wave's warehouse and date")
	errReceiptMismatch          = apperr.Errorf(apperr.Unprocessable, "receipt_mismatch", "the received lines do not match the delivery")
	errReceiptExceedsDelivery   = apperr.Errorf(apperr.Unprocessable, "receipt_exceeds_delivery", "a line's missing and damaged units exceed what was sent")
	errQuantityExceedsCollected = apperr.Errorf(apperr.Unprocessable, "quantity_exceeds_collected", "at most the collected units can be refunded")
	errPrintoutsOff             = apperr.Errorf(apperr.Unavailable, "printouts_off", "printouts are not configured")
	errBadCSV                   = apperr.Errorf(apperr.Invalid, "bad_csv", "the CSV is empty, has a header but no rows, or cannot be read")
	errBadCSVRow                = apperr.Errorf(apperr.Invalid, "bad_csv_row", "line 7: a row (or the header) breaks a rule, named with its column; nothing was imported")
	errDeliveryDateMismatch     = apperr.Errorf(apperr.Unprocessable, "delivery_date_mismatch", "the sale items are for delivery on another date than the order's delivery_date")
)

// systemRoutes are the process's own: health, and this API's document.
func (a *app) systemRoutes() []api.Route {
	section := "System (no token)"
	quiet := []gin.HandlerFunc{httpx.QuietAccess}
	return []api.Route{
		{Method: http.MethodGet, Path: "/healthz", Access: public, Section: section, Tag: "system",
			ID: "getHealth", Summary: "Health check", Before: quiet, AltStatus: []int{http.StatusServiceUnavailable},
			Doc: "Pings PostgreSQL and Redis (2 s timeout) and reports the job worker's last heartbeat. Needs no token. The 503 answer has the same shape as the 200 one, not the error envelope.",
			Handler: api.JSON(func(c *gin.Context, _ struct{}) (Health, error) {
				h, ok := a.health(c)
				if !ok {
					api.SetStatus(c, http.StatusServiceUnavailable)
				}
				return h, nil
			})},
		// Load balancers probe with GET or HEAD; net/http drops HEAD's body.
		{Method: http.MethodHead, Path: "/healthz", Access: public, Section: section, Tag: "system",
			ID: "headHealth", Summary: "Health check without a body", Before: quiet, AltStatus: []int{http.StatusServiceUnavailable},
			Doc: "GET /healthz for load balancers that probe with HEAD: the same checks and status, no body. Needs no token.",
			Handler: api.Raw(func(c *gin.Context) {
				status := http.StatusOK
				h, ok := a.health(c)
				if !ok {
					status = http.StatusServiceUnavailable
				}
				c.JSON(status, h)
			})},
		{Method: http.MethodGet, Path: "/openapi.json", Access: public, Section: section, Tag: "system",
			ID: "getOpenAPI", Summary: "This OpenAPI document", Doc: "Returns this document (OpenAPI 3.0.3). Needs no token.",
			Handler: api.File(func(*gin.Context, struct{}) (api.Download, error) {
				return api.Download{ContentType: "application/json", Body: openAPIJSON}, nil
			}, "application/json")},
	}
}

// leaderRoutes are the leader app's: a leader token acts for its own pickup point only.
func leaderRoutes(h handlers) []api.Route {
	section := "Leader app"
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/leader/me", Access: leaders, Section: section, Tag: "leader",
			ID: "getLeaderSite", Summary: "The calling leader, their pickup point and warehouse",
			Doc:     "Who the leader token belongs to, the pickup point they run and the warehouse that serves it (its time zone, cutoff and delivery window).",
			Handler: api.JSON(h.pickup.Me)},
		{Method: http.MethodGet, Path: "/api/v1/leader/catalog", Access: leaders, Section: section, Tag: "leader",
			ID: "getCatalog", Summary: "What the leader can sell for a delivery date",
			Doc:     "The sale items of the leader's warehouse for the delivery date with price (fen) and remaining stock, the cutoff instant and whether ordering is still open.",
			Handler: api.JSON(h.catalog.LeaderCatalog)},
		{Method: http.MethodPost, Path: "/api/v1/leader/orders", Access: leaders, Section: section, Tag: "leader",
			ID: "placeOrder", Summary: "Place an order for a resident",
			Doc:    "Places one order for one resident of the leader's pickup point. The delivery date is that of the sale items; all lines must share it and ordering must be before the warehouse's cutoff (cutoff_local on the day before, local time). Stock is taken atomically: an order is placed whole or not at all, and never beyond a sale item's stock cap. Requires an Idempotency-Key: a retry with the same key and body is answered 200 with the original order (even if since cancelled) and the header Idempotent-Replayed: true.",
			Status: http.StatusCreated, AltStatus: []int{http.StatusOK},
			Errors: errs(pickup.ErrResidentNotFound, intake.ErrSoldOut, intake.ErrIdempotencyReused, intake.ErrCutoffPassed,
				intake.ErrUnknownSaleItem, intake.ErrMixedDeliveryDates, errDeliveryDateMismatch, intake.ErrOverloaded, intake.ErrShuttingDown),
			Handler: api.JSON(h.orders.Place)},
		{Method: http.MethodGet, Path: "/api/v1/leader/orders", Access: leaders, Section: section, Tag: "leader",
			ID: "listLeaderOrders", Summary: "The orders of the leader's point for a delivery date",
			Doc:     "Orders of the calling leader's pickup point for the delivery date, placed and cancelled, by id, one page at a time, with totals over all of them. Orders belong to the point: after a handover the new leader sees those placed before it, the old one none.",
			Handler: api.JSON(h.orders.LeaderOrders)},
		{Method: http.MethodGet, Path: "/api/v1/leader/orders/:id", Access: leaders, Section: section, Tag: "leader",
			ID: "getLeaderOrder", Summary: "One of the leader's orders",
			Doc:     "One order of the calling leader's pickup point (whoever placed it).",
			Errors:  errs(intake.ErrOrderNotFound, intake.ErrNotYourOrder),
			Handler: api.JSON(h.orders.LeaderOrder)},
		{Method: http.MethodPost, Path: "/api/v1/leader/orders/:id/cancel", Access: leaders, Section: section, Tag: "leader",
			ID: "cancelLeaderOrder", Summary: "Cancel an order of the leader's point",
			Doc:     "Cancels a placed order while its wave is open (before the cutoff and not closed early by ops) and gives its units back to stock. Takes no body. Cancelling an order that is already cancelled returns it unchanged (200), also after the cutoff.",
			Errors:  errs(intake.ErrOrderNotFound, intake.ErrNotYourOrder, intake.ErrCutoffPassed),
			Handler: api.JSON(h.orders.Cancel)},
		{Method: http.MethodGet, Path: "/api/v1/leader/deliveries", Access: leaders, Section: section, Tag: "leader",
			ID: "listLeaderDeliveries", Summary: "What arrives at the leader's point",
			Doc:     "The deliveries to the leader's pickup point for a delivery date (made when the wave is ready): route and stop, ETA, bags per zone, and per SKU what is sent and, once received, what the leader confirmed.",
			Handler: api.JSON(h.lastMile.LeaderDeliveries)},
		{Method: http.MethodPost, Path: "/api/v1/leader/deliveries/:id/receive", Access: leaders, Section: section, Tag: "leader",
			ID: "receiveDelivery", Summary: "Confirm receipt of a delivery (签收)",
			Doc:     "The leader confirms per SKU what came, was missing and was damaged (SKUs not listed arrived complete). Missing and damaged units are refunded, taken from the latest orders of that SKU at the point first, each affected resident gets a refund notice; the rest becomes ready for pickup, each resident gets a 6-digit pickup code and one arrival notice. Receiving a received delivery changes nothing and answers it as recorded.",
			Errors:  errs(lastmile.ErrDeliveryNotFound, lastmile.ErrNotArrived, errReceiptMismatch, errReceiptExceedsDelivery, errUnknownReceiptItem),
			Handler: api.JSON(h.lastMile.Receive)},
		{Method: http.MethodPost, Path: "/api/v1/leader/pickups/verify", Access: leaders, Section: section, Tag: "leader",
			ID: "verifyPickupCode", Summary: "Verify a pickup code (核销)",
			Doc:     "Shows the parcels a resident's pickup code opens at the leader's point: the code's deliveries of the last 14 days (pickup.CodeLifeDays), within which a point never issues a code twice. A wrong code counts against the leader: after 10 in a minute (GROUPBUY_CODE_ATTEMPTS) every verification answers 429 until the minute is over, so codes cannot be guessed.",
			Errors:  errs(lastmile.ErrUnknownCode, ratelimit.ErrRateLimited),
			Handler: api.JSON(h.lastMile.Verify)},
		{Method: http.MethodPost, Path: "/api/v1/leader/pickups/collect", Access: leaders, Section: section, Tag: "leader",
			ID: "collectParcels", Summary: "Hand parcels over",
			Doc:     "Marks a code's waiting lines collected (all, or those named) and accrues the leader's commission on them, in one transaction. Lines already collected stay as they are, so confirming twice changes nothing. A code that opens more than one resident's parcels (issued before codes were unique across dates) collects only the lines named. Wrong codes count as in verify.",
			Errors:  errs(lastmile.ErrUnknownCode, lastmile.ErrParcelReturned, lastmile.ErrUnknownLine, lastmile.ErrCodeAmbiguous, ratelimit.ErrRateLimited),
			Handler: api.JSON(h.lastMile.Collect)},
		{Method: http.MethodPut, Path: "/api/v1/leader/residents/:id/contact", Access: leaders, Section: section, Tag: "leader",
			ID: "setResidentContact", Summary: "Set a resident's e-mail and opt-outs",
			Doc:     "For a resident of the leader's point: the e-mail address notices may go to, and the channels (webhook, sms, email) they refuse. A refused channel is skipped; the next one in the fallback order is tried.",
			Errors:  errs(pickup.ErrResidentNotFound),
			Handler: api.JSON(h.pickup.SetContact)},
		{Method: http.MethodGet, Path: "/api/v1/leader/commissions", Access: leaders, Section: section, Tag: "leader",
			ID: "leaderCommissions", Summary: "The leader's commission",
			Doc:     "The calling leader's commission ledger for delivery dates from..to (at most 366 days), with totals over the whole range, paged by id.",
			Handler: api.JSON(h.commission.LeaderCommissions)},
	}
}

// nearbyRoutes are for every token: where pickup points are is no secret.
func nearbyRoutes(h handlers) []api.Route {
	section := "Everyone with a token"
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/pickup-points/nearby", Access: tokenHolders, Section: section, Tag: "pickup",
			ID: "nearbyPickupPoints", Summary: "Pickup points nearest a location",
			Doc:     "Pickup points within radius_m of (lat, lng), nearest first, by great-circle distance; distance ≤ radius_m is inside. Answered from each API process's in-memory H3 index, which sees every point committed at least a second before the request (it polls PostgreSQL for rows written since its last look). For residents choosing where to collect and ops placing a new point.",
			Handler: api.JSON(h.pickup.Nearby)},
	}
}

// networkRoutes are the pickup network's: warehouses, their maps and fleets, pickup points.
func networkRoutes(h handlers) []api.Route {
	section := "Ops: warehouses, pickup points and the map"
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/warehouses", Access: opsWrites, Section: section, Tag: "ops",
			ID: "createWarehouse", Summary: "Create a warehouse",
			Doc:    "Creates a warehouse with its time zone, nightly cutoff and delivery window (times of day HH:MM local to the warehouse).",
			Status: http.StatusCreated, Errors: errs(errDuplicateCode),
			Handler: api.JSON(h.pickup.CreateWarehouse)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses", Access: staffReads, Section: section, Tag: "ops",
			ID: "listWarehouses", Summary: "List warehouses",
			Doc:     "Every warehouse, by id.",
			Handler: api.JSON(h.pickup.ListWarehouses)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWarehouse", Summary: "Get a warehouse",
			Doc:     "One warehouse.",
			Errors:  errs(pickup.ErrWarehouseNotFound),
			Handler: api.JSON(h.pickup.Warehouse)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/service-area", Access: staffReads, Section: section, Tag: "ops",
			ID: "getServiceArea", Summary: "A warehouse's service area",
			Doc:     "The resolution-7 H3 cells the warehouse serves and their GeoJSON outline; no cells when it has none.",
			Errors:  errs(pickup.ErrWarehouseNotFound),
			Handler: api.JSON(h.pickup.ServiceArea)},
		{Method: http.MethodPut, Path: "/api/v1/ops/warehouses/:id/service-area", Access: opsWrites, Section: section, Tag: "ops",
			ID: "setServiceArea", Summary: "Set a warehouse's service area",
			Doc:     "Replaces the cells the warehouse serves, given as H3 cells or as a GeoJSON Polygon or MultiPolygon filled with the resolution-7 cells whose centres it contains (h3 polygonToCells). Rings are closed, with no edge over 180° of longitude (a polygon crossing the antimeridian is cut in two). A polygon or cell given more than once counts once; polygons whose fill, as h3 estimates the cells it allocates for each bounding box and weighted by their vertices, would take more work than the largest polygon allowed (an estimate of 2,000,000 cells at 1,000 vertices) are refused (400) before any is filled. While no warehouse has a service area, points are served by the warehouse they name; once any has one, a new or updated point must lie in a service area (else 422 outside_service_area) and goes to the named warehouse if it serves the point, else to the nearest serving one. Existing points are not moved.",
			Errors:  errs(pickup.ErrWarehouseNotFound),
			Handler: api.JSON(h.pickup.SetServiceArea)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/areas", Access: staffReads, Section: section, Tag: "ops",
			ID: "deliveryAreas", Summary: "Delivery areas (网格) of a warehouse for a date",
			Doc:     "Partitions the warehouse's pickup points, weighted by the placed orders' weight and volume for the delivery date, into contiguous groups of resolution-8 H3 cells each within max_kg and max_l (one vehicle). Deterministic for the same points and orders. A cell that alone exceeds the limit is split by its points (split: true); a single point over the limit is an area of its own (over_limit: true), the only areas over the limit. Points without orders are included with no weight.",
			Errors:  errs(pickup.ErrWarehouseNotFound),
			Handler: api.JSON(h.pickup.DeliveryAreas)},
		{Method: http.MethodPost, Path: "/api/v1/ops/warehouses/:id/vehicle-types", Access: opsWrites, Section: section, Tag: "ops",
			ID: "saveVehicleType", Summary: "Create or update a vehicle type of a warehouse",
			Doc:     "Creates the vehicle type, or updates the warehouse's one with the same code. Capacities are grams and millilitres, costs fen, shift times HH:MM local to the warehouse. Answers 200 whether created or updated.",
			Errors:  errs(pickup.ErrWarehouseNotFound),
			Handler: api.JSON(h.fleet.SaveVehicleType)},
		{Method: http.MethodGet, Path: "/api/v1/ops/warehouses/:id/vehicle-types", Access: staffReads, Section: section, Tag: "ops",
			ID: "listVehicleTypes", Summary: "List a warehouse's vehicle types",
			Doc:     "The warehouse's vehicle types by code. An unknown warehouse gives an empty list, not 404.",
			Handler: api.JSON(h.fleet.VehicleTypes)},
		{Method: http.MethodPost, Path: "/api/v1/ops/pickup-points", Access: opsWrites, Section: section, Tag: "ops",
			ID: "savePickupPoint", Summary: "Create or update a pickup point and its leader",
			Doc:     "Creates the pickup point, or updates the one with the same code. The leader is found by phone or created; an existing leader's name is updated. A newly created leader gets a bearer token, returned once as leader_token. A leader runs at most one pickup point. An existing point keeps its leader: saving it with another leader's phone is refused (409 handover_required); hand it over with POST /pickup-points/{id}/handover, which moves its orders and keeps a record. Answers 201 for updates too.",
			Status:  http.StatusCreated,
			Errors:  errs(pickup.ErrWarehouseNotFound, pickup.ErrLeaderHasPoint, errHandoverRequired, pickup.ErrOutsideServiceArea, pickup.ErrWarehouseDoesNotServe),
			Handler: api.JSON(h.pickup.SavePoint)},
		{Method: http.MethodPost, Path: "/api/v1/ops/pickup-points/import", Access: opsWrites, Section: section, Tag: "ops",
			ID: "importPickupPoints", Summary: "Import pickup points from CSV",
			Doc:     "Creates or updates pickup points and their leaders from a CSV file, all or nothing: the first bad row is reported with its line and nothing is stored. UTF-8, with or without BOM, at most 32 MiB. The header row names the columns (any order, case-insensitive; extra columns are ignored): code, warehouse_code, name, address, lat, lng, opens, closes, leader_name, leader_phone, and optionally receiving_from, receiving_until (the hours the point takes the delivery, HH:MM local: both or neither). Field rules are those of POST /api/v1/ops/pickup-points; warehouse_code names an existing warehouse by code (it may be empty once service areas exist: the nearest warehouse serving the point is chosen); a row outside every service area, or naming a warehouse that does not serve it, is refused with 422 and its line; opens/closes are HH:MM local to the warehouse. Each code at most once per file.",
			Errors:  errs(errBadCSV, errBadCSVRow, pickup.ErrOutsideServiceArea, pickup.ErrWarehouseDoesNotServe),
			Handler: api.JSON(h.pickup.ImportPoints)},
		{Method: http.MethodGet, Path: "/api/v1/ops/pickup-points", Access: staffReads, Section: section, Tag: "ops",
			ID: "listPickupPoints", Summary: "List pickup points",
			Doc:     "Pickup points by id, all or those of one warehouse.",
			Handler: api.JSON(h.pickup.ListPoints)},
		{Method: http.MethodGet, Path: "/api/v1/ops/pickup-points/:id", Access: staffReads, Section: section, Tag: "ops",
			ID: "getPickupPoint", Summary: "Get a pickup point",
			Doc:     "One pickup point.",
			Errors:  errs(pickup.ErrPointNotFound),
			Handler: api.JSON(h.pickup.Point)},
		{Method: http.MethodPost, Path: "/api/v1/ops/pickup-points/:id/handover", Access: opsWrites, Section: section, Tag: "ops",
			ID: "handOverPickupPoint", Summary: "Hand a pickup point over to another leader",
			Doc:    "Gives the pickup point to the leader with this phone (created if new; an existing leader's name is updated) and records who did it, when, and from which leader to which. The point's orders, deliveries, parcels and pickup codes belong to the point and go with it at once: from now on every leader route resolves the point through its current leader, so the new leader's token reads, cancels, receives and verifies the point's open orders, deliveries and codes, and the old leader's token sees nothing of the point (403 no_pickup_point, or 403 not_your_order for one of its orders). Commission accrues to the leader running the point when a parcel is collected; what the old leader earned stays his, and his token still reads his ledger. Saving the point (POST /pickup-points or the CSV import) with another leader's phone is refused with handover_required instead. A newly created leader gets a bearer token, returned once as leader_token.",
			Status: http.StatusCreated, Errors: errs(pickup.ErrPointNotFound, pickup.ErrSameLeader, pickup.ErrLeaderHasPoint),
			Handler: api.JSON(h.pickup.HandOver)},
		{Method: http.MethodGet, Path: "/api/v1/ops/pickup-points/:id/handovers", Access: staffReads, Section: section, Tag: "ops",
			ID: "listPickupPointHandovers", Summary: "List a pickup point's handovers",
			Doc:     "Every handover of the pickup point, oldest first: from which leader to which, by which staff token, when.",
			Errors:  errs(pickup.ErrPointNotFound),
			Handler: api.JSON(h.pickup.Handovers)},
	}
}

// catalogRoutes are what is for sale, and the orders placed for it.
func catalogRoutes(h handlers) []api.Route {
	section := "Ops: catalog, sale items and orders"
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/products", Access: opsWrites, Section: section, Tag: "ops",
			ID: "saveProduct", Summary: "Create or update a product",
			Doc:     "Creates the product, or updates the one with the same SKU. Weights are grams, volumes millilitres. Answers 200 whether created or updated.",
			Handler: api.JSON(h.catalog.SaveProduct)},
		{Method: http.MethodPost, Path: "/api/v1/ops/products/import", Access: opsWrites, Section: section, Tag: "ops",
			ID: "importProducts", Summary: "Import products from CSV",
			Doc:     "Creates or updates products by SKU from a CSV file, all or nothing: the first bad row is reported with its line and nothing is stored. UTF-8, with or without BOM, at most 32 MiB. The header row names the columns (any order, case-insensitive; extra columns are ignored): sku, name, unit, weight_g (integer grams), volume_ml (integer millilitres), zone (ambient, chilled or frozen), bin, and optionally category. Field rules are those of POST /api/v1/ops/products. Each SKU at most once per file.",
			Errors:  errs(errBadCSV, errBadCSVRow),
			Handler: api.JSON(h.catalog.ImportProducts)},
		{Method: http.MethodGet, Path: "/api/v1/ops/products", Access: staffReads, Section: section, Tag: "ops",
			ID: "listProducts", Summary: "List products",
			Doc:     "The products by id, a page at a time: 200 by default, at most 1000 (limit); pass next_after_id as after_id for the next page while has_more.",
			Handler: api.JSON(h.catalog.ListProducts)},
		{Method: http.MethodPost, Path: "/api/v1/ops/sale-items", Access: opsWrites, Section: section, Tag: "ops",
			ID: "publishSaleItems", Summary: "Put products on sale for a delivery date",
			Doc:     "Publishes products at a warehouse for a delivery date with a unit price in fen and a stock cap, opening the date's wave if needed. Publishing a product that is already on sale for that warehouse and date updates its price and cap (existing orders keep their price). All or nothing. Answers 200.",
			Errors:  errs(pickup.ErrWarehouseNotFound, catalog.ErrCapBelowSold, wave.ErrNotOpen, errUnknownSKU, errUnknownProduct),
			Handler: api.JSON(h.catalog.Publish)},
		{Method: http.MethodGet, Path: "/api/v1/ops/sale-items", Access: staffReads, Section: section, Tag: "ops",
			ID: "listSaleItems", Summary: "List a warehouse's sale items for a delivery date",
			Doc:     "The sale items of one warehouse for one delivery date, by SKU, with sold and remaining units.",
			Handler: api.JSON(h.catalog.ListSaleItems)},
		{Method: http.MethodPatch, Path: "/api/v1/ops/sale-items/:id", Access: opsWrites, Section: section, Tag: "ops",
			ID: "setSaleItemStockCap", Summary: "Change a sale item's stock cap",
			Doc:     "Sets the stock cap; it cannot go below the units already sold.",
			Errors:  errs(catalog.ErrSaleItemNotFound, catalog.ErrCapBelowSold, wave.ErrNotOpen),
			Handler: api.JSON(h.catalog.SetCap)},
		{Method: http.MethodGet, Path: "/api/v1/ops/orders", Access: staffReads, Section: section, Tag: "ops",
			ID: "listOrders", Summary: "List orders for a delivery date",
			Doc:     "Orders for the delivery date, placed and cancelled, optionally of one warehouse and/or pickup point, by id, one page at a time, with totals over the whole selection.",
			Handler: api.JSON(h.orders.Orders)},
	}
}

// nightRoutes are the night's: waves, their stages, receipts, plans and printouts.
func nightRoutes(h handlers) []api.Route {
	section := "Ops: the night"
	return []api.Route{
		{Method: http.MethodGet, Path: "/api/v1/ops/waves", Access: staffReads, Section: section, Tag: "ops",
			ID: "listWaves", Summary: "List the waves of a delivery date",
			Doc:     "Every warehouse's wave for the delivery date, by warehouse, each with its refunds and stage history (a date has one wave per warehouse).",
			Handler: api.JSON(h.night.ListWaves)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWave", Summary: "Get a wave",
			Doc:     "One wave with its totals, refunds and stage history.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.night.Wave)},
		{Method: http.MethodPost, Path: "/api/v1/ops/waves/:id/close", Access: opsWrites, Section: section, Tag: "ops",
			ID: "closeWave", Summary: "Close a wave now",
			Doc:     "The manual cutoff: ordering (and cancelling) for the wave stops now, whatever the clock says; the totals are frozen and allocation is queued. Closing a wave that is not open changes nothing and returns it. Takes no body.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.night.Close)},
		{Method: http.MethodPost, Path: "/api/v1/ops/waves/:id/stages/:stage/rerun", Access: opsWrites, Section: section, Tag: "ops",
			ID: "rerunWaveStage", Summary: "Queue a stage of a wave again",
			Doc:    "Queues the stage as a new background job, e.g. after a failure recorded in the wave's stage history. A stage acts only on a wave in the state before it, so rerunning a stage already done changes nothing; the close stage run this way does not close a wave before its cutoff (use POST .../close). Takes no body.",
			Status: http.StatusAccepted, Errors: errs(wave.ErrNotFound),
			Handler: api.JSON(h.night.Rerun)},
		{Method: http.MethodPut, Path: "/api/v1/ops/waves/:id/receipts", Access: warehouseWrites, Section: section, Tag: "ops",
			ID: "recordWaveReceipts", Summary: "Record what the warehouse received for a wave",
			Doc:     "Stores the units received per sale item (overwriting earlier receipts of the same items) and optionally the allocation policy, until the wave is allocated. With final: true on a closed wave, allocation is queued: SKUs received short are cut by the policy and the cut units refunded. Warehouse staff may call it.",
			Errors:  errs(wave.ErrNotFound, night.ErrWaveAllocated, errUnknownReceiptItem),
			Handler: api.JSON(h.night.RecordReceipts)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/routes", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWaveRoutes", Summary: "A wave's delivery routes",
			Doc:     "The planned routes with their stops, and the points the plan could not serve. Empty before the route stage.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.fleet.WaveRoutes)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/pick-list", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWavePickList", Summary: "A wave's total pick list",
			Doc:     "The pick stage's total pick list, per temperature zone in bin (walking) order. Empty before the pick stage.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.night.PickList)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/sort-plan", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWaveSortPlan", Summary: "A wave's sorting plan",
			Doc:     "SKU × route × stop quantities, in route and stop order, so a sorter fills one route's bags at a time. Before the route stage the lines have no route.",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.night.SortPlan)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/printouts/:file", Access: staffReads, Section: section, Tag: "ops",
			ID: "getWavePrintout", Summary: "Download a wave's printout (PDF or CSV)",
			Doc:     "Warehouse paper, rendered by the wave's stages and kept, so a reprint is instant and byte-identical: pick-list (总拣单, A4, one section per temperature zone, bins in walking order), sort-sheet (分拣单, A4, per route: each SKU's units per stop), labels (100 × 150 mm, one per leader bag and zone, with a QR code \"GB1:wave:bag:route:stop:zone letter:check\" (check: HMAC-SHA256, truncated, base32) signed with GROUPBUY_LABEL_KEY), route-sheet (driver sheet, A4, stops with ETA windows, bags, weight, a map and signature lines). The pick list and whole-wave labels and route sheets are made by the stages; a single zone or route, and sort sheets, are rendered on first request and kept. The CSV has the same lines with English headers.",
			Errors:  errs(wave.ErrNotFound, night.ErrPrintoutNotReady, night.ErrNightArchived, routeplan.ErrRouteNotFound, errPrintoutsOff, errFontsMissing),
			Handler: api.File(h.night.Printout, "application/pdf", "text/csv")},
	}
}

// lastMileRoutes are the trucks' way out: warehouse staff and drivers dispatch and arrive.
func lastMileRoutes(h handlers) []api.Route {
	section := "Ops: the last mile"
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/waves/:id/dispatch", Access: warehouseWrites, Section: section, Tag: "ops",
			ID: "dispatchWave", Summary: "Dispatch every route of a wave",
			Doc:     "Sends every route of a ready wave on its way: the wave becomes dispatched and every routed delivery dispatched. Dispatching again changes nothing. Warehouse staff may call it.",
			Errors:  errs(wave.ErrNotFound, lastmile.ErrWaveNotReady),
			Handler: api.JSON(h.lastMile.DispatchWave)},
		{Method: http.MethodPost, Path: "/api/v1/ops/routes/:id/dispatch", Access: warehouseWrites, Section: section, Tag: "ops",
			ID: "dispatchRoute", Summary: "Dispatch one route",
			Doc:     "One truck leaves: its route and deliveries become dispatched; the wave becomes dispatched with its first truck. Dispatching again changes nothing. Warehouse staff may call it.",
			Errors:  errs(routeplan.ErrRouteNotFound, lastmile.ErrWaveNotReady),
			Handler: api.JSON(h.lastMile.DispatchRoute)},
		{Method: http.MethodPost, Path: "/api/v1/ops/routes/:id/stops/:seq/arrive", Access: warehouseWrites, Section: section, Tag: "ops",
			ID: "arriveAtStop", Summary: "Mark a stop reached (driver)",
			Doc:     "The driver reached stop seq of the route: its delivery becomes arrived; once every routed stop of the wave has arrived (or been received), the wave is delivered. Marking twice keeps the first time. Drivers use warehouse tokens.",
			Errors:  errs(routeplan.ErrRouteNotFound, lastmile.ErrStopNotFound, lastmile.ErrNotDispatched),
			Handler: api.JSON(h.lastMile.Arrive)},
		{Method: http.MethodGet, Path: "/api/v1/ops/waves/:id/deliveries", Access: staffReads, Section: section, Tag: "ops",
			ID: "listWaveDeliveries", Summary: "A wave's deliveries",
			Doc:     "Every delivery of the wave with its state, by route and stop (bags and lines left out; the leader's view has them).",
			Errors:  errs(wave.ErrNotFound),
			Handler: api.JSON(h.lastMile.WaveDeliveries)},
		{Method: http.MethodGet, Path: "/api/v1/ops/notices", Access: staffReads, Section: section, Tag: "ops",
			ID: "noticeStats", Summary: "Notices by kind and state",
			Doc:     "The outbox by notice kind: queued, sent, failed and retrying.",
			Handler: api.JSON(h.notices.Notices)},
	}
}

// commissionRoutes are the leaders' commission and after-sale refunds.
func commissionRoutes(h handlers) []api.Route {
	section := "Ops: commission and after-sale"
	return []api.Route{
		{Method: http.MethodPut, Path: "/api/v1/ops/commission-rates", Access: opsWrites, Section: section, Tag: "ops",
			ID: "setCommissionRate", Summary: "Set a commission rate",
			Doc:     "Sets the default rate, a category's or a product's, in basis points.",
			Errors:  errs(errUnknownProduct),
			Handler: api.JSON(h.commission.SetRate)},
		{Method: http.MethodGet, Path: "/api/v1/ops/commission-rates", Access: staffReads, Section: section, Tag: "ops",
			ID: "listCommissionRates", Summary: "Commission rates",
			Doc:     "Every rate: the default, then categories, then products by SKU.",
			Handler: api.JSON(h.commission.Rates)},
		{Method: http.MethodGet, Path: "/api/v1/ops/leaders/:id/commission-statement.csv", Access: staffReads, Section: section, Tag: "ops",
			ID: "commissionStatement", Summary: "A leader's monthly commission statement (CSV)",
			Doc:     "Every ledger row of the leader for delivery dates in the month, then a total row; UTF-8 with a BOM so spreadsheet programs show Chinese. Columns: date,order_id,line_id,sku,name,kind,quantity,base_fen,rate_bp,amount_fen.",
			Errors:  errs(pickup.ErrLeaderNotFound),
			Handler: api.File(h.commission.Statement, "text/csv")},
		{Method: http.MethodPost, Path: "/api/v1/ops/order-lines/:id/refund", Access: opsWrites, Section: section, Tag: "ops",
			ID: "refundAfterSale", Summary: "After-sale refund of a collected line (售后)",
			Doc:     "Refunds units of a collected order line: a refund ledger row (reason after_sale), the leader's commission reversed in proportion (a full refund nets to zero) and a refund notice to the resident, in one transaction. One after-sale refund per line.",
			Status:  http.StatusCreated,
			Errors:  errs(commission.ErrOrderLineNotFound, commission.ErrAlreadyRefunded, commission.ErrNotCollected, errQuantityExceedsCollected),
			Handler: api.JSON(h.commission.RefundAfterSale)},
	}
}

// tokenRoutes issue and revoke tokens: leaders' by ops, staff's by admins.
func (a *app) tokenRoutes(h handlers) []api.Route {
	section := "Tokens"
	return []api.Route{
		{Method: http.MethodPost, Path: "/api/v1/ops/leaders/:id/tokens", Access: opsWrites, Section: section, Tag: "ops",
			ID: "issueLeaderToken", Summary: "Issue a new token for a leader",
			Doc:    "Issues an additional bearer token for an existing leader (e.g. a new phone). Earlier tokens stay valid. Takes no body.",
			Status: http.StatusCreated, Errors: errs(pickup.ErrLeaderNotFound),
			Handler: api.JSON(h.pickup.IssueLeaderToken)},
		{Method: http.MethodPost, Path: "/api/v1/ops/tokens", Access: admins, Section: section, Tag: "ops",
			ID: "issueStaffToken", Summary: "Issue a staff token",
			Doc:     "Issues a bearer token for a staff role (warehouse, ops or admin). Admin only. The first admin token of an installation comes from the command line: `groupbuy token --role admin --name NAME`.",
			Status:  http.StatusCreated,
			Handler: api.JSON(a.issueStaffToken)},
		{Method: http.MethodGet, Path: "/api/v1/ops/tokens", Access: admins, Section: section, Tag: "ops",
			ID: "listTokens", Summary: "List tokens",
			Doc:     "Lists staff and leader tokens by id, without secrets (only hashes are stored), e.g. to find the id to revoke. Admin only.",
			Handler: api.JSON(a.auth.TokenList)},
		{Method: http.MethodPost, Path: "/api/v1/ops/tokens/:id/revoke", Access: admins, Section: section, Tag: "ops",
			ID: "revokeToken", Summary: "Revoke a token",
			Doc:     "Revokes a staff or leader token: it is refused (401) from then on. This API process forgets it at once; other API processes within their token cache TTL (GROUPBUY_TOKEN_CACHE_TTL, 5 s by default). Revoking a revoked token answers 200 with the same row (the first revocation time stays). Admin only. Takes no body; the answer never holds the secret.",
			Errors:  errs(auth.ErrTokenNotFound),
			Handler: api.JSON(a.auth.RevokeByID)},
	}
}
