package main

// Shared by bench-notify, bench-pickup and the notice crash test: scratch
// servers, the seeding of arrival notices, the webhook receiver on loopback
// and the outbox's tally.

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/clock"
	"groupbuy/internal/localserver"
	"groupbuy/internal/pg"
)

// scratchServers makes a scratch database on cfg.DatabaseURL's server and,
// when cfg.RedisURL is unset, a private Redis; it returns cfg pointing at
// them and a function that drops and stops them (unless keep).
func scratchServers(ctx context.Context, cfg Config, prefix string, keep bool, stderr io.Writer) (Config, func(), error) {
	if cfg.DatabaseURL == "" {
		return cfg, nil, fmt.Errorf("%s: DATABASE_URL must name a PostgreSQL server (a scratch database is made there)", prefix)
	}
	var undo []func()
	cleanup := func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}
	name := "groupbuy_" + prefix + "_" + randomHex(4)
	url, err := withDatabase(cfg.DatabaseURL, name)
	if err != nil {
		return cfg, nil, err
	}
	if err := adminExec(ctx, cfg.DatabaseURL, "CREATE DATABASE "+name); err != nil {
		return cfg, nil, err
	}
	admin := cfg.DatabaseURL
	if keep {
		fmt.Fprintf(stderr, "keeping scratch database %s\n", name)
	} else {
		undo = append(undo, func() {
			_ = adminExec(context.Background(), admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		})
	}
	cfg.DatabaseURL = url
	if cfg.RedisURL == "" {
		dir, err := os.MkdirTemp("", "groupbuy-"+prefix+"-redis-")
		if err != nil {
			cleanup()
			return cfg, nil, err
		}
		rs, err := localserver.StartRedis(ctx, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			_ = os.RemoveAll(dir)
			cleanup()
			return cfg, nil, fmt.Errorf("start private Redis: %w", err)
		}
		undo = append(undo, func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = rs.Stop(sctx)
			_ = os.RemoveAll(dir)
		})
		cfg.RedisURL = rs.URL()
	}
	return cfg, cleanup, nil
}

// scratchApp is an app over scratch servers (scratchServers), migrated, its
// logs discarded: what every benchmark command runs against. done closes the
// app, then removes the servers.
func scratchApp(ctx context.Context, cfg Config, prefix string, keep bool, stderr io.Writer) (a *app, done func(), err error) {
	cfg, cleanup, err := scratchServers(ctx, cfg, prefix, keep, stderr)
	if err != nil {
		return nil, nil, err
	}
	a, err = newApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), clock.System{})
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	done = func() { a.close(); cleanup() }
	if err := a.migrate(ctx); err != nil {
		done()
		return nil, nil, err
	}
	return a, done, nil
}

// noticeSeed is a city of residents, each with one arrival notice queued.
type noticeSeed struct {
	notices  int    // residents, and arrival notices
	perPoint int    // residents per pickup point
	date     string // delivery date of the notices, YYYY-MM-DD
}

// seedArrivalNotices fills db with a warehouse, pickup points with leaders,
// residents, and one queued arrival notice per resident, shaped exactly as
// fulfillment's arrivalNotice writes it (key arrival:<date>:<resident>,
// payload vars point, code, hours, address). Everything is made by
// INSERT … SELECT generate_series, in one transaction.
func seedArrivalNotices(ctx context.Context, db *sqlx.DB, s noticeSeed, now time.Time) error {
	if s.notices <= 0 || s.perPoint <= 0 {
		return errors.New("seed: notices and residents per point must be positive")
	}
	points := (s.notices + s.perPoint - 1) / s.perPoint
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
			wh, s.notices, s.perPoint, now); err != nil {
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
			FROM residents r JOIN pickup_points p ON p.id = r.pickup_point_id WHERE p.warehouse_id = $1 ORDER BY r.id`, wh, s.date, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("seed arrival notices: %w", err)
	}
	// Fresh statistics, as autovacuum would have them by the evening.
	_, err = db.ExecContext(ctx, `ANALYZE warehouses, leaders, pickup_points, residents, outbox`)
	return err
}

// outboxTally counts the outbox's rows by state.
type outboxTally struct {
	Sent   int64 `db:"sent"`
	Failed int64 `db:"failed"`
	Queued int64 `db:"queued"`
}

func tallyOutbox(ctx context.Context, db sqlx.QueryerContext) (outboxTally, error) {
	var t outboxTally
	err := sqlx.GetContext(ctx, db, &t, `SELECT count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent,
		count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed,
		count(*) FILTER (WHERE sent_at IS NULL AND failed_at IS NULL) AS queued FROM outbox`)
	return t, err
}

// workerEnv is the environment of a `groupbuy worker` process that sends
// notices to the webhook at url.
func workerEnv(dbURL, redisURL, url, secret string, lease time.Duration) []string {
	return []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "GROUPBUY_WEBHOOK_URL=" + url,
		"GROUPBUY_WEBHOOK_SECRET=" + secret, "GROUPBUY_NOTIFY_CHANNELS=webhook", "GROUPBUY_NOTICE_LEASE=" + lease.String(),
		"GROUPBUY_LABEL_KEY=" + scratchLabelKey()}
}

// scratchLabelKey is a label key for the workers of one benchmark run over
// a scratch database: a worker refuses the dev key, and nothing printed
// there is ever scanned.
var scratchLabelKey = sync.OnceValue(func() string { return rand.Text() })
