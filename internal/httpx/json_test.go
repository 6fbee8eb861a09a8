package httpx

import (
	"errors"
	"strings"
	"testing"

	"groupbuy/internal/apperr"
)

// hostileTarget has the shapes request bodies use: nested objects, arrays
// of objects, integers, a float pointer and strings.
type hostileTarget struct {
	Name     string   `json:"name"`
	Lat      *float64 `json:"lat"`
	Resident struct {
		Name string `json:"name"`
	} `json:"resident"`
	Lines []struct {
		Quantity int64 `json:"quantity"`
	} `json:"lines"`
}

// TestDecodeJSONRefusesHostileBodies pins the answer to each kind of body
// encoding/json would otherwise accept quietly or describe in Go terms.
func TestDecodeJSONRefusesHostileBodies(t *testing.T) {
	cases := []struct {
		name, body, code, field, msg string
	}{
		{"depth 33", strings.Repeat("[", 33) + strings.Repeat("]", 33), "bad_json", "", "nested too deep"},
		{"depth 10000", strings.Repeat(`{"a":`, 10000) + "1" + strings.Repeat("}", 10000), "bad_json", "", "nested too deep"},
		{"depth unclosed", strings.Repeat("[", 100000), "bad_json", "", "nested too deep"},
		{"duplicate key", `{"name":"a","name":"b"}`, "invalid_field", "name", "given twice"},
		{"case variant of a key", `{"name":"a","NAME":"b"}`, "invalid_field", "NAME", "unknown field"},
		{"duplicate key escaped", `{"name":"a","n\u0061me":"b"}`, "invalid_field", "name", "given twice"},
		{"case variant by long s", `{"resident":{},"re\u017fident":{}}`, "invalid_field", "re\u017fident", "unknown field"},
		{"case variant alone", `{"Name":"a"}`, "invalid_field", "Name", "unknown field"},
		{"unknown nested", `{"lines":[{"quantity":1},{"qty":2}]}`, "invalid_field", "lines[1].qty", "unknown field"},
		{"unknown name of digits", `{"resident":{"0":1}}`, "invalid_field", "resident.0", "unknown field"},
		{"unknown name with a slash", `{"a/b~c":1}`, "invalid_field", "a/b~c", "unknown field"},
		{"duplicate key in array element", `{"lines":[{"quantity":1,"quantity":2}]}`, "invalid_field", "lines[0].quantity", "given twice"},
		{"duplicate nested", `{"resident":{"name":"a","name":"b"}}`, "invalid_field", "resident.name", "given twice"},
		{"duplicate in a wide object", `{"a0":0,"a1":1,"a2":2,"a3":3,"a4":4,"a5":5,"a6":6,"a7":7,"a8":8,"a9":9,"b0":0,"b1":1,"b2":2,"b3":3,"b4":4,"b5":5,"b6":6,"b7":7,"b8":8,"b9":9,"\u0061\u0035":1}`, "invalid_field", "a5", "given twice"},
		{"invalid UTF-8", "{\"name\":\"a\xff\"}", "bad_json", "name", "not UTF-8"},
		{"invalid UTF-8 nested", "{\"lines\":[{\"quantity\":1},{\"x\":\"\xc3\"}]}", "bad_json", "lines[1].x", "not UTF-8"},
		{"overlong UTF-8", "{\"name\":\"\xc0\xaf\"}", "bad_json", "name", "not UTF-8"},
		{"lone high surrogate", `{"name":"\ud800"}`, "bad_json", "name", "surrogate"},
		{"lone low surrogate", `{"name":"\udc00x"}`, "bad_json", "name", "surrogate"},
		{"high then non-surrogate", `{"name":"\ud800\u0041"}`, "bad_json", "name", "surrogate"},
		{"NUL", `{"resident":{"name":"a\u0000b"}}`, "invalid_field", "resident.name", "NUL"},
		{"trailing brace", `{"name":"a"}}`, "bad_json", "", "after the JSON object"},
		{"trailing bracket", `{"name":"a"} ]`, "bad_json", "", "after the JSON object"},
		{"int overflow", `{"lines":[{"quantity":99999999999999999999}]}`, "invalid_field", "lines[0].quantity", "an integer within"},
		{"1e400 into int", `{"lines":[{"quantity":1e400}]}`, "invalid_field", "lines[0].quantity", "an integer within"},
		{"1e400 into float", `{"lat":1e400}`, "invalid_field", "lat", "a finite number"},
		{"fraction into int", `{"lines":[{"quantity":3.5}]}`, "invalid_field", "lines[0].quantity", "an integer"},
		{"string into int", `{"lines":[{"quantity":"3"}]}`, "invalid_field", "lines[0].quantity", "an integer"},
		{"number into string", `{"name":5}`, "invalid_field", "name", "a string"},
		{"array for object", `[1]`, "invalid_field", "body", "an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var v hostileTarget
			err := DecodeJSONBytes([]byte(c.body), &v)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Kind != apperr.Invalid || e.Code != c.code || e.Field != c.field || !strings.Contains(e.Message, c.msg) {
				t.Fatalf("got %#v, want %s field %q with %q", err, c.code, c.field, c.msg)
			}
			if strings.Contains(e.Message, "httpx.") || strings.Contains(e.Message, "int64") {
				t.Errorf("message names Go types: %s", e.Message)
			}
		})
	}
	// What is fine stays fine: depth 32, unicode, escaped pairs, keys that
	// differ, the same key in sibling objects, null for anything.
	for _, body := range []string{
		`{"name":"张三 👩‍👩‍👧 \u200f\u200d مرحبا","resident":{"name":"name"},"lines":[{"quantity":1},{"quantity":2}]}`,
		`{"name":"\ud83d\ude00 \" \\ \/ \n"}`,
		`{"name":null,"lat":null,"lines":null,"resident":null}`,
		`{"name":"\"name\":","resident":{"name":"{[\"'; DROP TABLE orders; --"}}`,
	} {
		var v hostileTarget
		if err := DecodeJSONBytes([]byte(body), &v); err != nil {
			t.Errorf("%.80s: %v", body, err)
		}
	}
	var deep any
	if err := DecodeJSONBytes([]byte(strings.Repeat("[", MaxJSONDepth)+strings.Repeat("]", MaxJSONDepth)), &deep); err != nil {
		t.Errorf("depth %d: %v", MaxJSONDepth, err)
	}
}
