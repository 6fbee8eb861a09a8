package input

import (
	"testing"

	"groupbuy/internal/apperr"
)

func TestTextRuleRefusesControlCharacters(t *testing.T) {
	for _, s := range []string{"a\rb", "a\nb", "a\tb", "\x1b[31mred", "bell\x07", "del\x7f", "csi\u009b2J", "line\u2028sep", "para\u2029sep", "bad\xffutf8"} {
		if Printable(s, 100) || OptionalPrintable(s, 100) {
			t.Errorf("%q passes the text rule", s)
		}
		if err := CheckOptionalText("address", s, 100); err == nil || err.(*apperr.Error).Field != "address" {
			t.Errorf("CheckOptionalText(%q) = %v", s, err)
		}
	}
	for _, s := range []string{"张三丰", "👩‍👩‍👧 李家", "\u202eabc\u202c 覆盖", `=1+1 '; --`} {
		if !Printable(s, 100) {
			t.Errorf("%q fails the text rule", s)
		}
	}
	if Printable(" ", 100) || !OptionalPrintable("", 100) || Printable("abc", 2) {
		t.Error("blank, empty or length handled wrongly")
	}
}
