// Package input holds the rules for values read from requests and imports,
// one home each, so that what reaches PostgreSQL always fits the column
// behind it: a value the database would refuse must be refused as 400 where
// it is read.
package input

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"groupbuy/internal/apperr"
)

// The largest values of the integer column types: ids are bigserial (int8),
// sequence numbers and counts are integer (int4).
const (
	MaxInt8 = math.MaxInt64
	MaxInt4 = math.MaxInt32
)

// Dates read from requests lie within the years MinYear to MaxYear. No
// delivery, wave or statement of this system is older or later, and
// PostgreSQL's date type refuses some dates Go parses (year 0).
const (
	MinYear = 2000
	MaxYear = 2099
)

// ParseDate reads a date in layout (time.DateOnly, or "2006-01" for a month,
// read as its first day) within MinYear to MaxYear, naming field in its error.
func ParseDate(field, layout, s string) (time.Time, error) {
	t, err := time.Parse(layout, s)
	if err != nil || t.Year() < MinYear || t.Year() > MaxYear {
		first := time.Date(MinYear, 1, 1, 0, 0, 0, 0, time.UTC)
		last := time.Date(MaxYear, 12, 31, 0, 0, 0, 0, time.UTC)
		// Without a field (a value that reads itself) the message starts
		// at "must", so whoever knows the field can name it in front.
		msg := fmt.Sprintf("must be %s from %s to %s, got %q",
			layoutName.Replace(layout), first.Format(layout), last.Format(layout), s)
		if field != "" {
			msg = field + " " + msg
		}
		return time.Time{}, apperr.InvalidField(field, "%s", msg)
	}
	return t, nil
}

var layoutName = strings.NewReplacer("2006-01-02", "a date YYYY-MM-DD", "2006-01", "a month YYYY-MM")

// The text rule, for every field people read (names, addresses, units,
// bins, categories): valid UTF-8 without control characters, at most max
// characters. Such text is printed on sheets and labels, sent by SMS and
// shown in terminals and spreadsheets, where a control character breaks
// lines or runs an escape sequence. No field of the system is multi-line.

// Printable reports whether s is a non-blank text of at most max
// characters under the text rule.
func Printable(s string, max int) bool {
	return strings.TrimSpace(s) != "" && textOK(s, max)
}

// OptionalPrintable is Printable for a field that may be empty.
func OptionalPrintable(s string, max int) bool {
	return s == "" || textOK(s, max)
}

// CheckText refuses a required field that breaks the text rule, naming it.
func CheckText(field, s string, max int) error {
	if !Printable(s, max) {
		return apperr.InvalidField(field, "%s is required: up to %d characters, valid UTF-8 without control characters", field, max)
	}
	return nil
}

// CheckOptionalText refuses an optional field that breaks the text rule.
func CheckOptionalText(field, s string, max int) error {
	if !OptionalPrintable(s, max) {
		return apperr.InvalidField(field, "%s may hold up to %d characters, valid UTF-8 without control characters", field, max)
	}
	return nil
}

// MaxEmail bounds an e-mail address, in bytes.
const MaxEmail = 200

// Email reports whether s is one bare e-mail address (orders@example.com)
// of at most MaxEmail bytes under the text rule: no display name, angle
// brackets or quoted part, which net/mail would read past and strip. An
// address goes into SMTP's RCPT TO and a mail's To header as written.
func Email(s string) bool {
	if len(s) > MaxEmail || !textOK(s, MaxEmail) {
		return false // before parsing: a request may hold a megabyte here
	}
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// CheckCode refuses a code that names a thing in CSV files, file names and
// scans (a SKU, a supplier's code) unless it is 1 to 40 bytes under the text
// rule without spaces, commas, semicolons or quotes.
func CheckCode(field, s string) error {
	if s == "" || len(s) > 40 || strings.ContainsAny(s, " \t\r\n,;\"'") || !textOK(s, 40) {
		return apperr.InvalidField(field, "%s must be 1-40 characters without spaces, commas, quotes or control characters", field)
	}
	return nil
}

func textOK(s string, max int) bool {
	if !utf8.ValidString(s) || utf8.RuneCountInString(s) > max {
		return false
	}
	for _, r := range s {
		// C0, DEL and C1 controls, and the Unicode line and paragraph
		// separators, which break a line as surely as \n does.
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return false
		}
	}
	return true
}

// RequestHash identifies a request's body for idempotency: sent again under
// its key, the same body is a replay and another a conflict. The body is
// hashed as its JSON, so how it was written does not count.
func RequestHash(v any) []byte {
	b, _ := json.Marshal(v)
	h := sha256.Sum256(b)
	return h[:]
}
