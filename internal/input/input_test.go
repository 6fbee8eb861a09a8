package input

import (
	"strings"
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

func TestEmailIsOneBareAddress(t *testing.T) {
	for _, s := range []string{"po@example.com", "张三@例子.中国", "a.b+tag@sub.example.com", "a@[1.2.3.4]"} {
		if !Email(s) {
			t.Errorf("%q refused", s)
		}
	}
	for _, s := range []string{"", "po", "po@", "Bob <po@example.com>", "<po@example.com>", `"a b"@example.com`, "\"a\tb\"@example.com",
		"po@example.com, b@example.com", "po@example.com\r\nBcc: b@example.com", " po@example.com", "po@exa\x00mple.com",
		strings.Repeat("a", 190) + "@example.com"} {
		if Email(s) {
			t.Errorf("%q accepted", s)
		}
	}
}
