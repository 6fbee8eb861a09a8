package pickup

import (
	"context"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
)

// Service runs the pickup network's commands, one transaction each.
type Service struct {
	db    *sqlx.DB
	clock clock.Clock
	index *Index
}

// NewService returns a Service over db. Its nearby index loads on first use.
func NewService(db *sqlx.DB, clock clock.Clock) *Service {
	return &Service{db: db, clock: clock, index: NewIndex(db)}
}

// Index returns the service's nearby index.
func (s *Service) Index() *Index { return s.index }

// Nearby returns the pickup points nearest a location (see Index.Nearby).
func (s *Service) Nearby(ctx context.Context, q NearbyQuery) ([]NearbyPoint, error) {
	return s.index.Nearby(ctx, q)
}

// CreateWarehouse validates and stores a warehouse.
func (s *Service) CreateWarehouse(ctx context.Context, w Warehouse) (Warehouse, error) {
	return CreateWarehouse(ctx, s.db, w, s.clock.Now())
}

// CreateWarehouse validates and stores a warehouse through q (a transaction or the pool).
func CreateWarehouse(ctx context.Context, q sqlx.ExtContext, w Warehouse, now time.Time) (Warehouse, error) {
	if err := w.Validate(); err != nil {
		return w, err
	}
	return insertWarehouse(ctx, q, w, now)
}

// PointInput is a pickup point with the leader who runs it.
type PointInput struct {
	Point
	LeaderName  string
	LeaderPhone string
}

// PointCreated is a stored point with its leader and, when the leader is new,
// the leader's API token (shown only this once).
type PointCreated struct {
	Point       Point  `json:"pickup_point"`
	Leader      Leader `json:"leader"`
	LeaderToken string `json:"leader_token,omitempty"`
}

func (in *PointInput) validate(prefix string) error {
	if err := in.Point.Validate(); err != nil {
		return err
	}
	if err := CheckName(prefix+"name", in.LeaderName); err != nil {
		return err
	}
	return CheckPhone(prefix+"phone", in.LeaderPhone)
}

// SavePoint creates or updates (by code) a pickup point and its leader; a new
// leader gets a token.
func (s *Service) SavePoint(ctx context.Context, in PointInput) (PointCreated, error) {
	if err := in.validate("leader."); err != nil {
		return PointCreated{}, err
	}
	var out PointCreated
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = savePoint(ctx, tx, in, s.clock.Now())
		return err
	})
	if err == nil {
		s.index.Invalidate()
	}
	return out, err
}

func savePoint(ctx context.Context, tx *sqlx.Tx, in PointInput, now time.Time) (PointCreated, error) {
	var out PointCreated
	leader, isNew, err := upsertLeader(ctx, tx, Leader{Name: in.LeaderName, Phone: in.LeaderPhone}, now)
	if err != nil {
		return out, err
	}
	in.Point.LeaderID = leader.ID
	if err := assignWarehouse(ctx, tx, &in.Point); err != nil {
		return out, err
	}
	point, err := upsertPoint(ctx, tx, in.Point, now)
	if err != nil {
		return out, err
	}
	out = PointCreated{Point: point, Leader: leader}
	if isNew {
		out.LeaderToken, _, err = auth.IssueToken(ctx, tx, now, auth.TokenSpec{
			Role: auth.RoleLeader, LeaderID: leader.ID, Name: "leader " + leader.Phone})
	}
	return out, err
}

// IssueLeaderToken gives an existing leader a new token (e.g. a new phone).
func (s *Service) IssueLeaderToken(ctx context.Context, leaderID int64) (string, error) {
	var token string
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		l, err := GetLeader(ctx, tx, leaderID)
		if err != nil {
			return err
		}
		token, _, err = auth.IssueToken(ctx, tx, s.clock.Now(), auth.TokenSpec{
			Role: auth.RoleLeader, LeaderID: l.ID, Name: "leader " + l.Phone})
		return err
	})
	return token, err
}

// Site returns the point and warehouse of a leader.
func (s *Service) Site(ctx context.Context, leaderID int64) (LeaderSite, error) {
	sites, err := LeaderSites(ctx, s.db, []int64{leaderID})
	if err != nil {
		return LeaderSite{}, err
	}
	site, ok := sites[leaderID]
	if !ok {
		return site, ErrNoPoint
	}
	return site, nil
}
