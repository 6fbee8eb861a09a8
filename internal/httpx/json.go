package httpx

import (
	"bytes"
	"encoding"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"groupbuy/internal/apperr"
)

// DecodeJSON reads the request body strictly into v: bounded size and depth,
// no unknown or repeated fields, UTF-8 text without NUL, no trailing data.
// Errors name the offending field.
func DecodeJSON(c *gin.Context, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(c.Writer, c.Request.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return apperr.Errorf(apperr.Invalid, "body_too_large", "request body exceeds %d bytes", MaxBodyBytes)
		}
		return apperr.Errorf(apperr.Invalid, "bad_body", "cannot read request body: %v", err)
	}
	return DecodeJSONBytes(body, v)
}

// DecodeJSONBytes is DecodeJSON for a body already read. It decodes with
// github.com/go-json-experiment/json (JSON v2), which refuses a member named
// twice in one object, bytes that are not UTF-8 and unpaired surrogate
// escapes, and, asked to, unknown members; it matches names to fields
// exactly, so a name that differs from a field's only in case is unknown,
// and refused too: two readers of a body can never disagree on it.
func DecodeJSONBytes(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.Errorf(apperr.Invalid, "bad_json", "request body is empty; a JSON object is expected")
	}
	if err := checkJSON(body); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		return jsonError(body, err)
	}
	return nil
}

// MaxJSONDepth bounds how deeply objects and arrays nest in a request body;
// no request of the API needs more than a few levels.
const MaxJSONDepth = 32

// checkJSON reads body's tokens once before it is decoded, refusing what is
// not well-formed (the syntax, a repeated name, text that is not UTF-8),
// nesting deeper than MaxJSONDepth, NUL characters (no PostgreSQL text
// holds them) and anything after the first value.
func checkJSON(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for {
		var err error
		switch dec.PeekKind() {
		case '{', '[':
			if _, err = dec.ReadToken(); err == nil && dec.StackDepth() > MaxJSONDepth {
				return apperr.Errorf(apperr.Invalid, "bad_json", "JSON nested too deep: more than %d levels of objects and arrays", MaxJSONDepth)
			}
		case '}', ']':
			_, err = dec.ReadToken()
		case '"':
			var s jsontext.Value
			if s, err = dec.ReadValue(); err == nil && hasNUL(s) {
				field := fieldName(dec, dec.StackPointer())
				return apperr.InvalidField(field, "%s contains a NUL character (\\u0000)", field)
			}
		default:
			_, err = dec.ReadValue()
		}
		if err != nil {
			return syntaxError(body, err)
		}
		if dec.StackDepth() == 0 {
			break
		}
	}
	// Read as bytes: a stray '}' or ']' is no value to the decoder.
	if len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return apperr.Errorf(apperr.Invalid, "bad_json", "unexpected data after the JSON object")
	}
	return nil
}

// hasNUL reports whether the JSON string s holds a NUL character: it can
// only be written \u0000, a raw NUL being no valid JSON.
func hasNUL(s jsontext.Value) bool {
	if !bytes.Contains(s, []byte(`\u0000`)) {
		return false
	}
	text, err := jsontext.AppendUnquote(nil, s)
	return err == nil && bytes.IndexByte(text, 0) >= 0
}

// syntaxError describes what the decoder found wrong in body.
func syntaxError(body []byte, err error) error {
	var se *jsontext.SyntacticError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return apperr.Errorf(apperr.Invalid, "bad_json", "truncated JSON")
	case !errors.As(err, &se):
		return apperr.Errorf(apperr.Invalid, "bad_json", "malformed JSON: %v", err)
	case errors.Is(se, jsontext.ErrDuplicateName):
		field := fieldAt(body, se.JSONPointer)
		return apperr.InvalidField(field, "%s is given twice", field)
	}
	// The decoder's errors for bad text are not exported: tell them by
	// their words, which the tests pin for the version go.mod names.
	switch msg := se.Err.Error(); {
	case strings.Contains(msg, "invalid UTF-8"):
		return badText(fieldAt(body, se.JSONPointer), "bytes that are not UTF-8")
	case strings.Contains(msg, "surrogate"):
		return badText(fieldAt(body, se.JSONPointer), "an unpaired UTF-16 surrogate escape")
	}
	return apperr.Errorf(apperr.Invalid, "bad_json", "malformed JSON at byte %d: %v", se.ByteOffset, se.Err)
}

func badText(field, what string) *apperr.Error {
	e := apperr.Errorf(apperr.Invalid, "bad_json", "%s: text must be UTF-8, and this has %s", field, what)
	e.Field = field
	return e
}

// jsonError describes why a well-formed body does not decode into its Go
// value, naming the field and what it must be without naming Go types.
func jsonError(body []byte, err error) error {
	var appErr *apperr.Error
	var se *json.SemanticError
	errors.As(err, &appErr)
	errors.As(err, &se)
	switch {
	case appErr != nil && appErr.Field == "" && se != nil:
		// A value's own UnmarshalText or UnmarshalJSON refused it, saying
		// what it must be but not where it is: name the field.
		e := *appErr
		e.Field = fieldAt(body, se.JSONPointer)
		e.Message = e.Field + " " + e.Message
		return &e
	case appErr != nil:
		return appErr
	case se == nil:
		return syntaxError(body, err)
	}
	field := fieldAt(body, se.JSONPointer)
	switch {
	case errors.Is(se.Err, json.ErrUnknownName):
		return apperr.InvalidField(field, "unknown field %q", field)
	case se.GoType != nil:
		return apperr.InvalidField(field, "%s must be %s, not %s", field, jsonKind(se.GoType), jsonWhat(se))
	}
	return apperr.Errorf(apperr.Invalid, "bad_json", "malformed JSON: %v", err)
}

// jsonWhat names the JSON a client sent, as encoding/json named it.
func jsonWhat(se *json.SemanticError) string {
	switch se.JSONKind {
	case '"':
		return "string"
	case '0':
		if len(se.JSONValue) > 0 {
			return "number " + string(se.JSONValue)
		}
		return "number"
	case 't', 'f':
		return "bool"
	case '[':
		return "array"
	case '{':
		return "object"
	case 'n':
		return "null"
	}
	return "this"
}

// fieldAt is fieldName for a place in body, found by reading body up to it.
func fieldAt(body []byte, ptr jsontext.Pointer) string {
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	for ptr != "" && dec.StackPointer() != ptr {
		if _, err := dec.ReadToken(); err != nil {
			break // not found: fieldName guesses
		}
	}
	return fieldName(dec, ptr)
}

// fieldName names the place ptr points at as the API's errors do,
// lines[0].quantity ("body" for the whole), telling array indices from
// member names by the containers on dec's stack, when it is there.
func fieldName(dec *jsontext.Decoder, ptr jsontext.Pointer) string {
	var b strings.Builder
	found := dec.StackPointer() == ptr
	level := 0
	for tok := range ptr.Tokens() {
		level++
		index := false
		if found && level <= dec.StackDepth() {
			kind, _ := dec.StackIndex(level)
			index = kind == '['
		} else {
			_, err := strconv.ParseUint(tok, 10, 64)
			index = err == nil
		}
		switch {
		case index:
			b.WriteString("[" + tok + "]")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(tok)
		}
	}
	if b.Len() == 0 {
		return "body"
	}
	return b.String()
}

// jsonKind describes what JSON a Go type takes, without naming Go types.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return "a string"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("an integer within [%s, %s]", intMin(t), intMax(t))
	case reflect.Float32, reflect.Float64:
		return "a finite number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "another JSON type"
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

func intMin(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "0"
	}
	return strconv.FormatInt(-1<<(t.Bits()-1), 10)
}

func intMax(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return strconv.FormatUint(1<<t.Bits()-1, 10)
	}
	return strconv.FormatInt(1<<(t.Bits()-1)-1, 10)
}
