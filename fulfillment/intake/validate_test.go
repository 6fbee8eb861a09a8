package intake

import (
	"bytes"
	"encoding/json"
	"errors"
	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
	"groupbuy/pickup"
	"strings"
	"testing"
	"unicode/utf8"
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

// FuzzDecodeOrder feeds arbitrary bodies through what POST /leader/orders
// does before it touches the database: the strict decoder, then Validate.
// Nothing may panic; every refusal is a client error (400 or 422), never an
// internal one; what passes is within the documented bounds and hashes the
// same after a round trip, so a retry of it replays instead of conflicting.
func FuzzDecodeOrder(f *testing.F) {
	// More seeds, the cases that once failed among them, are in
	// testdata/fuzz/FuzzDecodeOrder.
	f.Add([]byte(`{"resident":{"phone":"13912345678","name":"张三"},"lines":[{"sale_item_id":1,"quantity":2}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var req OrderRequest
		err := httpx.DecodeJSONBytes(body, &req)
		if err == nil {
			err = req.Validate()
		}
		if err != nil {
			var e *apperr.Error
			if !errors.As(err, &e) || (e.Kind != apperr.Invalid && e.Kind != apperr.Unprocessable) || e.Code == "" {
				t.Fatalf("%q: refused with %#v, want a 400 or 422 *apperr.Error", body, err)
			}
			return
		}
		checkOrderRequest(t, req)
		// The idempotency hash is over the re-encoded request: decoding that
		// encoding must give the same request and the same hash.
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		var back OrderRequest
		if err := httpx.DecodeJSONBytes(again, &back); err != nil {
			t.Fatalf("the accepted request re-encoded as %s is refused: %v", again, err)
		}
		if err := back.Validate(); err != nil {
			t.Fatalf("the accepted request re-encoded as %s does not validate: %v", again, err)
		}
		if !bytes.Equal(back.hash(), req.hash()) {
			t.Fatalf("hash changes over a round trip: %s", again)
		}
	})
}

func checkOrderRequest(t *testing.T, req OrderRequest) {
	t.Helper()
	res := req.Resident
	switch {
	case res.ID < 0:
		t.Fatalf("resident id %d accepted", res.ID)
	case res.ID > 0 && (res.Phone != "" || res.Name != ""):
		t.Fatalf("resident id and phone/name both accepted: %+v", res)
	case res.ID == 0:
		if pickup.CheckPhone("p", res.Phone) != nil || !input.Printable(res.Name, 100) || strings.ContainsRune(res.Name, 0) {
			t.Fatalf("resident accepted: %q %q", res.Phone, res.Name)
		}
		if !utf8.ValidString(res.Name) || strings.ContainsRune(res.Name, utf8.RuneError) {
			t.Fatalf("resident name is not clean UTF-8: %q", res.Name)
		}
	}
	if len(req.Lines) < 1 || len(req.Lines) > MaxLinesPerOrder {
		t.Fatalf("%d lines accepted", len(req.Lines))
	}
	seen := map[int64]bool{}
	var units int64
	for _, l := range req.Lines {
		if l.SaleItemID <= 0 || l.Quantity < 1 || l.Quantity > fulfillment.MaxQuantity || seen[l.SaleItemID] {
			t.Fatalf("line accepted: %+v", l)
		}
		seen[l.SaleItemID] = true
		units += l.Quantity
	}
	// The largest order at the largest price must not overflow the total.
	if units > 1<<62/fulfillment.MaxPriceFen {
		t.Fatalf("%d units could overflow the total", units)
	}
}
