package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/pickup"
)

// handoverRecord is a handover as the ops API shows it.
type handoverRecord struct {
	ID            int64  `json:"id"`
	PickupPointID int64  `json:"pickup_point_id"`
	FromLeaderID  int64  `json:"from_leader_id"`
	ToLeaderID    int64  `json:"to_leader_id"`
	ByTokenID     int64  `json:"by_token_id"`
	By            string `json:"by"`
	CreatedAt     string `json:"created_at"`
}

// handoverAnswer is the answer of POST /ops/pickup-points/{id}/handover.
type handoverAnswer struct {
	Handover    handoverRecord `json:"handover"`
	Point       pickup.Point   `json:"pickup_point"`
	Leader      pickup.Leader  `json:"leader"`
	LeaderToken string         `json:"leader_token"`
}

// handOver hands point i of the test city to a new leader and returns the answer.
func (c *testCity) handOver(i int, name, phone string) handoverAnswer {
	c.t.Helper()
	var out handoverAnswer
	r := c.do("POST", fmt.Sprintf("/api/v1/ops/pickup-points/%d/handover", c.points[i].Point.ID), c.staffToken("ops"),
		map[string]any{"leader": map[string]any{"name": name, "phone": phone}})
	r.json(c.t, &out)
	if r.Status != http.StatusCreated || out.LeaderToken == "" || out.Point.LeaderID != out.Leader.ID {
		c.t.Fatalf("hand point %d over: %d %s", i, r.Status, r.Body)
	}
	return out
}

// A point handed to a new leader takes its orders along: the new leader
// reads and cancels them, the old one sees nothing of the point any more,
// and the handover is on record. Saving the point with another leader does
// not move it silently.
func TestHandoverMovesThePointToTheNewLeader(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 2)
	old := c.leaders[0]
	egg := c.item("EGG")
	var placed []intake.Order
	for i := range 2 {
		var o intake.Order
		r := c.do("POST", "/api/v1/leader/orders", old, orderBody(fmt.Sprintf("1591111000%d", i), "居民", egg.ID, 1), "Idempotency-Key", fmt.Sprintf("h%d", i))
		r.json(t, &o)
		if r.Status != http.StatusCreated {
			t.Fatalf("order: %d %s", r.Status, r.Body)
		}
		placed = append(placed, o)
	}
	pt := c.points[0].Point

	// Saving the point with another leader's phone is refused and names the handover.
	save := map[string]any{"code": pt.Code, "warehouse_id": pt.WarehouseID, "name": pt.Name, "lat": pt.Lat, "lng": pt.Lng,
		"opens": pt.Opens, "closes": pt.Closes, "leader": map[string]any{"name": "新团长", "phone": "13799998888"}}
	if r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, save); r.Status != http.StatusConflict || r.errorCode(t) != "handover_required" ||
		!strings.Contains(string(r.Body), "/handover") {
		t.Fatalf("saving a point with another leader: %d %s", r.Status, r.Body)
	}
	csv := "code,warehouse_code,name,address,lat,lng,opens,closes,leader_name,leader_phone\n" +
		fmt.Sprintf("%s,%s,%s,,%v,%v,%s,%s,新团长,13799998888\n", pt.Code, c.warehous.Code, pt.Name, pt.Lat, pt.Lng, pt.Opens, pt.Closes)
	if r := c.do("POST", "/api/v1/ops/pickup-points/import", c.admin, csv); r.Status != http.StatusBadRequest ||
		!strings.Contains(string(r.Body), `"field":"leader_phone"`) || !strings.Contains(string(r.Body), "/handover") {
		t.Fatalf("importing a point with another leader: %d %s", r.Status, r.Body)
	}
	if got, _ := pickup.GetPoint(t.Context(), c.app.db, pt.ID); got.LeaderID != pt.LeaderID {
		t.Fatalf("a refused save moved the point to leader %d", got.LeaderID)
	}
	// Handing over to the leader who runs it, or to one who runs another point, is refused.
	for _, tc := range []struct{ phone, code string }{{c.points[0].Leader.Phone, "same_leader"}, {c.points[1].Leader.Phone, "leader_has_point"}} {
		r := c.do("POST", fmt.Sprintf("/api/v1/ops/pickup-points/%d/handover", pt.ID), c.admin,
			map[string]any{"leader": map[string]any{"name": "某人", "phone": tc.phone}})
		if r.Status != http.StatusConflict || r.errorCode(t) != tc.code {
			t.Fatalf("handover to %s: %d %s, want 409 %s", tc.phone, r.Status, r.Body, tc.code)
		}
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/pickup-points/%d/handover", pt.ID), c.staffToken("warehouse"),
		map[string]any{"leader": map[string]any{"name": "新团长", "phone": "13799998888"}}); r.Status != http.StatusForbidden {
		t.Fatalf("a warehouse token handing a point over: %d %s", r.Status, r.Body)
	}

	h := c.handOver(0, "新团长", "13799998888")
	if h.Handover.FromLeaderID != pt.LeaderID || h.Handover.ToLeaderID != h.Leader.ID || h.Handover.PickupPointID != pt.ID || h.Handover.By != "ops staff" {
		t.Fatalf("handover record: %+v", h.Handover)
	}
	fresh := h.LeaderToken

	// The old leader's token sees nothing of the point.
	for _, req := range []struct{ method, path string }{
		{"GET", "/api/v1/leader/me"},
		{"GET", "/api/v1/leader/orders?date=" + c.date.String()},
		{"GET", fmt.Sprintf("/api/v1/leader/orders/%d", placed[0].ID)},
		{"POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", placed[0].ID)},
		{"GET", "/api/v1/leader/deliveries?date=" + c.date.String()},
	} {
		if r := c.do(req.method, req.path, old, nil); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
			t.Fatalf("old leader after the handover: %s %s: %d %s", req.method, req.path, r.Status, r.Body)
		}
	}
	if r := c.do("POST", "/api/v1/leader/orders", old, orderBody("15911110009", "居民", egg.ID, 1), "Idempotency-Key", "after"); r.Status != http.StatusForbidden {
		t.Fatalf("old leader ordering after the handover: %d %s", r.Status, r.Body)
	}
	// Not even by replaying a key of an order placed before.
	if r := c.do("POST", "/api/v1/leader/orders", old, orderBody("15911110000", "居民", egg.ID, 1), "Idempotency-Key", "h0"); r.Status != http.StatusForbidden {
		t.Fatalf("old leader replaying an order after the handover: %d %s", r.Status, r.Body)
	}

	// The new leader has the point's orders and may cancel them.
	var page intake.OrderPage
	r := c.do("GET", "/api/v1/leader/orders?date="+c.date.String(), fresh, nil)
	r.json(t, &page)
	if r.Status != http.StatusOK || len(page.Orders) != 2 || page.Totals.Orders != 2 {
		t.Fatalf("new leader's orders: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", placed[1].ID), fresh, nil); r.Status != http.StatusOK {
		t.Fatalf("new leader reading an order of the point: %d %s", r.Status, r.Body)
	}
	var cancelled intake.Order
	r = c.do("POST", fmt.Sprintf("/api/v1/leader/orders/%d/cancel", placed[0].ID), fresh, nil)
	r.json(t, &cancelled)
	if r.Status != http.StatusOK || cancelled.Status != intake.Cancelled {
		t.Fatalf("new leader cancelling an order of the point: %d %s", r.Status, r.Body)
	}
	// Another point's leader still may not.
	if r := c.do("GET", fmt.Sprintf("/api/v1/leader/orders/%d", placed[1].ID), c.leaders[1], nil); r.Status != http.StatusForbidden {
		t.Fatalf("another point's leader reading the order: %d %s", r.Status, r.Body)
	}

	// The record is listed for the point.
	var list struct{ Handovers []handoverRecord }
	r = c.do("GET", fmt.Sprintf("/api/v1/ops/pickup-points/%d/handovers", pt.ID), c.staffToken("warehouse"), nil)
	r.json(t, &list)
	if r.Status != http.StatusOK || len(list.Handovers) != 1 || list.Handovers[0] != h.Handover {
		t.Fatalf("handovers of the point: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/ops/pickup-points/999999/handovers", c.admin, nil); r.Status != http.StatusNotFound {
		t.Fatalf("handovers of no point: %d %s", r.Status, r.Body)
	}
}

// After a handover the new leader receives the point's deliveries and hands
// its parcels over, earning the commission on them; what the old leader
// earned before stays his.
func TestHandoverMovesTheLastMileAndCommission(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	old := c.leaders[0]
	m.dispatch(c.admin)
	d := m.deliveryOf(0)
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d.ID), old, map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	var codes []string
	if err := c.app.db.Select(&codes, `SELECT code FROM pickup_codes WHERE pickup_point_id = $1 ORDER BY resident_id`, c.points[0].Point.ID); err != nil || len(codes) != 3 {
		t.Fatalf("codes: %v %v", codes, err)
	}
	if r := c.do("POST", "/api/v1/leader/pickups/collect", old, map[string]any{"code": codes[0]}); r.Status != http.StatusOK {
		t.Fatalf("old leader collecting: %d %s", r.Status, r.Body)
	}
	h := c.handOver(0, "接班团长", "13799997777")
	fresh := h.LeaderToken

	if r := c.do("POST", "/api/v1/leader/pickups/verify", old, map[string]any{"code": codes[1]}); r.Status != http.StatusNotFound {
		t.Fatalf("old leader verifying a code of the point after the handover: %d %s", r.Status, r.Body)
	}
	var ds struct{ Deliveries []lastmile.Delivery }
	c.do("GET", "/api/v1/leader/deliveries?date="+c.date.String(), fresh, nil).json(t, &ds)
	if len(ds.Deliveries) != 1 || ds.Deliveries[0].ID != d.ID {
		t.Fatalf("new leader's deliveries: %+v", ds)
	}
	if r := c.do("POST", "/api/v1/leader/pickups/collect", fresh, map[string]any{"code": codes[1]}); r.Status != http.StatusOK {
		t.Fatalf("new leader collecting: %d %s", r.Status, r.Body)
	}
	ledger := func(token string) commission.CommissionPage {
		t.Helper()
		var p commission.CommissionPage
		r := c.do("GET", "/api/v1/leader/commissions?from=2026-12-01&to=2026-12-01", token, nil)
		r.json(t, &p)
		if r.Status != http.StatusOK {
			t.Fatalf("commissions: %d %s", r.Status, r.Body)
		}
		return p
	}
	before, after := ledger(old), ledger(fresh)
	if len(before.Entries) == 0 || len(after.Entries) == 0 {
		t.Fatalf("commission: the old leader has %d entries, the new one %d; want both some", len(before.Entries), len(after.Entries))
	}
	for _, e := range after.Entries {
		if e.LeaderID != h.Leader.ID {
			t.Fatalf("new leader's ledger holds %+v", e)
		}
	}
	for _, e := range before.Entries {
		if e.LeaderID != c.points[0].Leader.ID {
			t.Fatalf("old leader's ledger holds %+v", e)
		}
	}
}
