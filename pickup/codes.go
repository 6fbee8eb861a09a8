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

// CodeLifeDays is how long a pickup code opens parcels: a code of a
// delivery date more than this many days before the warehouse's today is
// not looked up. Within that time a code is unique at its point across
// dates, so it names one resident. Parcels wait at most
// GROUPBUY_RETURN_AFTER_DAYS, which is bounded by it.
const CodeLifeDays = 14

// codeLock is the advisory lock's first key for issuing a point's codes.
const codeLock = 5317

// IssueCodes returns the pickup codes of residents at a point for a
// delivery date, creating the missing ones inside tx. Codes already issued
// never change, so a rerun or a second delivery of the day sends the same
// code. A new code is none the point issued for a date within CodeLifeDays
// (and a day) either way: a resident showing an older code must not open
// another resident's parcels. Issuing at a point is serialised by an
// advisory lock, since no unique index spans the dates' partitions.
func IssueCodes(ctx context.Context, tx *sqlx.Tx, pointID int64, date time.Time, residents []int64, now time.Time) (map[int64]string, error) {
	return issueCodes(ctx, tx, pointID, date, residents, now, randomCode)
}

// issueCodes is IssueCodes drawing new codes from draw.
func issueCodes(ctx context.Context, tx *sqlx.Tx, pointID int64, date time.Time, residents []int64, now time.Time, draw func() string) (map[int64]string, error) {
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, advisory_key($2))`, codeLock, pointID); err != nil {
		return nil, err
	}
	var existing []PickupCode
	if err := tx.SelectContext(ctx, &existing, `SELECT resident_id, delivery_date, code FROM pickup_codes
		WHERE pickup_point_id = $1 AND delivery_date BETWEEN $2::date - $3::int AND $2::date + $3::int`, pointID, date, CodeLifeDays+1); err != nil {
		return nil, err
	}
	out := make(map[int64]string, len(residents))
	taken := make(map[string]bool, len(existing)+len(residents))
	for _, c := range existing {
		if c.DeliveryDate.Format(time.DateOnly) == date.Format(time.DateOnly) {
			out[c.ResidentID] = c.Code
		}
		taken[c.Code] = true
	}
	var ids []int64
	var codes []string
	for _, r := range residents {
		if _, ok := out[r]; ok {
			continue
		}
		code := draw()
		for taken[code] {
			code = draw()
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
		FROM pickup_points p JOIN warehouses w ON w.id = p.warehouse_id
		JOIN pickup_codes c ON c.pickup_point_id = p.id JOIN residents r ON r.id = c.resident_id
		WHERE p.leader_id = $1 AND c.code = $2 AND c.delivery_date >= ($3::timestamptz AT TIME ZONE w.time_zone)::date - $4::int
			AND c.delivery_date BETWEEN $5::date AND $6::date
		ORDER BY c.delivery_date`)}
}

// Holders returns who holds code at the leader's point, one per delivery
// date within CodeLifeDays of now the code was issued for. q is the pool or
// the caller's transaction.
func (c *Codes) Holders(ctx context.Context, q sqlx.QueryerContext, leaderID int64, code string, now time.Time) ([]CodeHolder, error) {
	var out []CodeHolder
	// The bound by the warehouse's own date names a column, which prunes no
	// partition; the same nights by the UTC date, a day wider either way
	// whatever the zone (and a day more ahead for a code issued the evening
	// before), prune all the other nights' partitions.
	utc := now.UTC()
	first, last := utc.AddDate(0, 0, -CodeLifeDays-1).Format(time.DateOnly), utc.AddDate(0, 0, 2).Format(time.DateOnly)
	err := c.holders.Select(ctx, q, &out, leaderID, code, now, CodeLifeDays, first, last)
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
