// Package openapi writes the OpenAPI 3.0 document of a route table, by
// reflection over its handlers' request and response types; checks a
// document with a real validator and the strict rules it lets through
// (Problems); and checks live responses against it (Validator).
package openapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

// Options are what the document says beyond the routes.
type Options struct {
	Info    openapi3.Info
	Servers openapi3.Servers
	// Tags declares every tag a route may use, in the document's order.
	Tags openapi3.Tags
	// Types gives the schemas of types that write their own JSON
	// (a date as "YYYY-MM-DD", a time of day as "HH:MM", an enum).
	Types map[reflect.Type]*openapi3.Schema
	// ErrorDetails documents the members some errors carry beside code,
	// message and field (a CSV error's line, sold_out's remaining).
	ErrorDetails []ErrorDetail
}

// ErrorDetail is a member of the error body that some errors carry.
type ErrorDetail struct {
	Name string
	Type reflect.Type
	Doc  string
}

// Generate returns the document of the routes that are not Hidden, as
// indented JSON whose bytes depend only on the routes and opt.
func Generate(routes []api.Route, opt Options) ([]byte, error) {
	doc, err := Build(routes, opt)
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(doc) // maps are written sorted
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := json.Indent(&out, raw, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

const bearer = "bearerAuth"

// Build returns the document of the routes that are not Hidden.
func Build(routes []api.Route, opt Options) (*openapi3.T, error) {
	if err := api.Check(routes); err != nil {
		return nil, err
	}
	info := opt.Info
	g := newSchemas(opt.Types)
	doc := &openapi3.T{
		OpenAPI:  "3.0.3",
		Info:     &info,
		Servers:  opt.Servers,
		Tags:     opt.Tags,
		Security: openapi3.SecurityRequirements{{bearer: {}}},
		Paths:    openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: g.comps,
			SecuritySchemes: openapi3.SecuritySchemes{bearer: {Value: &openapi3.SecurityScheme{
				Type: "http", Scheme: "bearer", Description: "An API token: `Authorization: Bearer <token>`."}}},
			Parameters: openapi3.ParametersMap{"RequestID": {Value: &openapi3.Parameter{Name: "X-Request-ID", In: "header",
				Description: "Optional request id (1 to 64 visible ASCII characters), echoed in the X-Request-ID response header and logged; one is generated when absent or otherwise.",
				Schema:      openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("string"), Pattern: "^[!-~]{1,64}$"})}}},
			Headers: openapi3.Headers{"X-Request-ID": {Value: &openapi3.Header{Parameter: openapi3.Parameter{
				Description: "The request's id (the client's X-Request-ID or a generated one); quote it when reporting a problem.",
				Schema:      openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("string")})}}}},
		},
	}
	if err := errorSchemas(g, opt.ErrorDetails); err != nil {
		return nil, err
	}
	for _, rt := range routes {
		if rt.Hidden {
			continue
		}
		if doc.Tags.Get(rt.Tag) == nil {
			return nil, fmt.Errorf("%s %s: tag %q is not in Options.Tags", rt.Method, rt.Path, rt.Tag)
		}
		op, err := operation(g, rt)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", rt.Method, rt.Path, err)
		}
		path := api.DocPath(rt.Path)
		item := doc.Paths.Value(path)
		if item == nil {
			item = &openapi3.PathItem{}
			doc.Paths.Set(path, item)
		}
		item.SetOperation(rt.Method, op)
	}
	return doc, nil
}

// errorSchemas adds the one error envelope every 4xx and 5xx answers.
func errorSchemas(g *schemas, details []ErrorDetail) error {
	comps := g.comps
	str := func(doc string) *openapi3.SchemaRef {
		return openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("string"), Description: doc})
	}
	yes := true
	comps["ErrorBody"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("object"),
		Description: "What went wrong; some errors carry more members (details).",
		Required:    []string{"code", "message"},
		Properties: openapi3.Schemas{
			"code":    str("Stable machine-readable code: the error's kind (invalid, not_found, ...) or a specific code such as invalid_field or sold_out."),
			"message": str("Human-readable explanation; not stable, do not parse."),
			"field":   str("The offending request field, for invalid_field: a dotted path such as lines[0].quantity, a parameter or a header name."),
		},
		AdditionalProperties: openapi3.AdditionalProperties{Has: &yes}})
	body := comps["ErrorBody"].Value
	for _, d := range details {
		ref, err := g.ref(d.Type)
		if err != nil {
			return fmt.Errorf("error detail %s: %w", d.Name, err)
		}
		s := &openapi3.Schema{Description: d.Doc, AllOf: openapi3.SchemaRefs{ref}}
		if ref.Ref == "" {
			c := *ref.Value
			s = &c
			s.Description = d.Doc
		}
		body.Properties[d.Name] = openapi3.NewSchemaRef("", s)
	}
	comps["Error"] = openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("object"),
		Description: "The one error envelope of the API.",
		Required:    []string{"error"},
		Properties:  openapi3.Schemas{"error": openapi3.NewSchemaRef("#/components/schemas/ErrorBody", nil)}})
	return nil
}

func operation(g *schemas, rt api.Route) (*openapi3.Operation, error) {
	op := &openapi3.Operation{OperationID: rt.OperationID(), Summary: rt.Summary, Description: rt.Doc,
		Tags: []string{rt.Tag}, Responses: openapi3.NewResponses()}
	if rt.Access.Public() {
		op.Security = &openapi3.SecurityRequirements{}
	} else {
		roles := make([]string, len(rt.Access.Roles))
		for i, r := range rt.Access.Roles {
			roles[i] = string(r)
		}
		op.Extensions = map[string]any{"x-roles": roles}
	}
	for _, p := range rt.Handler.Params() {
		s, err := paramSchema(g, p)
		if err != nil {
			return nil, fmt.Errorf("parameter %s: %w", p.Name, err)
		}
		op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: &openapi3.Parameter{
			Name: p.Name, In: p.In, Required: p.Required, Description: p.Doc, Schema: s}})
	}
	op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Ref: "#/components/parameters/RequestID"})
	body, ctype := rt.Handler.Body()
	if body != nil {
		var s *openapi3.SchemaRef
		if ctype == "application/json" || ctype == api.MultipartForm {
			var err error
			if s, err = g.ref(body); err != nil {
				return nil, fmt.Errorf("body: %w", err)
			}
		} else {
			s = openapi3.NewSchemaRef("", &openapi3.Schema{Type: typed("string"), Format: "binary"})
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: &openapi3.RequestBody{Required: true,
			Content: openapi3.Content{ctype: &openapi3.MediaType{Schema: s}}}}
	}
	out, files := rt.Handler.Out()
	var content openapi3.Content
	switch {
	case out != nil:
		s, err := g.ref(out)
		if err != nil {
			return nil, fmt.Errorf("response: %w", err)
		}
		content = openapi3.NewContentWithJSONSchemaRef(s)
	case files != nil:
		content = openapi3.Content{}
		for _, t := range files {
			content[t] = &openapi3.MediaType{} // any bytes: no schema
		}
	}
	for _, s := range append([]int{rt.SuccessStatus()}, rt.AltStatus...) {
		op.Responses.Set(strconv.Itoa(s), response(http.StatusText(s)+".", content, nil))
	}
	failures := errorResponses(rt, len(op.Parameters) > 1 || body != nil)
	for _, s := range slices.Sorted(maps.Keys(failures)) {
		if op.Responses.Value(strconv.Itoa(s)) == nil {
			op.Responses.Set(strconv.Itoa(s), failures[s])
		}
	}
	return op, nil
}

func response(desc string, content openapi3.Content, examples openapi3.Examples) *openapi3.ResponseRef {
	r := &openapi3.Response{Description: &desc, Content: content,
		Headers: openapi3.Headers{"X-Request-ID": {Ref: "#/components/headers/X-Request-ID"}}}
	if examples != nil {
		r.Content["application/json"].Examples = examples
	}
	return &openapi3.ResponseRef{Value: r}
}

// sharedFailure is a failure any route of a kind may answer: what its
// description says, and its codes.
type sharedFailure struct {
	desc  string
	codes []string
}

// sharedFailures are the shared failures, by status.
var sharedFailures = map[int]sharedFailure{
	http.StatusBadRequest: {"Malformed request: a bad parameter, header or body member (invalid_field, naming it in `field`), a body that is not JSON (bad_json), cannot be read (bad_body) or is too large (body_too_large).",
		[]string{"invalid_field", "bad_json", "bad_body", "body_too_large"}},
	http.StatusUnauthorized:        {"Missing, malformed, unknown, revoked or expired credentials (unauthorized).", []string{"unauthorized"}},
	http.StatusForbidden:           {"The caller's role may not use this operation (forbidden).", []string{"forbidden"}},
	http.StatusTooManyRequests:     {"Too many writes with this token (too_many_requests); retry after Retry-After seconds.", []string{"too_many_requests"}},
	http.StatusInternalServerError: {"Unexpected failure (internal), logged with the request id.", []string{"internal"}},
	http.StatusServiceUnavailable:  {"A backing service is unavailable (unavailable); retry after Retry-After seconds.", []string{"unavailable"}},
}

// ErrorCodes is the extension of an error response that lists every code
// the operation may answer with that status, for clients and for the
// Validator.
const ErrorCodes = "x-error-codes"

// errorResponses are the failures a route may answer: the shared ones
// that apply to it and its own Errors, each under its kind's status.
func errorResponses(rt api.Route, reads bool) map[int]*openapi3.ResponseRef {
	byStatus := map[int][]*apperr.Error{}
	shared := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
	if reads {
		shared = append(shared, http.StatusBadRequest)
	}
	if !rt.Access.Public() {
		shared = append(shared, http.StatusUnauthorized, http.StatusForbidden)
		if rt.Method != http.MethodGet && rt.Method != http.MethodHead {
			shared = append(shared, http.StatusTooManyRequests)
		}
	}
	descs, codes := map[int]string{}, map[int][]string{}
	for _, s := range shared {
		byStatus[s] = nil
		descs[s], codes[s] = sharedFailures[s].desc, slices.Clone(sharedFailures[s].codes)
	}
	for _, e := range slices.Concat(rt.Access.Errors, rt.Errors) {
		s := Status(e)
		byStatus[s] = append(byStatus[s], e)
	}
	out := map[int]*openapi3.ResponseRef{}
	for s, errs := range byStatus {
		desc := descs[s]
		var examples openapi3.Examples
		var own []string
		for _, e := range errs {
			if examples == nil {
				examples = openapi3.Examples{}
			}
			body := map[string]any{"code": e.Code, "message": e.Message}
			if e.Field != "" {
				body["field"] = e.Field
			}
			examples[e.Code] = &openapi3.ExampleRef{Value: openapi3.NewExample(map[string]any{"error": body})}
			own = append(own, fmt.Sprintf("%s (%s)", e.Code, e.Message))
			codes[s] = append(codes[s], e.Code)
		}
		if len(own) > 0 {
			desc = strings.TrimSpace(desc + " " + http.StatusText(s) + ": " + strings.Join(own, "; ") + ".")
		}
		envelope := openapi3.NewContentWithJSONSchemaRef(openapi3.NewSchemaRef("#/components/schemas/Error", nil))
		r := response(desc, envelope, examples)
		slices.Sort(codes[s])
		r.Value.Extensions = map[string]any{ErrorCodes: slices.Compact(codes[s])}
		out[s] = r
	}
	return out
}

// Status is the HTTP status an error is answered with (httpx's one mapping).
func Status(e *apperr.Error) int { return httpx.StatusOf(e.Kind) }

// paramSchema is the schema of a parameter, from its type and tags.
func paramSchema(g *schemas, p api.Param) (*openapi3.SchemaRef, error) {
	s := &openapi3.Schema{Format: p.Format}
	switch {
	case p.Type == timeType && p.Layout == time.DateOnly:
		s.Type, s.Format = typed("string"), "date"
	case p.Type == timeType:
		s.Type, s.Description = typed("string"), "Layout "+p.Layout+"."
	case p.Min != nil:
		s.Type, s.Format = typed("integer"), "int64"
		if p.Type.Kind() == reflect.Int32 {
			s.Format = "int32"
		}
		lo := float64(*p.Min)
		s.Min = &lo
		if *p.Max != math.MaxInt64 { // int64 says it, and a float64 cannot
			hi := float64(*p.Max)
			s.Max = &hi
		}
	case p.Type.Kind() == reflect.String && !implements(p.Type, textMarshaler):
		s.Type = typed("string")
		if p.MaxLen > 0 {
			n := uint64(p.MaxLen)
			s.MaxLength = &n
		}
	default:
		ref, err := g.ref(p.Type)
		if err != nil || ref.Ref != "" {
			return ref, err
		}
		s = ref.Value
		if p.Format != "" {
			s.Format = p.Format
		}
	}
	for _, e := range p.Enum {
		s.Enum = append(s.Enum, e)
	}
	return openapi3.NewSchemaRef("", s), nil
}
