package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"groupbuy/internal/auth"
)

// Refusals the document did not give for their routes: the checked client
// holds every answer against openapi.json, so each fails on an undocumented
// status or code.

// TestReceiptOfAnUnknownSaleItemIsDocumented: a leader's receipt naming a
// sale item the delivery does not carry is refused 422 unknown_sale_item;
// the route's document must give that code (the checked client holds every
// answer against openapi.json).
func TestReceiptOfAnUnknownSaleItemIsDocumented(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	m.dispatch(m.admin)
	d0 := m.deliveryOf(0)
	r := m.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), m.leaders[0],
		map[string]any{"lines": []any{map[string]any{"sale_item_id": 999999, "missing": 1, "damaged": 0}}})
	if r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "unknown_sale_item" {
		t.Fatalf("receipt naming no sale item of the delivery: %d %s", r.Status, r.Body)
	}
}

// TestSupplyRefusalsAreDocumented: a revision naming a product that is not
// on the purchase order, and a return of stock naming no product, are
// refused with codes the route's document must give (every answer of the
// checked client is held against openapi.json).
func TestSupplyRefusalsAreDocumented(t *testing.T) {
	t.Parallel()
	n := newDockNight(t)
	srv := apiServer(t, n.app)
	admin, _, err := auth.IssueToken(context.Background(), n.app.db, time.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "review"})
	if err != nil {
		t.Fatal(err)
	}
	do := func(method, path string, body any) response {
		return doHTTP(t, srv.Client(), method, srv.URL+path, admin, body)
	}

	r := do("POST", fmt.Sprintf("/api/v1/ops/purchase-orders/%d/revise", n.order.ID),
		map[string]any{"lines": []any{map[string]any{"product_id": 999999, "cases": 1}}})
	t.Logf("revise: %d %s", r.Status, r.Body)
	if r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "unknown_line" {
		t.Errorf("revise naming a product not on the order: %d %s", r.Status, r.Body)
	}

	r = do("POST", "/api/v1/ops/supplier-returns", map[string]any{"request_id": "r1", "supplier_id": n.supplierID,
		"warehouse_id": n.warehouseID, "lines": []any{map[string]any{"product_id": 999999, "lot": "L1",
			"expires_on": "2099-01-01", "reason": "quality", "quantity": 1}}})
	t.Logf("return: %d %s", r.Status, r.Body)
	if r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "unknown_product" {
		t.Errorf("return of no product: %d %s", r.Status, r.Body)
	}
}
