// Package apperr is the error vocabulary of groupbuy: an error a client may
// see has a kind, which maps to exactly one HTTP status, a stable code and a
// human message.
package apperr

import (
	"errors"
	"fmt"
	"slices"
)

// Kind classifies an error; each kind maps to exactly one HTTP status.
type Kind string

// The error kinds, after benbjohnson/wtf.
const (
	Invalid       Kind = "invalid"       // 400: malformed request or field
	Unauthorized  Kind = "unauthorized"  // 401: missing or bad credentials
	Forbidden     Kind = "forbidden"     // 403: authenticated but not allowed
	NotFound      Kind = "not_found"     // 404
	Conflict      Kind = "conflict"      // 409: state conflict (idempotency, stock)
	Unprocessable Kind = "unprocessable" // 422: a business rule refuses it
	TooMany       Kind = "rate_limited"  // 429
	Unavailable   Kind = "unavailable"   // 503: a dependency is down
	Internal      Kind = "internal"      // 500
)

// Error is an application error a client may see: a kind, a stable code
// (e.g. "sold_out", "cutoff_passed") and a human message.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	// Field names the offending request field for Invalid errors.
	Field string
	// Details carries structured extras, e.g. remaining stock.
	Details map[string]any
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s (%s)", e.Code, e.Message, e.Field)
	}
	return e.Code + ": " + e.Message
}

// Is matches errors by code so domain sentinels work with errors.Is.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error of kind with a code and formatted message. An empty
// code defaults to the kind's name. A string argument longer than MaxQuoted
// characters is cut there (with "…"): messages quote what the client sent
// ("got %q"), and a client may send a megabyte.
func Errorf(kind Kind, code, format string, args ...any) *Error {
	if code == "" {
		code = string(kind)
	}
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, clip(args)...)}
}

// MaxQuoted bounds a string argument of a message, in characters.
const MaxQuoted = 200

// Clip cuts s after MaxQuoted characters, with "…", for a message that
// quotes it.
func Clip(s string) string {
	if len(s) <= MaxQuoted {
		return s
	}
	n := 0
	for j := range s {
		if n == MaxQuoted {
			return s[:j] + "…"
		}
		n++
	}
	return s
}

// clip returns args with each string argument Clipped, in a copy when
// one is cut: the caller's slice stays as it is.
func clip(args []any) []any {
	var out []any
	for i, a := range args {
		if s, ok := a.(string); ok && len(s) > MaxQuoted {
			if out == nil {
				out = slices.Clone(args)
			}
			out[i] = Clip(s)
		}
	}
	if out == nil {
		return args
	}
	return out
}

// InvalidField reports a bad request field, naming it.
func InvalidField(field, format string, args ...any) *Error {
	e := Errorf(Invalid, "invalid_field", format, args...)
	e.Field = field
	return e
}

// With returns a copy of e carrying extra details.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// KindOf returns the kind of err, Internal for anything not an *Error.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Internal
}
