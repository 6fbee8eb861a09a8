package fulfillment

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

func TestDateJSON(t *testing.T) {
	var d Date
	if err := json.Unmarshal([]byte(`"2026-12-01"`), &d); err != nil || d.String() != "2026-12-01" {
		t.Fatalf("got %v %v", d, err)
	}
	for _, bad := range []string{`"2026-13-01"`, `"01/12/2026"`, `20261201`, `null`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	out, _ := json.Marshal(struct{ D Date }{d})
	if string(out) != `{"D":"2026-12-01"}` {
		t.Errorf("marshal: %s", out)
	}
}

// TestABadDateNamesItsOwnField: a Date is a delivery date, an expiry, a day
// of a range; a request's bad one is refused naming the field it is in.
func TestABadDateNamesItsOwnField(t *testing.T) {
	var body struct {
		ExpiresOn *Date `json:"expires_on"`
		Lines     []struct {
			Day Date `json:"day"`
		} `json:"lines"`
	}
	for raw, field := range map[string]string{
		`{"expires_on": "2026-02-30"}`:       "expires_on",
		`{"expires_on": 20260230}`:           "expires_on",
		`{"lines": [{"day": "9999-01-01"}]}`: "lines[0].day",
	} {
		var e *apperr.Error
		err := httpx.DecodeJSONBytes([]byte(raw), &body)
		if !errors.As(err, &e) || e.Field != field || !strings.HasPrefix(e.Message, field+" must be") {
			t.Errorf("%s: %v, want a refusal naming %s", raw, err, field)
		}
	}
}
