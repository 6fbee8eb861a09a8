// Package csviotest holds the CSV imports' contract for their fuzz tests.
package csviotest

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"groupbuy/internal/apperr"
)

// CheckRefusal fails t unless err, an import's refusal of data, keeps the
// contract: a 400 *apperr.Error, bad_csv about the whole file (empty, or a
// header without rows), or bad_csv_row naming its line in the message and
// the details.
func CheckRefusal(t testing.TB, data []byte, err error) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.Invalid {
		t.Fatalf("%q: refused with %#v, want a 400 *apperr.Error", data, err)
	}
	switch e.Code {
	case "bad_csv_row":
		line, ok := e.Details["line"].(int)
		if !ok || line < 1 || !strings.Contains(e.Message, "line ") {
			t.Fatalf("%q: a row error without its line: %#v", data, e)
		}
	case "bad_csv":
	default:
		t.Fatalf("%q: unexpected code %q: %v", data, e.Code, e)
	}
}

// CheckStorable fails t unless every text of an accepted row is one
// PostgreSQL can store: valid UTF-8 without NUL.
func CheckStorable(t testing.TB, row any, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
			t.Fatalf("accepted text PostgreSQL cannot store: %q in %+v", s, row)
		}
	}
}
