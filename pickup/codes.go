package pickup

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/pg"
)

// PickupCode is the 6-digit code (核销码) a resident shows to collect their
// parcels: one per resident, pickup point and delivery date.
type PickupCode struct {
	ResidentID   int64     `db:"resident_id" json:"resident_id"`
	DeliveryDate time.Time `db:"delivery_date" json:"-"`
	Code         string    `db:"code" json:"code"`
}

// codeSpace is how many 6-digit codes exist; a point hands out a few
// hundred a day, so a random guess hits one with odds below 1 in 1,000, and
// the verification rate limit makes guessing hopeless.
const codeSpace = 1_000_000

// randomCode draws a code uniformly from crypto/rand: nothing public (ids,
// phones, dates) goes into it, so it cannot be derived.
func randomCode() string {
	var b [8]byte
	for {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux
		}
		// Rejection sampling keeps the draw uniform over codeSpace.
		v := binary.BigEndian.Uint64(b[:])
		if v < (1<<64-1)/codeSpace*codeSpace {
			return fmt.Sprintf("%06d", v%codeSpace)
		}
	}
}

// IssueCodes returns the pickup codes of residents at a point for a
// delivery date, creating the missing ones inside tx. Codes already issued
// never change, so a rerun or a second delivery of the day sends the same
// code. The caller serialises issuing per point and date (it holds the
// delivery's lock); the unique constraint is the last guard.
func IssueCodes(ctx context.Context, tx *sqlx.Tx, pointID int64, date time.Time, residents []int64, now time.Time) (map[int64]string, error) {
	var existing []PickupCode
	if err := tx.SelectContext(ctx, &existing, `SELECT resident_id, delivery_date, code FROM pickup_codes
		WHERE pickup_point_id = $1 AND delivery_date = $2`, pointID, date); err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(residents))
	taken := make(map[string]bool, len(existing)+len(residents))
	for _, c := range existing {
		out[c.ResidentID] = c.Code
		taken[c.Code] = true
	}
	var ids []int64
	var codes []string
	for _, r := range residents {
		if _, ok := out[r]; ok {
			continue
		}
		code := randomCode()
		for taken[code] {
			code = randomCode()
		}
		taken[code] = true
		out[r] = code
		ids, codes = append(ids, r), append(codes, code)
	}
	if len(ids) == 0 {
		return out, nil
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO pickup_codes (pickup_point_id, delivery_date, resident_id, code, created_at)
		SELECT $1, $2, r, c, $5 FROM unnest($3::bigint[], $4::text[]) AS t(r, c)`, pointID, date, pq.Array(ids), pq.Array(codes), now)
	return out, err
}

// CodeHolder is a resident holding a pickup code at a point for a date.
type CodeHolder struct {
	PointID      int64     `db:"pickup_point_id"`
	ResidentID   int64     `db:"resident_id"`
	DeliveryDate time.Time `db:"delivery_date"`
	Name         string    `db:"name"`
	Phone        string    `db:"phone"`
}

// Codes looks pickup codes up: verification is on the leader's critical
// path at a busy desk, so the lookup is one prepared statement.
type Codes struct {
	holders *pg.Prepared
}

// NewCodes returns the code lookup over db.
func NewCodes(db *sqlx.DB) *Codes {
	return &Codes{holders: pg.NewPrepared(db, `SELECT c.pickup_point_id, c.resident_id, c.delivery_date, r.name, r.phone
		FROM pickup_points p JOIN pickup_codes c ON c.pickup_point_id = p.id JOIN residents r ON r.id = c.resident_id
		WHERE p.leader_id = $1 AND c.code = $2 ORDER BY c.delivery_date`)}
}

// Holders returns who holds code at the leader's point, one per delivery
// date the code was issued for (codes are unique only within a point and
// date). q is the pool or the caller's transaction.
func (c *Codes) Holders(ctx context.Context, q sqlx.QueryerContext, leaderID int64, code string) ([]CodeHolder, error) {
	var out []CodeHolder
	err := c.holders.Select(ctx, q, &out, leaderID, code)
	return out, err
}

// ValidCodeFormat reports whether s looks like a pickup code: 6 digits.
func ValidCodeFormat(s string) bool {
	if len(s) != 6 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// ErrCodeNotFound: the resident holds no pickup code for that point and date.
var ErrCodeNotFound = errors.New("no pickup code for the resident at the point on the date")

// ResidentCode is the code a resident was sent for a point and delivery
// date: what the resident reads from the arrival notice and tells the
// leader at the desk (the simulated residents of `groupbuy dev` do).
func ResidentCode(ctx context.Context, q sqlx.QueryerContext, pointID int64, date time.Time, residentID int64) (string, error) {
	var code string
	err := sqlx.GetContext(ctx, q, &code, `SELECT code FROM pickup_codes WHERE pickup_point_id = $1 AND delivery_date = $2 AND resident_id = $3`,
		pointID, date, residentID)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrCodeNotFound
	}
	return code, err
}
