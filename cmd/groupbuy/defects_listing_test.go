package main

import (
	"fmt"
	"groupbuy/fulfillment/catalog"
	"net/http"
	"strings"
	"testing"
)

// TestProductsArePaginated: GET /ops/products answers pages of at most 200
// products by default and 1,000 at most, by id, with has_more and
// next_after_id like the orders listing; following the pages reads every
// product once.
func TestProductsArePaginated(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 0)
	var csv strings.Builder
	csv.WriteString("sku,name,unit,weight_g,volume_ml,zone,bin\n")
	for i := range 450 {
		fmt.Fprintf(&csv, "PG%04d,商品%d,份,100,100,ambient,A-%04d\n", i, i, i)
	}
	if r := c.do("POST", "/api/v1/ops/products/import", c.admin, csv.String()); r.Status != http.StatusOK {
		t.Fatalf("import: %d %.300s", r.Status, r.Body)
	}
	total := c.count("products")
	type page struct {
		Products []catalog.Product `json:"products"`
		HasMore  bool              `json:"has_more"`
		NextID   int64             `json:"next_after_id"`
	}
	seen := map[int64]bool{}
	var pages []int
	for after := int64(0); ; {
		var p page
		path := "/api/v1/ops/products"
		if after > 0 {
			path += fmt.Sprintf("?after_id=%d", after)
		}
		r := c.do("GET", path, c.admin, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("page after %d: %d %.300s", after, r.Status, r.Body)
		}
		r.json(t, &p)
		pages = append(pages, len(p.Products))
		for _, pr := range p.Products {
			if seen[pr.ID] || pr.ID <= after {
				t.Fatalf("product %d twice or out of order after %d", pr.ID, after)
			}
			seen[pr.ID] = true
		}
		if !p.HasMore {
			break
		}
		if p.NextID != p.Products[len(p.Products)-1].ID {
			t.Fatalf("next_after_id %d, last id %d", p.NextID, p.Products[len(p.Products)-1].ID)
		}
		after = p.NextID
	}
	if len(seen) != total || fmt.Sprint(pages) != fmt.Sprint([]int{200, 200, total - 400}) {
		t.Fatalf("read %d of %d products in pages %v", len(seen), total, pages)
	}
	var all page
	c.do("GET", "/api/v1/ops/products?limit=1000", c.admin, nil).json(t, &all)
	if len(all.Products) != total || all.HasMore {
		t.Fatalf("limit=1000: %d products, has_more %v", len(all.Products), all.HasMore)
	}
	for _, q := range []string{"limit=1001", "limit=0", "after_id=-1", "after_id=x"} {
		r := c.do("GET", "/api/v1/ops/products?"+q, c.admin, nil)
		if code, _ := envelopeOf(t, r); r.Status != http.StatusBadRequest || code != "invalid_field" {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
}
