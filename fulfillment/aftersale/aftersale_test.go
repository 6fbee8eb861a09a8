package aftersale

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
)

// claimCity is a city of two points whose lines are delivered at received.
type claimCity struct {
	*fulfillmenttest.City
	clock    *clock.Manual
	svc      *Service
	received time.Time
	wave     int64
	egg      int64 // a sale item at 250 fen
}

func newClaimCity(t *testing.T, opt Options) *claimCity {
	c := &claimCity{City: fulfillmenttest.New(t, 2), received: time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC)}
	c.clock = clock.NewManual(c.received.Add(time.Hour))
	c.svc = NewService(c.DB, c.clock, opt)
	c.egg = c.SaleItem(c.Product("EGG", fulfillment.Ambient, ""), 250, 1000)
	c.wave = c.Wave()
	return c
}

// line orders units at point p and delivers them: state is "" (no parcel
// line), ready (received, not collected), collected or returned.
func (c *claimCity) line(p int, units int64, state string) int64 {
	c.T.Helper()
	order := c.Order(p, fulfillmenttest.Line{SaleItem: c.egg, Quantity: units})
	line := c.ID(`SELECT id FROM order_lines WHERE order_id = $1`, order)
	if state == "" {
		return line
	}
	point := c.Points[p]
	delivery := c.ID(`INSERT INTO deliveries (wave_id, pickup_point_id, state, received_at) VALUES ($1, $2, 'received', $3)
		ON CONFLICT (wave_id, pickup_point_id) DO UPDATE SET state = 'received' RETURNING id`, c.wave, point.ID, c.received)
	c.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, state, ready_at, collected_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, CASE WHEN $7 = 'collected' THEN $8::timestamptz + interval '2 hours' END)`,
		line, delivery, point.ID, point.Resident, fulfillmenttest.Date, units, state, c.received)
	return line
}

func (c *claimCity) accrue(line int64) {
	c.T.Helper()
	err := pg.InTx(context.Background(), c.DB, func(tx *sqlx.Tx) error {
		_, err := commission.AccrueCommission(context.Background(), tx, []int64{line}, []fulfillment.Date{fulfillmenttest.Date}, c.clock.Now())
		return err
	})
	if err != nil {
		c.T.Fatal(err)
	}
}

func (c *claimCity) file(p int, f Filing) (Claim, error) {
	return c.svc.File(context.Background(), c.Points[p].Leader, f)
}

func TestClaimApprovedRefundsReversesAndTells(t *testing.T) {
	c := newClaimCity(t, Options{})
	ctx := context.Background()
	collected := c.line(0, 3, "collected")
	c.accrue(collected) // 3 × 250 at the default 10 %: 75
	png, jpg := fulfillmenttest.PNG(40, 30), fulfillmenttest.JPEG(64, 48)

	claim, err := c.file(0, Filing{LineID: collected, Reason: Damaged, Quantity: 2, Note: "两盒破了", Photos: [][]byte{png, jpg}})
	if err != nil {
		t.Fatal(err)
	}
	if claim.State != Pending || claim.AmountFen != 500 || claim.SKU != "EGG" || len(claim.Photos) != 2 ||
		claim.Photos[0].ContentType != "image/png" || claim.Photos[0].Width != 40 || claim.Photos[1].ContentType != "image/jpeg" ||
		claim.Photos[1].Height != 48 || claim.RefundID != nil {
		t.Fatalf("filed: %+v", claim)
	}
	// The photo goes to the claim's leader and to staff (leader 0), not to another leader.
	for _, who := range []int64{c.Points[0].Leader, 0} {
		p, err := c.svc.Photo(ctx, claim.ID, 2, who)
		if err != nil || p.ContentType != "image/jpeg" || !bytes.Equal(p.Data, jpg) {
			t.Fatalf("photo for %d: %v %s", who, err, p.ContentType)
		}
	}
	if _, err := c.svc.Photo(ctx, claim.ID, 1, c.Points[1].Leader); !errors.Is(err, ErrPhotoNotFound) {
		t.Fatalf("another leader's view: %v", err)
	}
	if _, err := c.svc.Get(ctx, claim.ID, c.Points[1].Leader); !errors.Is(err, ErrClaimNotFound) {
		t.Fatalf("another leader reads the claim: %v", err)
	}

	for range 2 { // approving twice refunds once
		got, err := c.svc.Approve(ctx, claim.ID, "ops")
		if err != nil {
			t.Fatal(err)
		}
		if got.State != Approved || got.RefundID == nil || got.DecidedBy != "ops" || got.DecidedAt == nil {
			t.Fatalf("approved: %+v", got)
		}
	}
	if n := c.Count(`SELECT count(*) FROM refunds WHERE order_line_id = $1 AND reason = 'after_sale' AND quantity = 2 AND amount_fen = 500`, collected); n != 1 {
		t.Fatalf("%d after-sale refunds", n)
	}
	if n := c.Count(`SELECT coalesce(sum(amount_fen), 0) FROM commission_entries WHERE order_line_id = $1`, collected); n != 25 {
		t.Fatalf("commission net %d after reversing 2 of 3 units, want 25", n)
	}
	if n := c.Count(`SELECT count(*) FROM outbox WHERE kind = 'refund' AND resident_id = $1`, c.Points[0].Resident); n != 1 {
		t.Fatalf("%d refund notices", n)
	}
	if _, err := c.svc.Reject(ctx, claim.ID, "看错了", "ops"); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("reject an approved claim: %v", err)
	}
	// The line is refunded after sale: no claim on it again.
	if _, err := c.file(0, Filing{LineID: collected, Reason: Quality, Quantity: 1}); !errors.Is(err, ErrAlreadyClaimed) {
		t.Fatalf("claim after approval: %v", err)
	}

	// A line received but not collected: refunded without a reversal, and
	// collecting it later accrues on the units left.
	ready := c.line(0, 4, "ready")
	claim, err = c.file(0, Filing{LineID: ready, Reason: Expired, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.svc.Approve(ctx, claim.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	if n := c.Count(`SELECT count(*) FROM commission_entries WHERE order_line_id = $1`, ready); n != 0 {
		t.Fatalf("%d commission entries on an uncollected line", n)
	}
	c.Exec(`UPDATE parcel_lines SET state = 'collected', collected_at = $2 WHERE order_line_id = $1`, ready, c.clock.Now())
	c.accrue(ready)
	if n := c.Count(`SELECT quantity * 1000 + amount_fen FROM commission_entries WHERE order_line_id = $1 AND kind = 'accrual'`, ready); n != 3*1000+75 {
		t.Fatalf("accrual after a claim before collection: %d, want 3 units, 75 fen", n)
	}

	// Rejected: the leader reads why, and may claim the line again.
	other := c.line(0, 2, "ready")
	claim, err = c.file(0, Filing{LineID: other, Reason: Quality, Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if claim, err = c.svc.Reject(ctx, claim.ID, "照片看不出问题", "ops"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.svc.Approve(ctx, claim.ID, "ops"); !errors.Is(err, ErrAlreadyDecided) {
		t.Fatalf("approve a rejected claim: %v", err)
	}
	page, err := c.svc.List(ctx, Filter{LeaderID: c.Points[0].Leader, State: Rejected})
	if err != nil || len(page.Claims) != 1 || page.Claims[0].DecisionReason != "照片看不出问题" || page.Claims[0].RefundID != nil {
		t.Fatalf("leader's rejected claims: %v %+v", err, page)
	}
	if _, err := c.file(0, Filing{LineID: other, Reason: Quality, Quantity: 1}); err != nil {
		t.Fatalf("claim again after a rejection: %v", err)
	}
	page, _ = c.svc.List(ctx, Filter{PointID: c.Points[0].ID, Limit: 2})
	if len(page.Claims) != 2 || !page.HasMore || page.NextID != page.Claims[1].ID {
		t.Fatalf("ops page: %+v", page)
	}
	if page, _ = c.svc.List(ctx, Filter{PointID: c.Points[1].ID}); len(page.Claims) != 0 {
		t.Fatalf("point 1 has claims: %+v", page)
	}
}

func TestClaimRefusalsStoreNothing(t *testing.T) {
	c := newClaimCity(t, Options{})
	collected := c.line(0, 2, "collected")
	ready := c.line(0, 2, "ready")
	returned := c.line(0, 2, "returned")
	undelivered := c.line(0, 2, "")
	theirs := c.line(1, 2, "collected")
	png := fulfillmenttest.PNG(8, 8)
	fakePNG := append(png[:16:16], bytes.Repeat([]byte{0}, 100)...) // a PNG signature, then no image
	big := append(fulfillmenttest.JPEG(16, 16), make([]byte, MaxPhotoBytes)...)
	ok := Filing{LineID: collected, Reason: Damaged, Quantity: 1}
	with := func(f func(*Filing)) Filing { g := ok; f(&g); return g }
	cases := []struct {
		name   string
		filing Filing
		want   error
		kind   apperr.Kind
	}{
		{"another leader's line", with(func(f *Filing) { f.LineID = theirs }), ErrLineNotFound, apperr.NotFound},
		{"no such line", with(func(f *Filing) { f.LineID = 987_654 }), ErrLineNotFound, apperr.NotFound},
		{"not delivered", with(func(f *Filing) { f.LineID = undelivered }), ErrNotDelivered, apperr.Conflict},
		{"returned", with(func(f *Filing) { f.LineID = returned }), ErrNotDelivered, apperr.Conflict},
		{"more than delivered", with(func(f *Filing) { f.Quantity = 3 }), ErrQuantity, apperr.Unprocessable},
		{"text as a photo", with(func(f *Filing) { f.Photos = [][]byte{[]byte("this is not a picture")} }), ErrNotAnImage, apperr.Invalid},
		{"a PNG header only", with(func(f *Filing) { f.Photos = [][]byte{fakePNG} }), ErrNotAnImage, apperr.Invalid},
		{"too big", with(func(f *Filing) { f.Photos = [][]byte{big} }), ErrPhotoTooLarge, apperr.Invalid},
		{"four photos", with(func(f *Filing) { f.Photos = [][]byte{png, png, png, png} }), ErrTooManyPhotos, apperr.Invalid},
		{"unknown reason", with(func(f *Filing) { f.Reason = "dislike" }), nil, apperr.Invalid},
		{"zero units", with(func(f *Filing) { f.Quantity = 0 }), nil, apperr.Invalid},
		{"a control character in the note", with(func(f *Filing) { f.Note = "a\x00b" }), nil, apperr.Invalid},
	}
	for _, tc := range cases {
		_, err := c.file(0, tc.filing)
		if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) || apperr.KindOf(err) != tc.kind {
			t.Errorf("%s: %v, want %v (%s)", tc.name, err, tc.want, tc.kind)
		}
	}
	if n := c.Count(`SELECT (SELECT count(*) FROM aftersale_claims) + (SELECT count(*) FROM aftersale_photos)`); n != 0 {
		t.Fatalf("refusals stored %d rows", n)
	}

	// The window: 48 h after collection (2 h after receipt here), after receipt when not collected.
	c.clock.Set(c.received.Add(49 * time.Hour))
	if _, err := c.file(0, with(func(f *Filing) { f.LineID = ready })); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("received 49 h ago: %v", err)
	}
	if _, err := c.file(0, ok); err != nil {
		t.Fatalf("collected 47 h ago: %v", err)
	}
	if _, err := c.file(0, with(func(f *Filing) { f.Quantity = 1 })); !errors.Is(err, ErrAlreadyClaimed) {
		t.Fatalf("a second claim of the line: %v", err)
	}
	c.clock.Set(c.received.Add(51 * time.Hour))
	if _, err := c.file(0, with(func(f *Filing) { f.LineID = c.line(0, 1, "collected") })); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("collected 49 h ago: %v", err)
	}
	if n := c.Count(`SELECT count(*) FROM aftersale_claims`); n != 1 {
		t.Fatalf("%d claims, want the one accepted", n)
	}
}

func TestConcurrentClaimsOfALineCountOnce(t *testing.T) {
	c := newClaimCity(t, Options{})
	line := c.line(0, 5, "collected")
	const burst = 16
	var wg sync.WaitGroup
	errs := make([]error, burst)
	for i := range burst {
		wg.Go(func() { _, errs[i] = c.file(0, Filing{LineID: line, Reason: Missing, Quantity: 5}) })
	}
	wg.Wait()
	accepted := 0
	for _, err := range errs {
		switch {
		case err == nil:
			accepted++
		case !errors.Is(err, ErrAlreadyClaimed):
			t.Errorf("refused with %v, want already_claimed", err)
		}
	}
	if n := c.Count(`SELECT count(*) FROM aftersale_claims WHERE order_line_id = $1`, line); accepted != 1 || n != 1 {
		t.Fatalf("%d accepted, %d stored; want 1", accepted, n)
	}
}

func TestClaimPhotosInADirectory(t *testing.T) {
	dir := t.TempDir()
	c := newClaimCity(t, Options{PhotoDir: dir, Window: time.Hour, Metrics: refund.Metrics{}})
	jpg := fulfillmenttest.JPEG(20, 10)
	claim, err := c.file(0, Filing{LineID: c.line(0, 1, "ready"), Reason: WrongItem, Quantity: 1, Photos: [][]byte{jpg}})
	if err != nil {
		t.Fatal(err)
	}
	if n := c.Count(`SELECT count(*) FROM aftersale_photos WHERE data IS NULL`); n != 1 {
		t.Fatalf("%d photos outside the database", n)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
	if len(files) != 1 {
		t.Fatalf("files: %v", files)
	}
	if b, _ := os.ReadFile(files[0]); !bytes.Equal(b, jpg) {
		t.Fatal("the file is not the photo")
	}
	p, err := c.svc.Photo(context.Background(), claim.ID, 1, 0)
	if err != nil || !bytes.Equal(p.Data, jpg) {
		t.Fatalf("photo: %v", err)
	}
	// The configured window is an hour after receipt.
	c.clock.Set(c.received.Add(61 * time.Minute))
	if _, err := c.file(0, Filing{LineID: c.line(0, 1, "ready"), Reason: WrongItem, Quantity: 1}); !errors.Is(err, ErrWindowClosed) {
		t.Fatalf("an hour and a minute after receipt: %v", err)
	}
}

// TestClaimsGoWithTheirPoint: point 0's leader files a claim with a photo,
// hands point 0 over and takes over point 1. The claim and its photo are
// point 0's new leader's to see, no longer the old one's.
func TestClaimsGoWithTheirPoint(t *testing.T) {
	c := newClaimCity(t, Options{})
	ctx := context.Background()
	line := c.line(0, 2, "ready")
	claim, err := c.file(0, Filing{LineID: line, Reason: Damaged, Quantity: 1, Photos: [][]byte{fulfillmenttest.PNG(8, 8)}})
	if err != nil {
		t.Fatal(err)
	}
	old := c.Points[0].Leader
	c.Exec(`UPDATE pickup_points SET leader_id = $2 WHERE id = $1`, c.Points[0].ID, c.ID(`INSERT INTO leaders (name, phone) VALUES ('新团长', '13900009999') RETURNING id`))
	c.Exec(`UPDATE pickup_points SET leader_id = $2 WHERE id = $1`, c.Points[1].ID, c.ID(`INSERT INTO leaders (name, phone) VALUES ('过渡', '13900008888') RETURNING id`))
	c.Exec(`UPDATE pickup_points SET leader_id = $2 WHERE id = $1`, c.Points[1].ID, old)
	now := c.Count(`SELECT leader_id FROM pickup_points WHERE id = $1`, c.Points[0].ID)
	if _, err := c.svc.Photo(ctx, claim.ID, 1, old); !errors.Is(err, ErrPhotoNotFound) {
		t.Fatalf("the old leader, now at point 1, reading point 0's photo: %v", err)
	}
	if _, err := c.svc.Get(ctx, claim.ID, old); !errors.Is(err, ErrClaimNotFound) {
		t.Fatalf("the old leader reading point 0's claim: %v", err)
	}
	if p, _ := c.svc.List(ctx, Filter{LeaderID: old}); len(p.Claims) != 0 {
		t.Fatalf("the old leader lists %d of point 0's claims", len(p.Claims))
	}
	if _, err := c.svc.Photo(ctx, claim.ID, 1, now); err != nil {
		t.Fatalf("point 0's leader now, reading its photo: %v", err)
	}
	if got, err := c.svc.Get(ctx, claim.ID, now); err != nil || got.ID != claim.ID {
		t.Fatalf("point 0's leader now, reading its claim: %+v %v", got, err)
	}
	if p, _ := c.svc.List(ctx, Filter{LeaderID: now}); len(p.Claims) != 1 {
		t.Fatalf("point 0's leader now lists %d claims", len(p.Claims))
	}
}

// TestAClaimOutlivesItsLine: once retention has dropped the night's order
// lines, the claim is still listed and read, with its quantity and, once
// approved, its refund's amount, and a rejection answers the claim.
func TestAClaimOutlivesItsLine(t *testing.T) {
	c := newClaimCity(t, Options{})
	ctx := context.Background()
	approved, err := c.file(0, Filing{LineID: c.line(0, 2, "collected"), Reason: Damaged, Quantity: 1})
	if err != nil {
		t.Fatal(err)
	}
	pending, err := c.file(0, Filing{LineID: c.line(0, 2, "collected"), Reason: Damaged, Quantity: 2})
	if err != nil {
		t.Fatal(err)
	}
	if approved, err = c.svc.Approve(ctx, approved.ID, "ops"); err != nil {
		t.Fatal(err)
	}
	// What retention does to the night's detail: its lines go.
	c.Exec(`ALTER TABLE parcel_lines DISABLE TRIGGER ALL`)
	c.Exec(`ALTER TABLE order_lines DISABLE TRIGGER ALL`)
	c.Exec(`DELETE FROM parcel_lines`)
	c.Exec(`DELETE FROM order_lines`)
	if p, err := c.svc.List(ctx, Filter{}); err != nil || len(p.Claims) != 2 {
		t.Fatalf("claims listed without their lines: %+v %v", p, err)
	}
	got, err := c.svc.Get(ctx, approved.ID, 0)
	if err != nil || got.AmountFen != approved.AmountFen || got.Quantity != 1 || got.SKU != "" {
		t.Fatalf("the approved claim without its line: %+v %v (was %+v)", got, err, approved)
	}
	// It cannot be approved (nothing is left to refund by): 409, not a 404
	// for a claim that reads fine.
	if _, err := c.svc.Approve(ctx, pending.ID, "ops"); !errors.Is(err, ErrLineArchived) {
		t.Fatalf("approving a claim without its line: %v", err)
	}
	if got, err := c.svc.Reject(ctx, pending.ID, "不符合", "ops"); err != nil || got.State != Rejected {
		t.Fatalf("rejecting a claim without its line: %+v %v", got, err)
	}
}
