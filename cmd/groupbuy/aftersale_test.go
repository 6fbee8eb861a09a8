package main

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/lastmile"
)

// claimPhoto is a photo part of a claim: its declared type and its bytes.
type claimPhoto struct {
	declared string
	data     []byte
}

// claimForm is a claim's multipart body and its Content-Type.
func claimForm(t *testing.T, fields map[string]string, photos ...claimPhoto) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for i, p := range photos {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="photo"; filename="p%d"`, i))
		h.Set("Content-Type", p.declared)
		part, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		part.Write(p.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes(), w.FormDataContentType()
}

func (c *testCity) fileClaim(token string, line int64, quantity int, photos ...claimPhoto) response {
	c.t.Helper()
	body, ctype := claimForm(c.t, map[string]string{"line_id": strconv.FormatInt(line, 10), "reason": "damaged",
		"quantity": strconv.Itoa(quantity), "note": "盒子压坏了"}, photos...)
	return c.do("POST", "/api/v1/leader/aftersale/claims", token, body, "Content-Type", ctype)
}

// TestLeaderAfterSalesThroughTheAPI runs a night to a received delivery
// and a collected parcel, then walks the after-sales routes: a leader
// files with a real PNG and JPEG; a fake image, another leader's line and
// a duplicate are refused with the envelope and store nothing; photos
// reach only the claim's leader and ops; ops approve (refund, commission
// reversal, notice; twice is once) and reject (the leader reads why); a
// burst of the same claim counts once.
func TestLeaderAfterSalesThroughTheAPI(t *testing.T) {
	t.Parallel()
	m := newLastMileCity(t)
	c := m.testCity
	ops := c.staffToken("ops")
	if r := c.do("POST", m.path+"/dispatch", c.staffToken("warehouse"), nil); r.Status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", r.Status, r.Body)
	}
	d0 := m.deliveryOf(0)
	if r := c.do("POST", fmt.Sprintf("/api/v1/leader/deliveries/%d/receive", d0.ID), c.leaders[0], map[string]any{"lines": []any{}}); r.Status != http.StatusOK {
		t.Fatalf("receive: %d %s", r.Status, r.Body)
	}
	m.waitForNotices("arrival:2026-12-01:", 3)
	var code string
	for key, n := range m.receiver.Notices() {
		if strings.HasPrefix(key, "arrival:2026-12-01:") {
			code = n.Vars["code"]
			break
		}
	}
	var collected struct{ Parcels []lastmile.Parcel }
	r := c.do("POST", "/api/v1/leader/pickups/collect", c.leaders[0], map[string]any{"code": code})
	r.json(t, &collected)
	if r.Status != http.StatusOK || len(collected.Parcels) != 1 || len(collected.Parcels[0].Lines) < 2 {
		t.Fatalf("collect: %d %s", r.Status, r.Body)
	}
	line := collected.Parcels[0].Lines[0].OrderLineID
	var ready []int64
	if err := c.app.db.Select(&ready, `SELECT order_line_id FROM parcel_lines WHERE state = 'ready' ORDER BY order_line_id`); err != nil || len(ready) < 2 {
		t.Fatalf("ready lines: %v %v", ready, err)
	}
	png, jpg := fulfillmenttest.PNG(120, 90), fulfillmenttest.JPEG(160, 120)
	stored := func() string {
		return fmt.Sprintf("claims=%d photos=%d", c.count("aftersale_claims"), c.count("aftersale_photos"))
	}

	// Refused, with the envelope, storing nothing.
	for name, tc := range map[string]struct {
		token  string
		line   int64
		photos []claimPhoto
		status int
		code   string
	}{
		"fake image":         {c.leaders[0], line, []claimPhoto{{"image/png", []byte("GIF89a, or rather just text")}}, http.StatusBadRequest, "not_an_image"},
		"another leader":     {c.leaders[1], line, nil, http.StatusNotFound, "order_line_not_found"},
		"more than received": {c.leaders[0], line, nil, http.StatusUnprocessableEntity, "quantity_exceeds_delivered"},
	} {
		qty := 1
		if name == "more than received" {
			qty = 99
		}
		r := c.fileClaim(tc.token, tc.line, qty, tc.photos...)
		if r.Status != tc.status || r.errorCode(t) != tc.code {
			t.Errorf("%s: %d %s", name, r.Status, r.Body)
		}
	}
	if r := c.do("POST", "/api/v1/leader/aftersale/claims", c.leaders[0], map[string]any{"line_id": line}); r.Status != http.StatusBadRequest || r.errorCode(t) != "not_multipart" {
		t.Errorf("a JSON claim: %d %s", r.Status, r.Body)
	}
	if s := stored(); s != "claims=0 photos=0" {
		t.Fatalf("refusals stored %s", s)
	}

	// Filed with a real PNG and JPEG, the JPEG declared as something else.
	var claim aftersale.Claim
	r = c.fileClaim(c.leaders[0], line, 1, claimPhoto{"image/png", png}, claimPhoto{"application/octet-stream", jpg})
	r.json(t, &claim)
	if r.Status != http.StatusCreated || claim.State != aftersale.Pending || len(claim.Photos) != 2 ||
		claim.Photos[1].ContentType != "image/jpeg" || claim.Photos[1].Width != 160 {
		t.Fatalf("file: %d %s", r.Status, r.Body)
	}
	if r := c.fileClaim(c.leaders[0], line, 1); r.Status != http.StatusConflict || r.errorCode(t) != "already_claimed" {
		t.Fatalf("duplicate claim: %d %s", r.Status, r.Body)
	}
	photo := fmt.Sprintf("/aftersale/claims/%d/photos/", claim.ID)
	if r := c.do("GET", "/api/v1/leader"+photo+"1", c.leaders[0], nil); r.Status != http.StatusOK ||
		r.Header.Get("Content-Type") != "image/png" || !bytes.Equal(r.Body, png) {
		t.Fatalf("own photo: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if r := c.do("GET", "/api/v1/ops"+photo+"2", ops, nil); r.Status != http.StatusOK || !bytes.Equal(r.Body, jpg) {
		t.Fatalf("ops reads the photo: %d", r.Status)
	}
	var own aftersale.Claim
	c.do("GET", fmt.Sprintf("/api/v1/leader/aftersale/claims/%d", claim.ID), c.leaders[0], nil).json(t, &own)
	if own.ID != claim.ID || own.Note != "盒子压坏了" || len(own.Photos) != 2 {
		t.Fatalf("the leader reads the claim: %+v", own)
	}
	for _, path := range []string{"/api/v1/leader" + photo + "1", fmt.Sprintf("/api/v1/leader/aftersale/claims/%d", claim.ID)} {
		if r := c.do("GET", path, c.leaders[1], nil); r.Status != http.StatusNotFound {
			t.Fatalf("another leader reads %s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := c.do("GET", "/api/v1/ops"+photo+"1", c.staffToken("warehouse"), nil); r.Status != http.StatusForbidden {
		t.Fatalf("warehouse staff read a photo: %d", r.Status)
	}

	// Approved: a refund, the commission on the unit reversed, the resident told; twice is once.
	var approved aftersale.Claim
	for range 2 {
		r := c.do("POST", fmt.Sprintf("/api/v1/ops/aftersale/claims/%d/approve", claim.ID), ops, nil)
		r.json(t, &approved)
		if r.Status != http.StatusOK || approved.State != aftersale.Approved || approved.RefundID == nil {
			t.Fatalf("approve: %d %s", r.Status, r.Body)
		}
	}
	where := fmt.Sprintf("order_line_id = %d", line)
	if n := c.countWhere("refunds", where+fmt.Sprintf(" AND reason = 'after_sale' AND id = %d", *approved.RefundID)); n != 1 || c.countWhere("refunds", where+" AND reason = 'after_sale'") != 1 {
		t.Fatalf("%d after-sale refunds of the line", n)
	}
	if n := c.countWhere("commission_entries", where+fmt.Sprintf(" AND kind = 'reversal' AND source = 'refund:%d' AND amount_fen < 0", *approved.RefundID)); n != 1 {
		t.Fatalf("%d commission reversals", n)
	}
	if n := c.countWhere("outbox", fmt.Sprintf("kind = 'refund' AND dedupe_key = 'refund:after_sale:%d'", line)); n != 1 {
		t.Fatalf("%d refund notices", n)
	}

	// Rejected: the leader reads why.
	r = c.fileClaim(c.leaders[0], ready[0], 1)
	r.json(t, &claim)
	if r.Status != http.StatusCreated {
		t.Fatalf("file on a received line: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/aftersale/claims/%d/reject", claim.ID), ops, map[string]any{"reason": "照片看不出破损"}); r.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/aftersale/claims/%d/approve", claim.ID), ops, nil); r.Status != http.StatusConflict || r.errorCode(t) != "claim_decided" {
		t.Fatalf("approve a rejected claim: %d %s", r.Status, r.Body)
	}
	var mine aftersale.Page
	c.do("GET", "/api/v1/leader/aftersale/claims", c.leaders[0], nil).json(t, &mine)
	if len(mine.Claims) != 2 || mine.Claims[0].State != aftersale.Approved || *mine.Claims[0].RefundID != *approved.RefundID ||
		mine.Claims[1].State != aftersale.Rejected || mine.Claims[1].DecisionReason != "照片看不出破损" {
		t.Fatalf("the leader's claims: %+v", mine)
	}
	var theirs aftersale.Page
	c.do("GET", "/api/v1/leader/aftersale/claims", c.leaders[1], nil).json(t, &theirs)
	var pending aftersale.Page
	c.do("GET", fmt.Sprintf("/api/v1/ops/aftersale/claims?state=rejected&point_id=%d", c.points[0].Point.ID), ops, nil).json(t, &pending)
	if len(theirs.Claims) != 0 || len(pending.Claims) != 1 || pending.Claims[0].ID != claim.ID {
		t.Fatalf("leader 1 sees %d claims; ops' rejected at point 0: %+v", len(theirs.Claims), pending)
	}

	// A burst of the same claim: one is filed, the rest are duplicates.
	const burst = 12
	statuses := make([]int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Go(func() { statuses[i] = c.fileClaim(c.leaders[0], ready[1], 1, claimPhoto{"image/jpeg", jpg}).Status })
	}
	wg.Wait()
	created := 0
	for _, s := range statuses {
		switch s {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
		default:
			t.Errorf("burst answer %d", s)
		}
	}
	if n := c.countWhere("aftersale_claims", fmt.Sprintf("order_line_id = %d", ready[1])); created != 1 || n != 1 {
		t.Fatalf("burst: %d filed, %d stored; want 1", created, n)
	}
	if n := c.countWhere("aftersale_photos", fmt.Sprintf("claim_id IN (SELECT id FROM aftersale_claims WHERE order_line_id = %d)", ready[1])); n != 1 {
		t.Fatalf("burst stored %d photos, want 1", n)
	}

	// Approved before collection, then never collected: the return refunds
	// only the units the claim did not.
	var burstClaim int64
	if err := c.app.db.Get(&burstClaim, `SELECT id FROM aftersale_claims WHERE order_line_id = $1`, ready[1]); err != nil {
		t.Fatal(err)
	}
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/aftersale/claims/%d/approve", burstClaim), ops, nil); r.Status != http.StatusOK {
		t.Fatalf("approve on a received line: %d %s", r.Status, r.Body)
	}
	c.clock.Set(time.Date(2026, 12, 4, 16, 1, 0, 0, time.UTC)) // past the third day after delivery, in Shanghai
	if res, err := c.app.desk.Sweep(context.Background()); err != nil || res.Returned == 0 {
		t.Fatalf("return sweep: %+v %v", res, err)
	}
	var units struct {
		Ready    int64 `db:"ready"`
		Returned int64 `db:"returned"`
		Claimed  int64 `db:"claimed"`
	}
	if err := c.app.db.Get(&units, `SELECT pl.ready,
		(SELECT coalesce(sum(quantity), 0) FROM refunds WHERE order_line_id = pl.order_line_id AND reason = 'returned') AS returned,
		(SELECT coalesce(sum(quantity), 0) FROM refunds WHERE order_line_id = pl.order_line_id AND reason = 'after_sale') AS claimed
		FROM parcel_lines pl WHERE pl.order_line_id = $1 AND pl.state = 'returned'`, ready[1]); err != nil {
		t.Fatal(err)
	}
	if units.Claimed != 1 || units.Returned+units.Claimed != units.Ready {
		t.Fatalf("a line of %d units: %d refunded after sale, %d on return", units.Ready, units.Claimed, units.Returned)
	}
}
