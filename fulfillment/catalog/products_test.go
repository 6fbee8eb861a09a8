package catalog_test

import (
	"context"
	"testing"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
)

// Saving the catalogue again leaves the unchanged products' rows as they
// were (no new row versions), updates the changed one, adds the new one,
// and answers every product in the order given.
func TestSavingUnchangedProductsWritesNothing(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	s := catalog.NewService(db, clock.System{})
	product := func(sku, name string) catalog.Product {
		return catalog.Product{SKU: sku, Name: name, Unit: "盒", WeightG: 500, VolumeML: 600, Zone: fulfillment.Chilled, Bin: "C-01-001"}
	}
	first, err := s.SaveProducts(ctx, []catalog.Product{product("EGG", "鸡蛋"), product("MILK", "牛奶")})
	if err != nil || len(first) != 2 {
		t.Fatalf("first save: %v %+v", err, first)
	}
	version := func(sku string) (v string) {
		t.Helper()
		if err := db.Get(&v, `SELECT xmin::text || ctid::text FROM products WHERE sku = $1`, sku); err != nil {
			t.Fatal(err)
		}
		return v
	}
	egg, milk := version("EGG"), version("MILK")
	again, err := s.SaveProducts(ctx, []catalog.Product{product("TOFU", "豆腐"), product("MILK", "鲜牛奶"), product("EGG", "鸡蛋")})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range again {
		got = append(got, p.SKU+":"+p.Name)
	}
	if len(again) != 3 || got[0] != "TOFU:豆腐" || got[1] != "MILK:鲜牛奶" || got[2] != "EGG:鸡蛋" || again[2].ID != first[0].ID {
		t.Fatalf("second save answered %v (ids %d, first %d)", got, again[2].ID, first[0].ID)
	}
	if version("EGG") != egg {
		t.Fatal("saving an unchanged product wrote a new version of its row")
	}
	if version("MILK") == milk {
		t.Fatal("the renamed product's row was not written")
	}
}
