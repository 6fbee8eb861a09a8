package catalog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/internal/apperr"
	"groupbuy/internal/csvio/csviotest"
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
			csviotest.CheckRefusal(t, data, err)
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
			csviotest.CheckStorable(t, p, p.SKU, p.Name, p.Unit, p.Bin, p.Category, string(p.Zone))
		}
	})
}
