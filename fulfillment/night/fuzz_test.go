package night

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
	"groupbuy/pickup"
)

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

// FuzzImportCSV feeds arbitrary files through the product import up to the
// database write. Nothing may panic; a refusal is a 400 and, when it is
// about a row, names the row's line; what passes satisfies the product
// rules and is text PostgreSQL can store.
func FuzzImportCSV(f *testing.F) {
	// More seeds, the cases that once failed among them, are in
	// testdata/fuzz/FuzzImportCSV.
	f.Add([]byte(strings.Join(ProductCSVColumns, ",") + ",category\nEGG,土鸡蛋,盒,900,1500,chilled,C-01-01,蛋类\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps, err := ParseProductCSV(bytes.NewReader(data))
		if err != nil {
			checkCSVError(t, data, err)
			return
		}
		if len(ps) == 0 {
			t.Fatal("accepted a file without products")
		}
		skus := map[string]bool{}
		for _, p := range ps {
			before := p
			if err := p.Validate(); err != nil || p != before {
				t.Fatalf("accepted product fails its rules: %+v: %v", before, err)
			}
			if skus[p.SKU] {
				t.Fatalf("sku %q accepted twice", p.SKU)
			}
			skus[p.SKU] = true
			for _, s := range []string{p.SKU, p.Name, p.Unit, p.Bin, p.Category, string(p.Zone)} {
				if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
					t.Fatalf("accepted text PostgreSQL cannot store: %q in %+v", s, p)
				}
			}
		}
	})
}

// checkCSVError holds an import's refusal to the contract: a 400, and a row's
// error names its line in the message and the details.
func checkCSVError(t *testing.T, data []byte, err error) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Kind != apperr.Invalid {
		t.Fatalf("%q: refused with %#v, want a 400 *apperr.Error", data, err)
	}
	switch e.Code {
	case "bad_csv_row":
		line, ok := e.Details["line"].(int)
		if !ok || line < 1 || !strings.Contains(e.Message, "line ") {
			t.Fatalf("%q: a row error without its line: %#v", data, e)
		}
	case "bad_csv":
		// About the whole file: empty, or a header without rows.
	default:
		t.Fatalf("%q: unexpected code %q: %v", data, e.Code, e)
	}
}
