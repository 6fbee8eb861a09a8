package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"

	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
	"groupbuy/migrations"
)

// partitionMigration is the migration that partitions the per-night tables.
const partitionMigration = 60

// sortLinesPerBagMigration packs the sort lines into one row per bag: the
// old columns are compared up to the migration before it.
const sortLinesPerBagMigration = 81

// tableDigest is a table's row count and a digest of its rows over the
// given columns, independent of row order.
type tableDigest struct {
	Rows   int64  `db:"rows"`
	Digest string `db:"digest"`
}

// schemaColumns lists the columns of every table of the public schema
// (partitioned parents, not their partitions), except goose's own.
func schemaColumns(t *testing.T, db *sqlx.DB) map[string][]string {
	t.Helper()
	var rows []struct {
		Table  string `db:"relname"`
		Column string `db:"attname"`
	}
	if err := db.Select(&rows, `SELECT c.relname, a.attname FROM pg_class c
		JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relname <> 'goose_db_version'
		ORDER BY c.relname, a.attname`); err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		out[r.Table] = append(out[r.Table], r.Column)
	}
	return out
}

// digests digests every table of cols over the columns cols names.
func digests(t *testing.T, db *sqlx.DB, cols map[string][]string) map[string]tableDigest {
	t.Helper()
	out := map[string]tableDigest{}
	for table, cs := range cols {
		row := "ROW(" + strings.Join(cs, ", ") + ")::text"
		var d tableDigest
		if err := db.Get(&d, fmt.Sprintf(`SELECT count(*) AS rows,
			coalesce(md5(string_agg(md5(%s), '' ORDER BY md5(%s))), '') AS digest FROM %s`, row, row, table)); err != nil {
			t.Fatalf("digest %s: %v", table, err)
		}
		out[table] = d
	}
	return out
}

// TestPartitionMigrationKeepsEveryRow fills a database with a simulated
// night run through the last mile, takes it back to the schema before the
// partitioning migration, digests every table, migrates up and compares:
// every table keeps its rows, and the partitioned ones hold them in the
// partitions of their nights.
func TestPartitionMigrationKeepsEveryRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	n := newSimNight(t, testenv.Redis(t), 8000, "sold * 9 / 10")
	a := n.app
	var warehouse int64
	if err := a.db.Get(&warehouse, `SELECT warehouse_id FROM waves WHERE id = $1`, n.waveID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.fleet.SaveVehicleType(ctx, routeplan.VehicleType{WarehouseID: warehouse, Code: "TRUCK3T", Name: "3吨冷藏车",
		Count: 30, CapacityG: 3_000_000, CapacityML: 16_000_000, ShiftStart: clock.NewTimeOfDay(4, 30), ShiftEnd: clock.NewTimeOfDay(11, 0),
		FixedCostFen: 40000, CostPerKmFen: 300}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.waves.Close(ctx, n.waveID, true); err != nil {
		t.Fatal(err)
	}
	for _, st := range []wave.Stage{wave.StagePurchase, wave.StageAllocate, wave.StagePick, wave.StageRoute, wave.StageReady} {
		if _, err := a.waves.RunStage(ctx, st, n.waveID); err != nil {
			t.Fatalf("%s: %v", st, err)
		}
	}
	// Forty points receive their delivery: parcels, pickup codes, notices.
	var deliveries []struct {
		ID     int64 `db:"id"`
		Leader int64 `db:"leader_id"`
	}
	if err := a.db.Select(&deliveries, `UPDATE deliveries d SET state = 'arrived', arrived_at = now()
		FROM pickup_points p WHERE p.id = d.pickup_point_id
		  AND d.id IN (SELECT id FROM deliveries WHERE wave_id = $1 ORDER BY id LIMIT 40)
		RETURNING d.id, p.leader_id`, n.waveID); err != nil {
		t.Fatal(err)
	}
	for _, d := range deliveries {
		if _, err := a.deliveries.Receive(ctx, d.Leader, d.ID, lastmile.ReceiveRequest{}); err != nil {
			t.Fatalf("receive delivery %d: %v", d.ID, err)
		}
	}
	for _, table := range []string{"order_lines", "sort_lines", "printouts", "parcel_lines", "pickup_codes"} {
		if n.count(t, table) == 0 {
			t.Fatalf("the simulated night left %s empty", table)
		}
	}
	simulated := digests(t, a.db, schemaColumns(t, a.db))

	provider, err := goose.NewProvider(goose.DialectPostgres, a.db.DB, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := provider.DownTo(ctx, partitionMigration-1); err != nil {
		t.Fatal(err)
	}
	var kind string
	if err := a.db.Get(&kind, `SELECT relkind FROM pg_class WHERE relname = 'order_lines'`); err != nil || kind != "r" {
		t.Fatalf("before the migration order_lines is %q (%v), want a plain table", kind, err)
	}
	oldCols := schemaColumns(t, a.db)
	before := digests(t, a.db, oldCols)
	if _, err := provider.UpTo(ctx, sortLinesPerBagMigration-1); err != nil {
		t.Fatal(err)
	}
	after := digests(t, a.db, oldCols)
	for table, d := range before {
		if after[table] != d {
			t.Errorf("%s: %+v before the migration, %+v after", table, d, after[table])
		}
	}
	// And the round trip, through the sort lines unpacked and packed again,
	// gave back what the simulation wrote.
	if _, err := provider.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if again := digests(t, a.db, schemaColumns(t, a.db)); fmt.Sprint(again) != fmt.Sprint(simulated) {
		for table, d := range simulated {
			if again[table] != d {
				t.Errorf("%s: %+v simulated, %+v after down and up", table, d, again[table])
			}
		}
	}

	// Each partitioned table is partitioned, its rows in their night's partition.
	for _, table := range []string{"order_lines", "parcel_lines", "sort_lines", "printouts", "pickup_codes"} {
		var p struct {
			Kind      string `db:"kind"`
			InNight   int64  `db:"in_night"`
			Elsewhere int64  `db:"elsewhere"`
		}
		q := fmt.Sprintf(`SELECT (SELECT relkind FROM pg_class WHERE relname = '%[1]s') AS kind,
			(SELECT count(*) FROM %[1]s_p20260105) AS in_night,
			(SELECT count(*) FROM %[1]s WHERE tableoid <> '%[1]s_p20260105'::regclass) AS elsewhere`, table)
		if err := a.db.Get(&p, q); err != nil {
			t.Fatal(err)
		}
		if p.Kind != "p" || p.InNight != simulated[table].Rows || p.Elsewhere != 0 {
			t.Errorf("%s: %+v, want partitioned with all %d rows in the night's partition", table, p, simulated[table].Rows)
		}
	}
	var wrongDate int
	if err := a.db.Get(&wrongDate, `SELECT count(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.delivery_date <> l.delivery_date`); err != nil || wrongDate != 0 {
		t.Fatalf("%d order lines filed under another date than their order's (%v)", wrongDate, err)
	}
}
