package pickup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/pg"
)

// A pickup point's orders, deliveries, parcels and codes belong to the
// point, and every leader route reaches them through the point's current
// leader (pickup_points.leader_id). Handing a point to another leader is
// therefore one change of that column, made only here and recorded: from
// then on the new leader's token sees the point and the old one's does not.

// Handover is the record of a pickup point handed from one leader to another.
type Handover struct {
	ID            int64     `db:"id" json:"id"`
	PickupPointID int64     `db:"pickup_point_id" json:"pickup_point_id"`
	FromLeaderID  int64     `db:"from_leader_id" json:"from_leader_id"`
	ToLeaderID    int64     `db:"to_leader_id" json:"to_leader_id"`
	ByTokenID     int64     `db:"by_token_id" json:"by_token_id"` // the staff token that did it
	By            string    `db:"by_name" json:"by"`
	CreatedAt     time.Time `db:"created_at" json:"created_at"`
}

// HandoverDone is a handover with the point, its new leader and, when the
// leader is new, the leader's API token (shown only this once).
type HandoverDone struct {
	Handover    Handover `json:"handover"`
	Point       Point    `json:"pickup_point"`
	Leader      Leader   `json:"leader"`
	LeaderToken string   `json:"leader_token,omitempty"`
}

// Errors of handing points over.
var (
	ErrLeaderHasPoint = apperr.Errorf(apperr.Conflict, "leader_has_point", "this leader already runs another pickup point")
	ErrSameLeader     = apperr.Errorf(apperr.Conflict, "same_leader", "this leader already runs the pickup point")
)

// handoverRequired refuses to give point another leader by saving it.
func handoverRequired(p Point) error {
	return apperr.Errorf(apperr.Conflict, "handover_required",
		"pickup point %s is run by another leader; hand it over with POST /api/v1/ops/pickup-points/%d/handover", p.Code, p.ID).
		With("pickup_point_id", p.ID)
}

const handoverCols = `id, pickup_point_id, from_leader_id, to_leader_id, by_token_id, by_name, created_at`

// HandOver gives a pickup point to the leader with the given name and phone
// (registered if new), in one transaction with its record. by is the staff
// member doing it.
func (s *Service) HandOver(ctx context.Context, pointID int64, name, phone string, by auth.Principal) (HandoverDone, error) {
	if err := CheckName("leader.name", name); err != nil {
		return HandoverDone{}, err
	}
	if err := CheckPhone("leader.phone", phone); err != nil {
		return HandoverDone{}, err
	}
	var out HandoverDone
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		var err error
		out, err = handOver(ctx, tx, pointID, Leader{Name: name, Phone: phone}, by, s.clock.Now())
		return err
	})
	if err == nil {
		s.index.Invalidate()
	}
	return out, err
}

func handOver(ctx context.Context, tx *sqlx.Tx, pointID int64, to Leader, by auth.Principal, now time.Time) (HandoverDone, error) {
	var out HandoverDone
	// The point's row lock orders the handover after commands already
	// reading the point's leader (a cancel holds it shared) and before later ones.
	var from int64
	err := tx.GetContext(ctx, &from, `SELECT leader_id FROM pickup_points WHERE id = $1 FOR UPDATE`, pointID)
	if errors.Is(err, sql.ErrNoRows) {
		return out, ErrPointNotFound
	}
	if err != nil {
		return out, err
	}
	leader, isNew, err := upsertLeader(ctx, tx, to, now)
	if err != nil {
		return out, err
	}
	if leader.ID == from {
		return out, ErrSameLeader
	}
	point, err := pg.GetOne[Point](ctx, tx, ErrPointNotFound,
		`UPDATE pickup_points SET leader_id = $2 WHERE id = $1 RETURNING `+pointCols, pointID, leader.ID)
	if pg.IsUniqueViolation(err, "pickup_points_leader_id_key") {
		return out, ErrLeaderHasPoint
	}
	if err != nil {
		return out, err
	}
	h, err := pg.GetOne[Handover](ctx, tx, ErrPointNotFound, `INSERT INTO point_handovers
		(pickup_point_id, from_leader_id, to_leader_id, by_token_id, by_name, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+handoverCols, pointID, from, leader.ID, by.TokenID, by.Name, now)
	if err != nil {
		return out, fmt.Errorf("record handover of point %d: %w", pointID, err)
	}
	h.CreatedAt = h.CreatedAt.UTC()
	out = HandoverDone{Handover: h, Point: point, Leader: leader}
	if isNew {
		out.LeaderToken, _, err = auth.IssueToken(ctx, tx, now, auth.TokenSpec{
			Role: auth.RoleLeader, LeaderID: leader.ID, Name: "leader " + leader.Phone})
	}
	return out, err
}

// Handovers lists a pickup point's handovers, oldest first.
func Handovers(ctx context.Context, q sqlx.QueryerContext, pointID int64) ([]Handover, error) {
	if _, err := GetPoint(ctx, q, pointID); err != nil {
		return nil, err
	}
	out := []Handover{}
	if err := sqlx.SelectContext(ctx, q, &out, `SELECT `+handoverCols+` FROM point_handovers
		WHERE pickup_point_id = $1 ORDER BY id`, pointID); err != nil {
		return nil, err
	}
	for i := range out {
		out[i].CreatedAt = out[i].CreatedAt.UTC()
	}
	return out, nil
}
