package apperr

import (
	"strings"
	"testing"
)

func TestMessagesQuoteAtMostMaxQuotedCharacters(t *testing.T) {
	long := strings.Repeat("界", 5000)
	if m := InvalidField("code", "code must be short, got %q", long).Message; m != `code must be short, got "`+strings.Repeat("界", MaxQuoted)+`…"` {
		t.Errorf("a 5,000-character value quoted as %d bytes", len(m))
	}
	exact := strings.Repeat("x", MaxQuoted)
	args := []any{exact + "y", 7, exact}
	if m := Errorf(Invalid, "", "%s %d %s", args...).Message; m != exact+"… 7 "+exact {
		t.Errorf("got %q", m)
	}
	if args[0] != exact+"y" {
		t.Error("the caller's arguments changed")
	}
}
