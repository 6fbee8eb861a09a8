package fulfillment

import (
	"encoding/json"
	"testing"
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
