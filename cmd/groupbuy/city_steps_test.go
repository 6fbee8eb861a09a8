package main

import (
	"context"
	"net/http"
	"testing"

	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/wave"
)

// Steps the end-to-end tests take on their test city again and again.

// addVans gives the city's warehouse count refrigerated vans (chilled and
// frozen) called name, of 1.5 t and 8 m³ each, on the road from 05:00 to 12:00.
func (c *testCity) addVans(name string, count int) {
	c.t.Helper()
	c.addVehicleType(map[string]any{"code": "VAN", "name": name, "count": count, "chilled": true, "frozen": true,
		"capacity_g": 1_500_000, "capacity_ml": 8_000_000,
		"shift_start": "05:00", "shift_end": "12:00"})
}

// placeOrder places body as the city's leader l under the idempotency key
// and fails the test unless the order is created.
func (c *testCity) placeOrder(l int, key string, body map[string]any) response {
	c.t.Helper()
	r := c.do("POST", "/api/v1/leader/orders", c.leaders[l], body, "Idempotency-Key", key)
	if r.Status != http.StatusCreated {
		c.t.Fatalf("order %s at point %d: %d %s", key, l, r.Status, r.Body)
	}
	return r
}

// receiptsFinal records that the wave at path received what was sold (a
// final receipt without short lines), so allocation waits for nothing.
func (c *testCity) receiptsFinal(path string) {
	c.t.Helper()
	if r := c.do("PUT", path+"/receipts", c.admin, map[string]any{"final": true, "items": []map[string]any{}}); r.Status != http.StatusOK {
		c.t.Fatalf("receipts: %d %s", r.Status, r.Body)
	}
}

// dispatch sends every route of the last-mile city's wave on its way as
// the holder of token, and fails the test unless that is allowed.
func (m *lastMileCity) dispatch(token string) {
	m.t.Helper()
	if r := m.do("POST", m.path+"/dispatch", token, nil); r.Status != http.StatusOK {
		m.t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
}

// receiveAllSold records, as by, that the warehouse received every unit
// sold of every sale item, final, so the wave is allocated by policy
// without a short line.
func receiveAllSold(t *testing.T, a *app, waveID int64, policy wave.Policy, by string) {
	t.Helper()
	var receipts []night.Receipt
	if err := a.db.Select(&receipts, `SELECT id AS sale_item_id, sold AS received FROM sale_items WHERE sold > 0`); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waves.RecordReceipts(context.Background(), waveID, policy, true, receipts, by); err != nil {
		t.Fatal(err)
	}
}
