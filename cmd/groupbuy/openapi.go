package main

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"groupbuy/cmd/internal/cli"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api"
	"groupbuy/internal/api/openapi"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/pickup/notify"
)

// openAPIJSON describes the HTTP API. It is generated from the route table
// (go generate ./cmd/groupbuy runs groupbuy openapi), and a test fails when
// it is stale.
//
//go:embed openapi.json
var openAPIJSON []byte

//go:generate go run . openapi -o openapi.json -readme ../../README.md

// tableApp is an app with no connections and the default configuration:
// its route table is the one to document.
func tableApp() *app { return &app{} }

// runOpenAPI writes the OpenAPI document of the route table (to stdout, or
// -o FILE) and, with -readme FILE, the README's access table between its
// markers.
func runOpenAPI(args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("openapi", stderr)
	out := fs.String("o", "", "write the document to `FILE` instead of stdout")
	readme := fs.String("readme", "", "rewrite the access table of this README `FILE`")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	routes := tableApp().routes()
	doc, err := openapi.Generate(routes, apiDoc)
	if err != nil {
		return err
	}
	if ps := openapi.Problems(doc); len(ps) > 0 {
		return fmt.Errorf("the generated document is invalid:\n%s", strings.Join(ps, "\n"))
	}
	if *out == "" {
		_, err = stdout.Write(doc)
	} else {
		err = os.WriteFile(*out, doc, 0o644)
	}
	if err != nil || *readme == "" {
		return err
	}
	text, err := os.ReadFile(*readme)
	if err != nil {
		return err
	}
	if text, err = api.WriteAccessTable(text, api.AccessTable(routes, allRoles)); err != nil {
		return err
	}
	return os.WriteFile(*readme, text, 0o644)
}

func str(format, pattern, doc string) *openapi3.Schema {
	return &openapi3.Schema{Type: &openapi3.Types{"string"}, Format: format, Pattern: pattern, Description: doc}
}

func enum[T ~string](values ...T) *openapi3.Schema {
	s := str("", "", "")
	for _, v := range values {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// apiDoc is what the document says beyond the routes: the conventions, the
// tags, the schemas of the types that write their own JSON, and the extra
// members of some errors.
var apiDoc = openapi.Options{
	Info: openapi3.Info{Title: "groupbuy", Version: "1.0.0",
		Description: "HTTP API of groupbuy, the logistics back-end of a community group-buy operator: warehouses, pickup points (自提点) and their group leaders (团长), products and the sale items published for each delivery date, the orders leaders place for residents until the nightly cutoff, and the night's waves: close, allocation of short receipts, picking and delivery routes.\n\nConventions:\n- Money is integer fen (1 yuan = 100 fen): price_fen, amount_fen, total_fen.\n- Weights are integer grams (weight_g), volumes integer millilitres (volume_ml).\n- Dates are calendar dates \"YYYY-MM-DD\" from 2000-01-01 to 2099-12-31 (months \"YYYY-MM\" likewise); others are 400. Ids are positive 64-bit integers.\n- Text people read (names, addresses, units, bins, categories, codes) is one line of UTF-8 without control characters, in JSON and CSV imports alike; else 400 naming the field. Every CSV the system writes gives a cell starting with =, +, -, @, tab or carriage return a leading apostrophe, unless it is a plain number such as -12, so no spreadsheet runs it as a formula.\n- Times of day are \"HH:MM\" (24-hour) local to the warehouse's IANA time_zone. Timestamps are RFC 3339.\n- Orders for delivery date D close at the warehouse's cutoff_local on D-1.\n- Authentication: `Authorization: Bearer <token>` (tokens start with `gb_`). Leader tokens may use only /api/v1/leader/*; staff roles are warehouse (read the ops API), ops (read and write) and admin (everything, including POST /api/v1/ops/tokens). Each operation lists its roles in x-roles. Tokens are stored as SHA-256 hashes, may expire (ttl_hours) and are revoked with POST /api/v1/ops/tokens/{id}/revoke (other API processes stop admitting a revoked token within GROUPBUY_TOKEN_CACHE_TTL, 5 s by default). The README's role table lists every route by role.\n- Rate limit: every write (any method but GET and HEAD) counts against its token, across all API processes; over GROUPBUY_WRITE_LIMIT writes a minute (600 by default) the answer is 429 too_many_requests with Retry-After. Reads are not limited.\n- JSON bodies are at most 1 MiB and parsed strictly: unknown members, trailing data and wrong types are 400 invalid_field or bad_json.\n- Errors share one envelope: {\"error\": {\"code\", \"message\", \"field\"?, ...details}}; statuses 400 invalid, 401 unauthorized, 403 forbidden, 404 not found, 409 conflict, 422 business rule, 429 too many requests (with Retry-After), 500 internal, 503 unavailable (with Retry-After). Unknown paths are 404 and known paths with another method 405 (code method_not_allowed), in the same envelope.\n- Every response carries X-Request-ID (the client's, or generated)."},
	Servers: openapi3.Servers{{URL: "http://127.0.0.1:8080", Description: "Local `groupbuy serve` / `groupbuy dev` (GROUPBUY_ADDR)."}},
	Tags: openapi3.Tags{
		{Name: "leader", Description: "The group leader app: catalog, orders, deliveries and receipt, pickup codes, residents' contact, commission. Leader token required."},
		{Name: "ops", Description: "Operations: warehouses, pickup points, products, sale items, orders, waves, dispatch and arrival, vehicle types, notices, commission and tokens. Staff token required; each operation lists its roles in x-roles."},
		{Name: "system", Description: "Health and this document. No token."},
		{Name: "supply", Description: "The supply side: suppliers and their terms, purchase orders at cutoff and their forecast, receiving at the dock, stock on hand. Staff token required; each operation lists its roles in x-roles."},
		{Name: "refunds", Description: "Refunds and the payment system: the refund ledger, its export, unpaid refunds, and the payment system's signed callback."},
		{Name: "pickup", Description: "The pickup network for leaders and staff: nearby pickup points. Leader or staff token required."},
		{Name: "driver", Description: "A driver's page: one route by the pass its route sheet's QR code carries (X-Driver-Pass), no token."},
	},
	Types: map[reflect.Type]*openapi3.Schema{
		reflect.TypeFor[fulfillment.Date]():  str("date", "", "A calendar date, YYYY-MM-DD."),
		reflect.TypeFor[fulfillment.Month](): str("", `^[0-9]{4}-[0-9]{2}$`, "A month, YYYY-MM."),
		// An unset time of day is written "".
		reflect.TypeFor[clock.TimeOfDay](): str("", `^(([01][0-9]|2[0-3]):[0-5][0-9])?$`,
			"A time of day HH:MM (24-hour), local to the warehouse's time zone."),
		reflect.TypeFor[json.RawMessage]():  {Description: "Any JSON value."},
		reflect.TypeFor[fulfillment.Zone](): enum(fulfillment.Ambient, fulfillment.Chilled, fulfillment.Frozen),
		reflect.TypeFor[auth.Role]():        enum(auth.RoleLeader, auth.RoleWarehouse, auth.RoleOps, auth.RoleAdmin),
		reflect.TypeFor[wave.State](): enum(wave.Open, wave.Closed, wave.Allocated, wave.Picked, wave.Routed, wave.Ready,
			wave.Dispatched, wave.Delivered),
		reflect.TypeFor[wave.Stage]():  enum(wave.Stages...),
		reflect.TypeFor[wave.Policy](): enum(wave.FirstComeFirstServed, wave.SpreadEvenly),
		reflect.TypeFor[lastmile.DeliveryState](): enum(lastmile.DeliveryPending, lastmile.DeliveryDispatched,
			lastmile.DeliveryArrived, lastmile.DeliveryReceived),
		reflect.TypeFor[lastmile.ParcelState](): enum(lastmile.ParcelReady, lastmile.ParcelCollected, lastmile.ParcelReturned),
		reflect.TypeFor[intake.OrderStatus](): enum(intake.Placed, intake.Confirmed, intake.ShortShipped, intake.Delivered, intake.ReadyForPickup,
			intake.Collected, intake.PartlyCollected, intake.Returned, intake.Cancelled),
		reflect.TypeFor[commission.CommissionScope](): enum(commission.ScopeDefault, commission.ScopeCategory, commission.ScopeProduct),
		reflect.TypeFor[notify.Kind]():                enum(notify.KindArrival, notify.KindReminder, notify.KindRefund, notify.KindRefundPaid, notify.KindReturn),
		reflect.TypeFor[fulfillment.RefundState]():    enum(fulfillment.RefundStates...),
		reflect.TypeFor[fulfillment.RefundReason]():   enum(fulfillment.RefundReasons...),
		reflect.TypeFor[aftersale.State]():            enum(aftersale.States...),
		reflect.TypeFor[aftersale.Reason]():           enum(aftersale.Reasons...),
	},
	ErrorDetails: []openapi.ErrorDetail{
		{Name: "line", Type: reflect.TypeFor[int64](), Doc: "bad_csv_row: the 1-based line of the CSV file that was refused; a supplier return's refusal: the 0-based index of the line in lines[]."},
		{Name: "remaining", Type: reflect.TypeFor[[]intake.StockShortfall](),
			Doc: "sold_out only: every line of the order that exceeds the stock left."},
		{Name: "cutoff", Type: reflect.TypeFor[string](),
			Doc: "cutoff_passed only: when ordering for the delivery date ended (UTC, RFC 3339): the wave's cutoff, or the earlier time ops closed it."},
		{Name: "sale_item_id", Type: reflect.TypeFor[int64](),
			Doc: "unknown_sale_item only: the sale item that is not sold at the leader's warehouse."},
		{Name: "retry_after_s", Type: reflect.TypeFor[int64](),
			Doc: "too_many_requests only: seconds until a retry may succeed (also in Retry-After)."},
	},
}
