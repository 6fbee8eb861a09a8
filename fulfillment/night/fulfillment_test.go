package night

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

func TestOrderRequestValidation(t *testing.T) {
	line := func(id, q int64) LineRequest { return LineRequest{SaleItemID: id, Quantity: q} }
	many := make([]LineRequest, MaxLinesPerOrder+1)
	for i := range many {
		many[i] = line(int64(i+1), 1)
	}
	cases := []struct {
		name  string
		req   OrderRequest
		field string // "" means valid
	}{
		{"by phone", OrderRequest{Resident: ResidentRef{Phone: "13812345678", Name: "张三"}, Lines: []LineRequest{line(1, 2)}}, ""},
		{"by id", OrderRequest{Resident: ResidentRef{ID: 7}, Lines: []LineRequest{line(1, fulfillment.MaxQuantity)}}, ""},
		{"both", OrderRequest{Resident: ResidentRef{ID: 7, Phone: "13812345678"}, Lines: []LineRequest{line(1, 1)}}, "resident"},
		{"negative id", OrderRequest{Resident: ResidentRef{ID: -1}, Lines: []LineRequest{line(1, 1)}}, "resident.id"},
		{"no name", OrderRequest{Resident: ResidentRef{Phone: "13812345678"}, Lines: []LineRequest{line(1, 1)}}, "resident.name"},
		{"no lines", OrderRequest{Resident: ResidentRef{ID: 7}}, "lines"},
		{"too many lines", OrderRequest{Resident: ResidentRef{ID: 7}, Lines: many}, "lines"},
		{"zero item", OrderRequest{Resident: ResidentRef{ID: 7}, Lines: []LineRequest{line(0, 1)}}, "lines[0].sale_item_id"},
		{"over max", OrderRequest{Resident: ResidentRef{ID: 7}, Lines: []LineRequest{line(1, 1), line(2, fulfillment.MaxQuantity+1)}}, "lines[1].quantity"},
		{"duplicate", OrderRequest{Resident: ResidentRef{ID: 7}, Lines: []LineRequest{line(1, 1), line(1, 1)}}, "lines[1].sale_item_id"},
	}
	for _, c := range cases {
		err := c.req.Validate()
		var e *apperr.Error
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.field != "" && (!errors.As(err, &e) || e.Field != c.field):
			t.Errorf("%s: got %v, want an error on %s", c.name, err, c.field)
		}
	}
}

func TestRequestHashIgnoresFormatting(t *testing.T) {
	var a, b, c OrderRequest
	must := func(s string, v *OrderRequest) {
		if err := httpx.DecodeJSONBytes([]byte(s), v); err != nil {
			t.Fatal(err)
		}
	}
	must(`{"resident":{"id":3},"lines":[{"sale_item_id":1,"quantity":2}]}`, &a)
	must("{ \"lines\" : [ {\"quantity\":2, \"sale_item_id\":1} ],\n \"resident\":{\"id\":3} }", &b)
	must(`{"resident":{"id":3},"lines":[{"sale_item_id":1,"quantity":3}]}`, &c)
	if string(a.hash()) != string(b.hash()) {
		t.Error("the same request formatted differently hashes differently")
	}
	if string(a.hash()) == string(c.hash()) {
		t.Error("different quantities hash the same")
	}
}

func TestIdempotencyKey(t *testing.T) {
	for _, bad := range []string{"", "has space", strings.Repeat("k", MaxKeyLen+1), "ключ"} {
		if CheckIdempotencyKey(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := CheckIdempotencyKey("2f1c9a1e-7c1b-4f7e-9a55-0b6f1d1c2e3a"); err != nil {
		t.Error(err)
	}
}

func TestProductValidation(t *testing.T) {
	good := Product{SKU: "EGG-30", Name: "土鸡蛋 30枚", Unit: "盒", WeightG: 1800, VolumeML: 3000, Zone: fulfillment.Chilled, Bin: "C-01-02"}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for field, mutate := range map[string]func(*Product){
		"sku":       func(p *Product) { p.SKU = "A,B" },
		"name":      func(p *Product) { p.Name = strings.Repeat("长", 101) },
		"unit":      func(p *Product) { p.Unit = "" },
		"weight_g":  func(p *Product) { p.WeightG = 0 },
		"volume_ml": func(p *Product) { p.VolumeML = fulfillment.MaxVolumeML + 1 },
		"zone":      func(p *Product) { p.Zone = "warm" },
		"bin":       func(p *Product) { p.Bin = "\t" },
	} {
		p := good
		mutate(&p)
		var e *apperr.Error
		if err := p.Validate(); !errors.As(err, &e) || e.Field != field {
			t.Errorf("bad %s: got %v", field, err)
		}
	}
}

func TestDateJSON(t *testing.T) {
	var d fulfillment.Date
	if err := json.Unmarshal([]byte(`"2026-12-01"`), &d); err != nil || d.String() != "2026-12-01" {
		t.Fatalf("got %v %v", d, err)
	}
	for _, bad := range []string{`"2026-13-01"`, `"01/12/2026"`, `20261201`, `null`} {
		if err := json.Unmarshal([]byte(bad), &d); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	out, _ := json.Marshal(struct{ D fulfillment.Date }{d})
	if string(out) != `{"D":"2026-12-01"}` {
		t.Errorf("marshal: %s", out)
	}
}
