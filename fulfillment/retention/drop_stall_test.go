package retention_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lib/pq"

	"groupbuy/fulfillment/retention"
	"groupbuy/internal/clock"
)

// TestRetentionDoesNotStopTodaysOrders: the hourly retention:archive drops
// a night 90 days old while leaders order for tomorrow. Orders for another
// night must not wait behind it longer than intake's own MaxWait (500 ms),
// past which intake sheds them with 503. The drop held exclusive locks on
// orders, sale items, waves, points, residents and deliveries while it
// deleted the night's orders and notices: orders waited two seconds, and
// one was aborted as a deadlock.
func TestRetentionDoesNotStopTodaysOrders(t *testing.T) {
	ctx := context.Background()
	c := seed(t)
	p := c.Points[0]
	// A busy old night: 30,000 orders of 2 lines, their notices sent.
	c.Exec(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key,
			request_hash, total_fen, created_at)
		SELECT $1, $2, $3, $4, $5, 'placed', 'bulk-' || i, '\x00', 300, $6 FROM generate_series(1, 30000) i`,
		p.Leader, p.ID, p.Resident, c.Warehouse, oldNight, oldNight.Add(-10*time.Hour))
	c.Exec(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date)
		SELECT o.id, s.id, 1, 100, o.delivery_date FROM orders o CROSS JOIN LATERAL
			(SELECT id FROM sale_items WHERE delivery_date = o.delivery_date ORDER BY id LIMIT 2) s
		WHERE o.idempotency_key LIKE 'bulk-%'`)
	c.Exec(`INSERT INTO outbox (resident_id, kind, dedupe_key, payload, created_at, sent_at)
		SELECT $1, 'arrival', 'bulk-' || i, '{"code":"123456"}', $2, $2 FROM generate_series(1, 30000) i`, p.Resident, oldNight.Add(2*time.Hour))
	c.Exec(`ANALYZE`)
	var item int64
	if err := c.DB.Get(&item, `SELECT id FROM sale_items WHERE delivery_date = $1`, recentNight); err != nil {
		t.Fatal(err)
	}

	svc := retention.NewService(c.DB, clock.NewManual(today), slog.New(slog.DiscardHandler), retention.Policy{Days: 30, Dir: t.TempDir()})
	var running atomic.Bool
	running.Store(true)
	done := make(chan error, 1)
	go func() {
		res, err := svc.Run(ctx)
		t.Logf("retention: %+v", res)
		running.Store(false)
		done <- err
	}()
	// The strong locks held meanwhile on tables that are not a night's
	// partition, sampled.
	held := map[string]bool{}
	var heldMu sync.Mutex
	go func() {
		for running.Load() {
			var names []string
			_ = c.DB.Select(&names, `SELECT DISTINCT l.relation::regclass::text || ' ' || l.mode FROM pg_locks l
				WHERE l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
				  AND l.granted AND l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock'
				  AND l.relation::regclass::text !~ '_p[0-9]{8}' AND l.relation::regclass::text !~ '^pg_'`)
			heldMu.Lock()
			for _, n := range names {
				held[n] = true
			}
			heldMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	// Meanwhile an order for the recent night every 20 ms (its header and line).
	var worst time.Duration
	n := 0
	for running.Load() {
		start := time.Now()
		tx, err := c.DB.BeginTxx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		var order int64
		if err := tx.Get(&order, `INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status,
				idempotency_key, request_hash, total_fen, created_at) VALUES ($1, $2, $3, $4, $5, 'placed', $6, '\x00', 100, $7) RETURNING id`,
			p.Leader, p.ID, p.Resident, c.Warehouse, recentNight, "probe-"+time.Now().Format(time.RFC3339Nano), today); err != nil {
			var pe *pq.Error
			if errors.As(err, &pe) {
				t.Errorf("an order for %s after %s: %v; %s", recentNight, time.Since(start).Round(time.Millisecond), err, pe.Detail)
			}
			_ = tx.Rollback()
			worst = max(worst, time.Since(start))
			continue
		}
		if _, err := tx.Exec(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date) VALUES ($1, $2, 1, 100, $3)`,
			order, item, recentNight); err != nil {
			t.Errorf("its line: %v", err)
			_ = tx.Rollback()
			continue
		}
		if err := tx.Commit(); err != nil {
			t.Errorf("commit: %v", err)
		}
		worst = max(worst, time.Since(start))
		n++
		time.Sleep(20 * time.Millisecond)
	}
	if err := <-done; err != nil {
		var pe *pq.Error
		if errors.As(err, &pe) {
			t.Errorf("retention: %v; %s", err, pe.Detail)
		} else {
			t.Errorf("retention: %v", err)
		}
	}
	heldMu.Lock()
	t.Logf("locks seen held during the run: %v", held)
	heldMu.Unlock()
	t.Logf("%d orders for %s placed while retention ran; the slowest took %s", n, recentNight, worst.Round(time.Millisecond))
	if worst > 500*time.Millisecond {
		t.Fatalf("an order for %s waited %s behind the archive of %s", recentNight, worst.Round(time.Millisecond), oldNight)
	}
}
