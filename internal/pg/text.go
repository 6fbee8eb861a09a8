package pg

import (
	"strings"
	"unicode/utf8"
)

// Text is s as a text column takes it: valid UTF-8 (a broken sequence
// becomes U+FFFD), without NUL, and at most maxBytes long, cut between
// characters. What comes from outside (a provider's answer cut at a byte
// count, in Chinese) is stored through it: PostgreSQL refuses the row
// otherwise, and the transaction with it.
func Text(s string, maxBytes int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "\uFFFD")
	if len(s) <= maxBytes {
		return s
	}
	cut := maxBytes
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
