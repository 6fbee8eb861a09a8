package catalog

import (
	"bytes"
	"errors"
	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"strings"
	"testing"
	"unicode/utf8"
)

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
