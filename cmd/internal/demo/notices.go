package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/pg"
)

// NoticeCity is a city of residents, each with one arrival notice queued.
type NoticeCity struct {
	Notices  int    // residents, and arrival notices
	PerPoint int    // residents per pickup point
	Date     string // delivery date of the notices, YYYY-MM-DD
}

// SeedArrivalNotices fills db with a warehouse, pickup points with leaders,
// residents, and one queued arrival notice per resident, shaped exactly as
// fulfillment's arrivalNotice writes it (key arrival:<date>:<resident>,
// payload vars point, code, hours, address). Everything is made by
// INSERT … SELECT generate_series, in one transaction.
func SeedArrivalNotices(ctx context.Context, db *sqlx.DB, s NoticeCity, now time.Time) error {
	if s.Notices <= 0 || s.PerPoint <= 0 {
		return errors.New("seed: notices and residents per point must be positive")
	}
	points := (s.Notices + s.PerPoint - 1) / s.PerPoint
	err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		var wh int64
		if err := tx.GetContext(ctx, &wh, `INSERT INTO warehouses (code, name, lat, lng, time_zone, cutoff_local, delivery_start, delivery_end, created_at)
			VALUES ('NOTICE', '通知压测仓', 31.23, 121.47, 'Asia/Shanghai', '23:00', '07:00', '10:00', $1) RETURNING id`, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO leaders (name, phone, created_at)
			SELECT '团长' || g, '139' || lpad(g::text, 8, '0'), $2 FROM generate_series(1, $1) g`, points, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pickup_points (code, warehouse_id, leader_id, name, address, lat, lng, opens, closes, created_at)
			SELECT 'N' || lpad(n::text, 6, '0'), $1, l.id, '幸福里自提点' || n, '幸福路' || n || '号', 31.2 + (n % 100) * 0.001, 121.4 + (n / 100) * 0.001,
				'08:00', '21:00', $2
			FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM leaders WHERE phone LIKE '139%') l`, wh, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `WITH pts AS (SELECT array_agg(id ORDER BY id) AS a FROM pickup_points WHERE warehouse_id = $1)
			INSERT INTO residents (phone, name, pickup_point_id, created_at)
			SELECT '15' || lpad(g::text, 9, '0'), '居民' || g, pts.a[1 + g / $3], $4 FROM pts, generate_series(0, $2 - 1) g`,
			wh, s.Notices, s.PerPoint, now); err != nil {
			return err
		}
		// The code is a stand-in for pickup.IssueCodes': distinct within a
		// point, 6 digits; the dispatcher only renders it.
		_, err := tx.ExecContext(ctx, `INSERT INTO outbox (resident_id, kind, dedupe_key, payload, created_at)
			SELECT r.id, 'arrival', 'arrival:' || $2 || ':' || p.id || ':' || r.id,
				jsonb_build_object(
					'vars', jsonb_build_object('point', p.name, 'address', p.address, 'hours', left(p.opens::text, 5) || '-' || left(p.closes::text, 5),
						'code', lpad((100000 + (r.id * 7919) % 900000)::text, 6, '0')),
					'delivery_date', $2, 'pickup_point_id', p.id,
					'items', jsonb_build_array(jsonb_build_object('order_id', r.id, 'sku', 'EGG', 'name', '土鸡蛋', 'quantity', 2))),
				$3
			FROM residents r JOIN pickup_points p ON p.id = r.pickup_point_id WHERE p.warehouse_id = $1 ORDER BY r.id`, wh, s.Date, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed arrival notices: %w", err)
	}
	// Fresh statistics, as autovacuum would have them by the evening.
	_, err = db.ExecContext(ctx, `ANALYZE warehouses, leaders, pickup_points, residents, outbox`)
	return err
}

// OutboxTally counts the outbox's rows by state.
type OutboxTally struct {
	Sent   int64 `db:"sent"`
	Failed int64 `db:"failed"`
	Queued int64 `db:"queued"`
}

// TallyOutbox counts what became of the notices: sent, failed for good, still queued.
func TallyOutbox(ctx context.Context, db sqlx.QueryerContext) (OutboxTally, error) {
	var t OutboxTally
	err := sqlx.GetContext(ctx, db, &t, `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
		count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
		count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued FROM outbox`)
	return t, err
}
