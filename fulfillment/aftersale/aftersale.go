// Package aftersale owns the leaders' after-sales claims (售后): a leader
// claims units of a line delivered to their point, received or collected,
// within a window, with a reason, a note and up to three photos; ops approve
// (the refund, the commission reversal and the resident's notice go through
// commission.RefundClaim, the after-sale refunds' one path) or reject with a
// reason; the leader reads the outcome. It owns aftersale_claims and
// aftersale_photos, and reads the order, parcel and point rows it checks a
// claim against (intake's, lastmile's and pickup's tables).
package aftersale

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/refund"
	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/input"
	"groupbuy/internal/pg"
)

// Reason is why a leader claims: finer than the ledger's reason, which is
// after_sale for every approved claim.
type Reason string

// The reasons a leader may give.
const (
	Quality   Reason = "quality"    // not as it should be (taste, freshness)
	Damaged   Reason = "damaged"    // broken or leaking
	Missing   Reason = "missing"    // fewer units than the label says
	WrongItem Reason = "wrong_item" // another product came
	Expired   Reason = "expired"    // past its date
)

// Reasons lists every reason.
var Reasons = []Reason{Quality, Damaged, Missing, WrongItem, Expired}

// State is where a claim stands.
type State string

// Claim states: pending → approved or rejected.
const (
	Pending  State = "pending"
	Approved State = "approved"
	Rejected State = "rejected"
)

// States lists every state.
var States = []State{Pending, Approved, Rejected}

// DefaultWindow is how long after receipt or collection a line may be claimed.
const DefaultWindow = 48 * time.Hour

// MaxNote bounds a claim's note and a rejection's reason, in characters.
const MaxNote = 500

// Errors of claims.
var (
	ErrLineNotFound    = apperr.Errorf(apperr.NotFound, "order_line_not_found", "no order line with this id at your pickup point")
	ErrNotDelivered    = apperr.Errorf(apperr.Conflict, "not_delivered", "the line was not delivered to the point: nothing to claim")
	ErrWindowClosed    = apperr.Errorf(apperr.Unprocessable, "claim_window_closed", "the time to claim this line has passed")
	ErrQuantity        = apperr.Errorf(apperr.Unprocessable, "quantity_exceeds_delivered", "more units than were delivered")
	ErrAlreadyClaimed  = apperr.Errorf(apperr.Conflict, "already_claimed", "the line already has a pending or approved claim, or an after-sale refund")
	ErrClaimNotFound   = apperr.Errorf(apperr.NotFound, "claim_not_found", "claim not found")
	ErrLineArchived    = apperr.Errorf(apperr.Conflict, "claim_line_archived", "the claim's order line went with its archived night: reject the claim, and refund by hand if it is owed")
	ErrAlreadyDecided  = apperr.Errorf(apperr.Conflict, "claim_decided", "the claim was decided otherwise")
	ErrPhotoNotFound   = apperr.Errorf(apperr.NotFound, "photo_not_found", "photo not found")
	errPhotoDirMissing = errors.New("photo stored in a directory, but no directory is configured")
)

// Claim is a leader's claim with the line it is on and its outcome.
type Claim struct {
	ID             int64            `db:"id" json:"id"`
	OrderLineID    int64            `db:"order_line_id" json:"order_line_id"`
	OrderID        int64            `db:"order_id" json:"order_id"`
	LeaderID       int64            `db:"leader_id" json:"leader_id"`
	PickupPointID  int64            `db:"pickup_point_id" json:"pickup_point_id"`
	PointLeaderID  int64            `db:"point_leader" json:"-"`
	DeliveryDate   fulfillment.Date `db:"delivery_date" json:"delivery_date"`
	SKU            string           `db:"sku" json:"sku"`
	Name           string           `db:"name" json:"name"`
	Reason         Reason           `db:"reason" json:"reason"`
	Quantity       int64            `db:"quantity" json:"quantity"`
	AmountFen      int64            `db:"amount_fen" json:"amount_fen" doc:"What approving refunds: quantity × the line's price."`
	Note           string           `db:"note" json:"note"`
	State          State            `db:"state" json:"state"`
	DecisionReason string           `db:"decision_reason" json:"decision_reason,omitempty" doc:"Why ops rejected it."`
	DecidedBy      string           `db:"decided_by" json:"decided_by,omitempty"`
	DecidedAt      *time.Time       `db:"decided_at" json:"decided_at,omitempty"`
	RefundID       *int64           `db:"refund_id" json:"refund_id,omitempty" doc:"The refund an approval made."`
	CreatedAt      time.Time        `db:"created_at" json:"created_at"`
	Photos         []Photo          `db:"-" json:"photos"`
}

// Photo describes one of a claim's photos; its bytes are served by seq
// under the claim (the leader's and ops' paths).
type Photo struct {
	ClaimID     int64  `db:"claim_id" json:"-"`
	Seq         int    `db:"seq" json:"seq"`
	ContentType string `db:"content_type" json:"content_type" enum:"image/jpeg,image/png"`
	SizeBytes   int64  `db:"size_bytes" json:"size_bytes"`
	Width       int    `db:"width" json:"width"`
	Height      int    `db:"height" json:"height"`
}

// Filing is what a leader files.
type Filing struct {
	LineID   int64
	Reason   Reason
	Quantity int64
	Note     string
	Photos   [][]byte
}

func (f *Filing) check() error {
	switch {
	case f.LineID <= 0:
		return apperr.InvalidField("line_id", "line_id must be a positive integer")
	case !validReason(f.Reason):
		return apperr.InvalidField("reason", "reason must be one of quality, damaged, missing, wrong_item, expired")
	case f.Quantity < 1 || f.Quantity > fulfillment.MaxQuantity:
		return apperr.InvalidField("quantity", "quantity must be between 1 and %d", fulfillment.MaxQuantity)
	case len(f.Photos) > MaxPhotos:
		return ErrTooManyPhotos
	}
	return input.CheckOptionalText("note", f.Note, MaxNote)
}

func validReason(r Reason) bool {
	for _, v := range Reasons {
		if r == v {
			return true
		}
	}
	return false
}

// Options configure claims.
type Options struct {
	// Window is how long after receipt (or collection, once collected) a
	// line may be claimed; 0 is DefaultWindow.
	Window time.Duration
	// PhotoDir keeps photos as files in this directory; "" keeps them in
	// PostgreSQL.
	PhotoDir string
	// Metrics counts the refunds and notices approvals make.
	Metrics refund.Metrics
}

// Service runs the claims' commands, one transaction each.
type Service struct {
	db     *sqlx.DB
	clock  clock.Clock
	opt    Options
	photos photoStore
}

// NewService returns the claims' commands over db.
func NewService(db *sqlx.DB, clk clock.Clock, opt Options) *Service {
	if opt.Window <= 0 {
		opt.Window = DefaultWindow
	}
	return &Service{db: db, clock: clk, opt: opt, photos: photoStore{dir: opt.PhotoDir}}
}

// Window is how long after receipt or collection a line may be claimed.
func (s *Service) Window() time.Duration { return s.opt.Window }

// File records a leader's claim with its photos in one transaction, or
// refuses it and stores nothing: a line not at the leader's point (404, as
// for no line at all), not delivered or returned, past the window, more
// units than were delivered, a line already claimed (pending or approved)
// or refunded after sale, a file that is not a JPEG or PNG image. The order
// line's row lock orders concurrent claims of a line: the first wins, the
// others see it.
func (s *Service) File(ctx context.Context, leaderID int64, f Filing) (Claim, error) {
	if err := f.check(); err != nil {
		return Claim{}, err
	}
	photos := make([]checkedPhoto, len(f.Photos))
	for i, b := range f.Photos {
		p, err := checkPhoto(b)
		if err != nil {
			e := err.(*apperr.Error).With("photo", i+1)
			e.Field = "photo"
			return Claim{}, e
		}
		photos[i] = p
	}
	var id int64
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		id, err = s.file(ctx, tx, leaderID, f, photos)
		return err
	})
	if err != nil {
		return Claim{}, err
	}
	return s.get(ctx, s.db, id)
}

func (s *Service) file(ctx context.Context, tx *sqlx.Tx, leaderID int64, f Filing, photos []checkedPhoto) (int64, error) {
	var line struct {
		OrderID  int64 `db:"order_id"`
		PointID  int64 `db:"pickup_point_id"`
		LeaderID int64 `db:"leader_id"`
	}
	err := tx.GetContext(ctx, &line, `SELECT ol.order_id, o.pickup_point_id, pp.leader_id
		FROM order_lines ol JOIN orders o ON o.id = ol.order_id JOIN pickup_points pp ON pp.id = o.pickup_point_id
		WHERE ol.id = $1 FOR NO KEY UPDATE OF ol`, f.LineID)
	if errors.Is(err, sql.ErrNoRows) || err == nil && line.LeaderID != leaderID {
		return 0, ErrLineNotFound
	}
	if err != nil {
		return 0, err
	}
	var parcel struct {
		State       string     `db:"state"`
		Ready       int64      `db:"ready"`
		ReadyAt     time.Time  `db:"ready_at"`
		CollectedAt *time.Time `db:"collected_at"`
	}
	err = tx.GetContext(ctx, &parcel, `SELECT state, ready, ready_at, collected_at FROM parcel_lines WHERE order_line_id = $1`, f.LineID)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, ErrNotDelivered
	}
	if err != nil {
		return 0, err
	}
	if parcel.State == "returned" {
		return 0, ErrNotDelivered.With("state", parcel.State)
	}
	since := parcel.ReadyAt
	if parcel.CollectedAt != nil {
		since = *parcel.CollectedAt
	}
	now := s.clock.Now()
	if deadline := since.Add(s.opt.Window); now.After(deadline) {
		return 0, ErrWindowClosed.With("deadline", deadline.UTC().Format(time.RFC3339))
	}
	if f.Quantity > parcel.Ready {
		return 0, ErrQuantity.With("delivered", parcel.Ready)
	}
	// An after-sale refund ops granted straight on the line takes it too.
	refunded, err := refund.Exists(ctx, tx, f.LineID, fulfillment.ReasonAfterSale)
	if err != nil {
		return 0, err
	}
	if refunded {
		return 0, ErrAlreadyClaimed
	}
	var id int64
	err = tx.GetContext(ctx, &id, `INSERT INTO aftersale_claims (order_line_id, order_id, leader_id, pickup_point_id, reason, quantity, note, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`,
		f.LineID, line.OrderID, leaderID, line.PointID, string(f.Reason), f.Quantity, f.Note, now)
	if pg.IsUniqueViolation(err, "aftersale_claims_live") {
		return 0, ErrAlreadyClaimed
	}
	if err != nil {
		return 0, err
	}
	for i, p := range photos {
		if err := s.photos.add(ctx, tx, id, i+1, p); err != nil {
			return 0, err
		}
	}
	return id, nil
}

// Approve grants a pending claim in one transaction: the after-sale refund
// of its units with the commission reversal and the resident's notice
// (commission.RefundClaim), and the claim approved with the refund's id.
// Approving an approved claim answers it as it is; a rejected one is refused.
func (s *Service) Approve(ctx context.Context, id int64, by string) (Claim, error) {
	return s.decide(ctx, id, Approved, func(tx *sqlx.Tx, c lockedClaim, now time.Time) error {
		r, err := commission.RefundClaim(ctx, tx, s.opt.Metrics, c.OrderLineID, c.Quantity, now)
		if errors.Is(err, commission.ErrOrderLineNotFound) {
			return ErrLineArchived // a claim left pending past the retention
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE aftersale_claims SET state = 'approved', refund_id = $2, decided_by = $3, decided_at = $4
			WHERE id = $1`, id, r.RefundID, by, now)
		return err
	})
}

// Reject refuses a pending claim with a reason the leader reads. Rejecting
// a rejected claim answers it as it is; an approved one is refused.
func (s *Service) Reject(ctx context.Context, id int64, reason, by string) (Claim, error) {
	if err := input.CheckText("reason", reason, MaxNote); err != nil {
		return Claim{}, err
	}
	return s.decide(ctx, id, Rejected, func(tx *sqlx.Tx, _ lockedClaim, now time.Time) error {
		_, err := tx.ExecContext(ctx, `UPDATE aftersale_claims SET state = 'rejected', decision_reason = $2, decided_by = $3, decided_at = $4
			WHERE id = $1`, id, reason, by, now)
		return err
	})
}

// decide moves a pending claim to state to by do, in one transaction under
// the claim's lock; a claim already there is answered as it is (a second
// approval refunds nothing), one decided the other way is refused.
func (s *Service) decide(ctx context.Context, id int64, to State, do func(tx *sqlx.Tx, c lockedClaim, now time.Time) error) (Claim, error) {
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		c, err := lockClaim(ctx, tx, id)
		if err != nil || c.State == to {
			return err
		}
		if c.State != Pending {
			return ErrAlreadyDecided.With("state", c.State)
		}
		return do(tx, c, s.clock.Now())
	})
	if err != nil {
		return Claim{}, err
	}
	return s.get(ctx, s.db, id)
}

type lockedClaim struct {
	OrderLineID int64 `db:"order_line_id"`
	Quantity    int64 `db:"quantity"`
	State       State `db:"state"`
}

func lockClaim(ctx context.Context, tx *sqlx.Tx, id int64) (lockedClaim, error) {
	return pg.GetOne[lockedClaim](ctx, tx, ErrClaimNotFound,
		`SELECT order_line_id, quantity, state FROM aftersale_claims WHERE id = $1 FOR UPDATE`, id)
}

// claimSelect reads claims with what names them. The claim outlives its
// order line, which retention drops with its night (the order stays, as a
// claim names it): such a claim keeps its quantity and its refund's amount,
// without a SKU. point_leader is the leader running the claim's point now.
const claimSelect = `SELECT c.id, c.order_line_id, c.order_id, c.leader_id, c.pickup_point_id, pp.leader_id AS point_leader,
	o.delivery_date, coalesce(p.sku, '') AS sku, coalesce(p.name, '') AS name,
	c.reason, c.quantity, coalesce(c.quantity * ol.price_fen, f.amount_fen, 0) AS amount_fen, c.note, c.state, c.decision_reason,
	c.decided_by, c.decided_at, c.refund_id, c.created_at
	FROM aftersale_claims c JOIN orders o ON o.id = c.order_id JOIN pickup_points pp ON pp.id = c.pickup_point_id
	LEFT JOIN order_lines ol ON ol.id = c.order_line_id AND ol.delivery_date = o.delivery_date
	LEFT JOIN sale_items si ON si.id = ol.sale_item_id LEFT JOIN products p ON p.id = si.product_id
	LEFT JOIN refunds f ON f.id = c.refund_id`

// Get loads a claim; leaderID other than 0 must run the claim's pickup
// point now (a handover takes the point's claims along), else it is not
// found, as if it did not exist.
func (s *Service) Get(ctx context.Context, id, leaderID int64) (Claim, error) {
	c, err := s.get(ctx, s.db, id)
	if err == nil && leaderID != 0 && c.PointLeaderID != leaderID {
		return Claim{}, ErrClaimNotFound
	}
	return c, err
}

func (s *Service) get(ctx context.Context, q sqlx.QueryerContext, id int64) (Claim, error) {
	c, err := pg.GetOne[Claim](ctx, q, ErrClaimNotFound, claimSelect+` WHERE c.id = $1`, id)
	if err != nil {
		return c, err
	}
	cs := []Claim{c}
	err = withPhotos(ctx, q, cs)
	return cs[0], err
}

// Filter selects claims; zero fields select all.
type Filter struct {
	LeaderID int64 // the claims of the point this leader runs now
	PointID  int64
	State    State
	From, To time.Time // created at or after From, before To
	AfterID  int64
	Limit    int // 1..1000; 0 is 200
}

// Page is a page of claims in id order.
type Page struct {
	Claims  []Claim `json:"claims"`
	NextID  int64   `json:"next_after_id,omitempty"`
	HasMore bool    `json:"has_more"`
}

// List returns a page of the claims the filter selects.
func (s *Service) List(ctx context.Context, f Filter) (Page, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 200
	}
	page := Page{Claims: []Claim{}}
	q := claimSelect + ` WHERE c.id > $1 AND ($2::bigint = 0 OR pp.leader_id = $2) AND ($3::bigint = 0 OR c.pickup_point_id = $3)
		AND ($4 = '' OR c.state = $4) AND ($5::timestamptz IS NULL OR c.created_at >= $5)
		AND ($6::timestamptz IS NULL OR c.created_at < $6) ORDER BY c.id LIMIT $7`
	if err := sqlx.SelectContext(ctx, s.db, &page.Claims, q, f.AfterID, f.LeaderID, f.PointID, string(f.State),
		nullTime(f.From), nullTime(f.To), f.Limit+1); err != nil {
		return page, err
	}
	if len(page.Claims) > f.Limit {
		page.Claims, page.HasMore = page.Claims[:f.Limit], true
		page.NextID = page.Claims[f.Limit-1].ID
	}
	return page, withPhotos(ctx, s.db, page.Claims)
}

func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}
