package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// Validator checks live responses against a document: a status the
// operation does not list, a body that does not match its schema (a member
// of no field, a wrong type, a missing required member), or an error code
// the operation does not give for its status, is an error.
type Validator struct {
	router routers.Router
	// Skip, when set, exempts requests from the check, e.g. the console's
	// pages, which are not part of the JSON API.
	Skip func(*http.Request) bool
}

// NewValidator returns a Validator over the document raw, served from any
// host (its servers are ignored).
func NewValidator(raw []byte) (*Validator, error) {
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, err
	}
	doc.Servers = nil
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, err
	}
	return &Validator{router: r}, nil
}

// Check validates one response to req. A request for no operation of the
// document is an error unless it was answered 404 or 405 (the router's own
// answers to unknown paths and methods).
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	if v.Skip != nil && v.Skip(req) {
		return nil
	}
	route, params, err := v.router.FindRoute(req)
	if err != nil {
		if status == http.StatusNotFound || status == http.StatusMethodNotAllowed {
			return nil
		}
		return fmt.Errorf("%s %s answered %d: no operation of the document: %v", req.Method, req.URL.Path, status, err)
	}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		return fmt.Errorf("%s %s answered %d, which %s does not document: %v", req.Method, req.URL.Path, status, route.Operation.OperationID, err)
	}
	if code, ok := undocumentedCode(route.Operation.Responses.Status(status), body); !ok {
		return fmt.Errorf("%s %s answered %d %q, a code %s does not give for %d", req.Method, req.URL.Path, status, code, route.Operation.OperationID, status)
	}
	return nil
}

// undocumentedCode reports the error code of body and whether the response
// lists it among its codes (ErrorCodes); a response that lists none, or a
// body that is not the error envelope, passes.
func undocumentedCode(resp *openapi3.ResponseRef, body []byte) (string, bool) {
	if resp == nil || resp.Value == nil {
		return "", true
	}
	listed, ok := resp.Value.Extensions[ErrorCodes].([]any)
	if !ok {
		return "", true
	}
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error.Code == "" {
		return "", true
	}
	return e.Error.Code, slices.Contains(listed, any(e.Error.Code))
}

// Transport returns a RoundTripper that sends through next (nil: the
// default) and reports each response the document does not describe to
// fail, e.g. a test's Errorf; the response reaches the caller unchanged.
func (v *Validator) Transport(next http.RoundTripper, fail func(error)) http.RoundTripper {
	if next == nil {
		next = http.DefaultTransport
	}
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		resp, err := next.RoundTrip(req)
		if err != nil {
			return resp, err
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(req, resp.StatusCode, resp.Header, body); err != nil {
			fail(err)
		}
		return resp, nil
	})
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
