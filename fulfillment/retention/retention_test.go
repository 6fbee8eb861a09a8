package retention_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/fulfillmenttest"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/retention"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"

	"github.com/jmoiron/sqlx"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// Nights of the test city: the old one is archived, the recent one stays.
var (
	oldNight    = fulfillmenttest.Date
	recentNight = fulfillment.Date{Time: time.Date(2026, 12, 20, 0, 0, 0, 0, time.UTC)}
	// today is 35 days after the old night: with 30 days' retention it goes.
	today = time.Date(2027, 1, 5, 3, 0, 0, 0, time.UTC)
)

// seed fills both nights: orders and lines, a sort line, a parcel and a
// pickup code, and a printout whose bytes hold every byte value, tabs,
// newlines and backslashes included.
func seed(t *testing.T) *fulfillmenttest.City {
	c := fulfillmenttest.New(t, 2)
	egg := c.SaleItem(c.Product("EGG", fulfillment.Chilled, ""), 100, 1000)
	rice := c.SaleItem(c.Product("RICE", fulfillment.Ambient, ""), 250, 1000)
	c.Order(0, fulfillmenttest.Line{SaleItem: egg, Quantity: 2}, fulfillmenttest.Line{SaleItem: rice, Quantity: 1})
	c.Order(1, fulfillmenttest.Line{SaleItem: egg, Quantity: 3})
	wave := c.Wave()
	p := c.Points[0]
	c.Exec(`INSERT INTO sort_lines (wave_id, pickup_point_id, zone, sale_item_ids, quantities, delivery_date)
		VALUES ($1, $3, 'chilled', ARRAY[$2::bigint], '{5}', $4)`, wave, egg, p.ID, oldNight)
	delivery := c.ID(`INSERT INTO deliveries (wave_id, pickup_point_id, state) VALUES ($1, $2, 'received') RETURNING id`, wave, p.ID)
	c.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
		SELECT l.id, $1, o.pickup_point_id, o.resident_id, o.delivery_date, l.quantity, $2
		FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.pickup_point_id = $3`, delivery, fulfillmenttest.Now, p.ID)
	c.Exec(`INSERT INTO pickup_codes (pickup_point_id, delivery_date, resident_id, code, created_at) VALUES ($1, $2, $3, '123456', $4)`,
		p.ID, oldNight, p.Resident, fulfillmenttest.Now)
	c.Exec(`INSERT INTO delivery_lines (delivery_id, sale_item_id, expected, received, missing, damaged) VALUES ($1, $2, 5, 4, 1, 0)`,
		delivery, egg)
	c.Exec(`INSERT INTO wave_matrices (wave_id, points, n, distance_m, duration_s, created_at) VALUES ($1, 'abc', 1, '\x00', '\x00', $2)`,
		wave, fulfillmenttest.Now)
	// The night's plan: a cut line, a pick line, a bag.
	c.Exec(`INSERT INTO line_cuts (order_line_id, wave_id, cut)
		SELECT l.id, $1, 1 FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.pickup_point_id = $2 AND l.sale_item_id = $3`,
		wave, p.ID, egg)
	c.Exec(`INSERT INTO pick_lines (wave_id, sale_item_id, zone, bin, sku, name, unit, quantity) VALUES ($1, $2, 'chilled', 'A1', 'EGG', 'egg', 'box', 4)`,
		wave, egg)
	c.Exec(`INSERT INTO bags (wave_id, pickup_point_id, zone, units, skus, weight_g, volume_ml) VALUES ($1, $2, 'chilled', 4, 1, 400, 500)`,
		wave, p.ID)
	// The old night's notices: one sent, one given up, one still waiting to
	// be sent (which stays).
	for _, n := range []struct{ key, sent, failed string }{{"old-sent", "now", ""}, {"old-failed", "", "now"}, {"old-waiting", "", ""}} {
		c.Exec(`INSERT INTO outbox (resident_id, kind, dedupe_key, payload, created_at, sent_at, failed_at)
			VALUES ($1, 'arrival', $2, '{"code":"123456"}', $3, CASE WHEN $4 = '' THEN NULL ELSE $3::timestamptz END,
			CASE WHEN $5 = '' THEN NULL ELSE $3::timestamptz END)`, p.Resident, n.key, oldNight.Add(2*time.Hour), n.sent, n.failed)
	}
	// The aggregates of a line: a refund and the leader's commission.
	c.Exec(`INSERT INTO refunds (wave_id, order_id, order_line_id, resident_id, reason, quantity, amount_fen, created_at)
		SELECT $1, o.id, l.id, o.resident_id, 'missing', 1, 100, $2 FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.pickup_point_id = $3 AND l.sale_item_id = $4`, wave, fulfillmenttest.Now, p.ID, egg)
	c.Exec(`INSERT INTO commission_entries (leader_id, pickup_point_id, order_line_id, delivery_date, kind, source, quantity,
			base_fen, rate_bp, amount_fen, created_at)
		SELECT $1, o.pickup_point_id, l.id, l.delivery_date, 'accrual', 'collect', 1, 250, 1000, 25, $2
		FROM order_lines l JOIN orders o ON o.id = l.order_id WHERE o.pickup_point_id = $3 AND l.sale_item_id = $4`,
		p.Leader, fulfillmenttest.Now, p.ID, rice)
	content := make([]byte, 0, 512)
	for i := range 256 {
		content = append(content, byte(i), '\\')
	}
	c.Exec(`INSERT INTO printouts (wave_id, kind, scope, format, content, sha256, created_at, delivery_date)
		VALUES ($1, 'labels', E'a\tb\nc\\d', 'pdf', $2, 'x', $3, $4)`, wave, content, fulfillmenttest.Now, oldNight)

	// The recent night: a wave (which brings its partitions) and one order.
	c.Exec(`INSERT INTO waves (warehouse_id, delivery_date, cutoff_at, created_at, updated_at) VALUES ($1, $2, $3, $3, $3)`,
		c.Warehouse, recentNight, fulfillmenttest.Now)
	item := c.ID(`INSERT INTO sale_items (warehouse_id, product_id, delivery_date, price_fen, stock_cap, sold, created_at, updated_at)
		SELECT warehouse_id, product_id, $2, price_fen, stock_cap, 1, created_at, updated_at FROM sale_items WHERE id = $1 RETURNING id`,
		egg, recentNight)
	order := c.ID(`INSERT INTO orders (leader_id, pickup_point_id, resident_id, warehouse_id, delivery_date, status, idempotency_key,
		request_hash, total_fen, created_at) VALUES ($1, $2, $3, $4, $5, 'placed', 'recent', '\x00', 100, $6) RETURNING id`,
		p.Leader, p.ID, p.Resident, c.Warehouse, recentNight, fulfillmenttest.Now)
	c.Exec(`INSERT INTO order_lines (order_id, sale_item_id, quantity, price_fen, delivery_date) VALUES ($1, $2, 1, 100, $3)`,
		order, item, recentNight)
	return c
}

// partitionDigest digests the rows of a table's partition of a night.
func partitionDigest(t *testing.T, db *sqlx.DB, table string) string {
	t.Helper()
	var d string
	if err := db.Get(&d, fmt.Sprintf(`SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')
		FROM %s t`, table)); err != nil {
		t.Fatal(err)
	}
	return d
}

func exists(t *testing.T, db *sqlx.DB, table string) bool {
	t.Helper()
	var ok bool
	if err := db.Get(&ok, `SELECT to_regclass($1) IS NOT NULL`, table); err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestArchiveDropsOldNightsAndReadsBack(t *testing.T) {
	ctx := context.Background()
	c := seed(t)
	tables, err := retention.Tables(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, table := range tables {
		p := retention.Partition{Parent: table, Night: oldNight}
		want[table] = partitionDigest(t, c.DB, p.Name())
		if strings.HasPrefix(want[table], "0:") {
			t.Fatalf("the old night has no %s", table)
		}
	}
	for table, rows := range prunedOfOldNight {
		want[table] = partitionDigest(t, c.DB, "("+rows+")")
		if strings.HasPrefix(want[table], "0:") {
			t.Fatalf("the old night has no %s to prune", table)
		}
	}
	recent := partitionDigest(t, c.DB, "order_lines_p20261220")
	dir := t.TempDir()
	svc := retention.NewService(c.DB, clock.NewManual(today), slog.New(slog.NewTextHandler(io.Discard, nil)),
		retention.Policy{Days: 30, Dir: dir})

	// A run that died after writing two files and a temporary one.
	if err := os.MkdirAll(filepath.Join(dir, "printouts"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "printouts", ".printouts_p20261201.123.tmp"), []byte("half"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "order_lines"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "order_lines", "order_lines_p20261201.copy.gz"), []byte("torn"), 0o640); err != nil {
		t.Fatal(err)
	}

	res, err := svc.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Nights != 1 || res.Partitions != len(tables) || res.Pruned != len(prunedOfOldNight) {
		t.Fatalf("run: %+v, want 1 night of %d partitions and %d pruned tables", res, len(tables), len(prunedOfOldNight))
	}
	for _, table := range tables {
		if exists(t, c.DB, retention.Partition{Parent: table, Night: oldNight}.Name()) {
			t.Errorf("%s of the old night still there", table)
		}
		if !exists(t, c.DB, retention.Partition{Parent: table, Night: recentNight}.Name()) {
			t.Errorf("%s of the recent night gone", table)
		}
	}
	if got := partitionDigest(t, c.DB, "order_lines_p20261220"); got != recent {
		t.Fatalf("the recent night changed: %s, was %s", got, recent)
	}
	// The aggregates stay: the order a refund names, the refund ledger and
	// the commission of the old night, read as their pages read them.
	if n := c.Count(`SELECT count(*) FROM orders WHERE delivery_date = $1`, oldNight); n != 1 {
		t.Fatalf("%d orders of the old night kept, want the 1 with a refund", n)
	}
	refunds, err := refund.List(ctx, c.DB, refund.Filter{Limit: 10})
	if err != nil || len(refunds) != 1 || refunds[0].AmountFen != 100 {
		t.Fatalf("refund ledger after retention: %+v %v", refunds, err)
	}
	page, err := commission.LeaderCommissions(ctx, c.DB, commission.CommissionFilter{LeaderID: c.Points[0].Leader,
		From: oldNight, To: oldNight})
	if err != nil || len(page.Entries) != 1 || page.Entries[0].AmountFen != 25 {
		t.Fatalf("commission after retention: %+v %v", page, err)
	}

	// A second run finds nothing to do and leaves the files as they are.
	archived, err := retention.List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Run(ctx); err != nil || res.Nights != 0 {
		t.Fatalf("second run: %+v %v", res, err)
	}
	again, err := retention.List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(again) != fmt.Sprint(archived) || len(archived) != len(tables)+len(prunedOfOldNight) {
		t.Fatalf("archived after a second run: %v, before %v", again, archived)
	}

	// Every file reads back to the rows the partition held.
	for _, a := range archived {
		err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			if _, err := tx.Exec(fmt.Sprintf(`CREATE TEMPORARY TABLE restored (LIKE %s) ON COMMIT DROP`, a.Parent)); err != nil {
				return err
			}
			n, err := retention.Restore(ctx, tx, dir, a, "restored")
			if err != nil {
				return err
			}
			var got string
			if err := tx.Get(&got, `SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '')
				FROM restored t`); err != nil {
				return err
			}
			if got != want[a.Parent] || n != a.Rows {
				return fmt.Errorf("restored %s: %s (%d rows), archived %s", a.Parent, got, n, want[a.Parent])
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	// The torn file was replaced; only the temporary file of the dead run
	// is left beside the archives.
	var files []string
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, path)
			files = append(files, rel)
		}
		return nil
	})
	if len(files) != len(tables)+len(prunedOfOldNight)+1 {
		t.Fatalf("files: %v", files)
	}
}

// prunedOfOldNight are the rows of the seeded old night that retention
// deletes from the tables it does not partition.
var prunedOfOldNight = map[string]string{
	"orders": `SELECT * FROM orders o WHERE o.delivery_date = '2026-12-01' AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.order_id = o.id)`,
	"delivery_lines": `SELECT l.* FROM delivery_lines l JOIN deliveries d ON d.id = l.delivery_id JOIN waves w ON w.id = d.wave_id
		WHERE w.delivery_date = '2026-12-01'`,
	"outbox":        `SELECT * FROM outbox WHERE created_at < '2026-12-02' AND (sent_at IS NOT NULL OR failed_at IS NOT NULL)`,
	"wave_matrices": `SELECT m.* FROM wave_matrices m JOIN waves w ON w.id = m.wave_id WHERE w.delivery_date = '2026-12-01'`,
	"line_cuts":     `SELECT t.* FROM line_cuts t JOIN waves w ON w.id = t.wave_id WHERE w.delivery_date = '2026-12-01'`,
	"pick_lines":    `SELECT t.* FROM pick_lines t JOIN waves w ON w.id = t.wave_id WHERE w.delivery_date = '2026-12-01'`,
	"bags":          `SELECT t.* FROM bags t JOIN waves w ON w.id = t.wave_id WHERE w.delivery_date = '2026-12-01'`,
}

// TestNoDetailPastRetention: after a run, no table keeps a row of a night
// past the retention but the aggregates and what they name (an order with a
// refund) and notices still to be sent, and the recent night keeps all.
func TestNoDetailPastRetention(t *testing.T) {
	ctx := context.Background()
	c := seed(t)
	c.Exec(`INSERT INTO outbox (resident_id, kind, dedupe_key, payload, created_at, sent_at)
		VALUES ($1, 'arrival', 'recent-sent', '{}', '2026-12-20T02:00:00Z', '2026-12-20T02:00:00Z')`, c.Points[0].Resident)
	svc := retention.NewService(c.DB, clock.NewManual(today), slog.New(slog.NewTextHandler(io.Discard, nil)),
		retention.Policy{Days: 30, Dir: t.TempDir()})
	if _, err := svc.Run(ctx); err != nil {
		t.Fatal(err)
	}
	for table, rows := range prunedOfOldNight {
		if n := c.Count(`SELECT count(*) FROM (` + rows + `) r`); n != 0 {
			t.Errorf("%d rows of %s past the retention", n, table)
		}
	}
	var left []string
	if err := c.DB.Select(&left, `SELECT dedupe_key FROM outbox ORDER BY dedupe_key`); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(left) != "[old-waiting recent-sent]" {
		t.Errorf("notices left: %v, want the one still waiting and the recent one", left)
	}
	if n := c.Count(`SELECT count(*) FROM orders WHERE delivery_date = $1`, recentNight); n != 1 {
		t.Errorf("%d orders of the recent night, want 1", n)
	}
	if n := c.Count(`SELECT count(*) FROM delivery_lines`); n != 0 {
		t.Errorf("%d delivery lines left, want none (only the old night had any)", n)
	}

	// The waiting notice is sent after its night was archived: the next run
	// archives it in a second part of the night, and it goes.
	c.Exec(`UPDATE outbox SET sent_at = $1 WHERE dedupe_key = 'old-waiting'`, today)
	res, err := svc.Run(ctx)
	if err != nil || res.Nights != 1 || res.Pruned != 1 || res.Rows != 1 {
		t.Fatalf("run after a late notice: %+v %v, want one pruned row", res, err)
	}
	if n := c.Count(`SELECT count(*) FROM outbox WHERE dedupe_key = 'old-waiting'`); n != 0 {
		t.Error("the notice sent late is still there")
	}
	archived, err := retention.List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	for _, a := range archived {
		if a.Parent == "outbox" {
			parts = append(parts, fmt.Sprintf("%d:%s:%d", a.Part, a.File, a.Rows))
		}
	}
	if want := "[1:outbox/outbox_p20261201.copy.gz:2 2:outbox/outbox_p20261201-2.copy.gz:1]"; fmt.Sprint(parts) != want {
		t.Errorf("the notices' archives: %v, want %s", parts, want)
	}
	if res, err := svc.Run(ctx); err != nil || res.Nights != 0 {
		t.Fatalf("a third run: %+v %v, want nothing to do", res, err)
	}
}

func TestEnsureAheadMakesPartitionsOnce(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	svc := retention.NewService(db, clock.NewManual(today), slog.New(slog.NewTextHandler(io.Discard, nil)),
		retention.Policy{Days: 30, Dir: t.TempDir(), Ahead: 3})
	tables, err := retention.Tables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.EnsureAhead(ctx)
	if err != nil || n != 4*len(tables) {
		t.Fatalf("first run made %d partitions (%v), want %d", n, err, 4*len(tables))
	}
	if n, err := svc.EnsureAhead(ctx); err != nil || n != 0 {
		t.Fatalf("second run made %d partitions (%v)", n, err)
	}
	for i := range 4 {
		night := fulfillment.Date{Time: time.Date(2027, 1, 5+i, 0, 0, 0, 0, time.UTC)}
		for _, table := range tables {
			if !exists(t, db, retention.Partition{Parent: table, Night: night}.Name()) {
				t.Errorf("no %s partition of %s", table, night)
			}
		}
	}
}

// TestPartitionsArePgPartmans: the partitioned tables are registered with
// pg_partman (daily, its automatic maintenance off: nights are made by the
// warehouse clock), a night made ahead has the bounds and the name
// pg_partman gives it (the project's name, which it is set to give), there
// is no default partition, and a row of a night with no partition is
// refused rather than kept somewhere its night's queries do not look.
func TestPartitionsArePgPartmans(t *testing.T) {
	ctx := context.Background()
	db := testenv.DB(t)
	svc := retention.NewService(db, clock.NewManual(today), slog.New(slog.NewTextHandler(io.Discard, nil)),
		retention.Policy{Days: 30, Dir: t.TempDir(), Ahead: 1})
	if _, err := svc.EnsureAhead(ctx); err != nil {
		t.Fatal(err)
	}
	tables, err := retention.Tables(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	night := fulfillment.Date{Time: time.Date(2027, 1, 6, 0, 0, 0, 0, time.UTC)}
	for _, table := range tables {
		var cfg struct {
			Interval    string `db:"partition_interval"`
			Maintenance string `db:"automatic_maintenance"`
			Partman     string `db:"partman_name"`
			Bound       string `db:"bound"`
			Defaults    int    `db:"defaults"`
		}
		err := db.GetContext(ctx, &cfg, `SELECT c.partition_interval, c.automatic_maintenance,
				(partman.show_partition_name(c.parent_table, $2::text)).partition_table AS partman_name,
				(SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = to_regclass($3)) AS bound,
				(SELECT count(*) FROM pg_inherits i JOIN pg_class k ON k.oid = i.inhrelid
				 WHERE i.inhparent = $1::regclass AND pg_get_expr(k.relpartbound, k.oid) = 'DEFAULT') AS defaults
			FROM partman.part_config c WHERE c.parent_table = 'public.' || $1`,
			table, night.Format(time.DateOnly), retention.Partition{Parent: table, Night: night}.Name())
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		want := fmt.Sprintf("FOR VALUES FROM ('%s') TO ('%s')", night.Format(time.DateOnly), night.AddDate(0, 0, 1).Format(time.DateOnly))
		if cfg.Interval != "1 day" || cfg.Maintenance != "off" || cfg.Partman != (retention.Partition{Parent: table, Night: night}).Name() ||
			cfg.Bound != want || cfg.Defaults != 0 {
			t.Errorf("%s: %+v, want daily, maintenance off, the night's partition named as pg_partman names it %s, no default", table, cfg, want)
		}
	}
	// A session far east of UTC makes the same night.
	conn, err := db.Connx(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var bound string
	if _, err := conn.ExecContext(ctx, `SET TimeZone = 'Pacific/Auckland'; SELECT night_partitions_ensure('2027-02-01')`); err != nil {
		t.Fatal(err)
	}
	if err := conn.GetContext(ctx, &bound, `SELECT pg_get_expr(relpartbound, oid) FROM pg_class
		WHERE oid = to_regclass('order_lines_p20270201')`); err != nil ||
		bound != "FOR VALUES FROM ('2027-02-01') TO ('2027-02-02')" {
		t.Fatalf("2027-02-01 made from Auckland: %q (%v)", bound, err)
	}
	_, err = db.ExecContext(ctx, `INSERT INTO pickup_codes (pickup_point_id, delivery_date, resident_id, code, created_at)
		VALUES (1, '2030-01-01', 1, '123456', now())`)
	if err == nil || !strings.Contains(err.Error(), "no partition") {
		t.Fatalf("a row of a night with no partition: %v, want refused", err)
	}
}

// TestParcelKeyPerNight: every night's parcel_lines partition, the seeded
// nights' and one made ahead, has its key to the same night's order_lines
// partition and the parent has none; the key still refuses a parcel line
// whose order line is not in its night, and a night still archives and
// drops with it.
func TestParcelKeyPerNight(t *testing.T) {
	ctx := context.Background()
	c := seed(t)
	svc := retention.NewService(c.DB, clock.NewManual(today), slog.New(slog.NewTextHandler(io.Discard, nil)),
		retention.Policy{Days: 30, Dir: t.TempDir(), Ahead: 1})
	if _, err := svc.EnsureAhead(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []struct {
		Child      string `db:"child"`
		Referenced string `db:"referenced"`
	}
	if err := c.DB.Select(&keys, `SELECT k.conrelid::regclass::text AS child, k.confrelid::regclass::text AS referenced
		FROM pg_constraint k WHERE k.contype = 'f' AND k.conname = 'parcel_lines_order_line_fkey' ORDER BY 1`); err != nil {
		t.Fatal(err)
	}
	parts := c.Count(`SELECT count(*) FROM pg_inherits WHERE inhparent = 'parcel_lines'::regclass`)
	if len(keys) != int(parts) || parts < 4 {
		t.Fatalf("%d parcel_lines partitions, keys %+v", parts, keys)
	}
	for _, k := range keys {
		if !strings.HasPrefix(k.Child, "parcel_lines_p") || k.Referenced != "order_lines_p"+strings.TrimPrefix(k.Child, "parcel_lines_p") {
			t.Errorf("key from %s to %s, want partition to partition of one night", k.Child, k.Referenced)
		}
	}
	// An order line of the old night named as the recent night's parcel.
	var line int64
	if err := c.DB.Get(&line, `SELECT id FROM order_lines WHERE delivery_date = $1 LIMIT 1`, oldNight); err != nil {
		t.Fatal(err)
	}
	_, err := c.DB.Exec(`INSERT INTO parcel_lines (order_line_id, delivery_id, pickup_point_id, resident_id, delivery_date, ready, ready_at)
		SELECT $1, d.id, d.pickup_point_id, $2, $3, 1, $4 FROM deliveries d LIMIT 1`, line, c.Points[0].Resident, recentNight, fulfillmenttest.Now)
	if !pg.IsForeignKeyViolation(err) {
		t.Fatalf("a parcel line of another night's order line: %v, want a foreign key violation", err)
	}
	if res, err := svc.Run(ctx); err != nil || res.Nights != 1 {
		t.Fatalf("retention: %+v %v, want the old night archived", res, err)
	}
	if exists(t, c.DB, retention.Partition{Parent: "order_lines", Night: oldNight}.Name()) {
		t.Fatal("the old night's order lines are still there")
	}
}

// TestANightLoadedBackIsArchivedAgainBesideItsFiles: part of an archived
// night is loaded back (its orders and order lines, to look into a dispute,
// which makes the night's partitions again); the next run archives the
// night again as part 2, and every file on record still restores.
func TestANightLoadedBackIsArchivedAgainBesideItsFiles(t *testing.T) {
	ctx := context.Background()
	c := seed(t)
	dir := t.TempDir()
	svc := retention.NewService(c.DB, clock.NewManual(today), slog.New(slog.DiscardHandler), retention.Policy{Days: 30, Dir: dir})
	if _, err := svc.Run(ctx); err != nil {
		t.Fatal(err)
	}
	first, err := retention.List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
		if _, err := tx.Exec(`SELECT night_partitions_ensure($1)`, oldNight); err != nil {
			return err
		}
		for _, table := range []string{"orders", "order_lines"} {
			for _, a := range first {
				if a.Parent == table {
					if _, err := retention.Restore(ctx, tx, dir, a, table); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if res, err := svc.Run(ctx); err != nil || res.Nights != 1 {
		t.Fatalf("the night loaded back, archived again: %+v %v", res, err)
	}
	all, err := retention.List(ctx, c.DB)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) <= len(first) {
		t.Fatalf("%d archives on record after the second run, %d after the first", len(all), len(first))
	}
	for _, a := range all {
		if err := pg.InTx(ctx, c.DB, func(tx *sqlx.Tx) error {
			if _, err := tx.Exec(`CREATE TEMPORARY TABLE restored (LIKE ` + a.Parent + `) ON COMMIT DROP`); err != nil {
				return err
			}
			_, err := retention.Restore(ctx, tx, dir, a, "restored")
			return err
		}); err != nil {
			t.Errorf("%s (part %d, %d rows) no longer restores: %v", a.File, a.Part, a.Rows, err)
		}
	}
}
