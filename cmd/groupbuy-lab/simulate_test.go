package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"groupbuy/cmd/internal/demo"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
)

func TestSimulate(t *testing.T) {
	url := testenv.NewDatabase(t)
	getenv := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	args := []string{"simulate", "--points", "300", "--skus", "120", "--lines", "9000", "--date", "2026-12-01"}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatalf("simulate: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "9000 order lines") {
		t.Fatalf("summary: %s", out.String())
	}
	db, err := pg.Open(context.Background(), url, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got struct {
		Points  int   `db:"points"`
		Lines   int   `db:"lines"`
		Units   int64 `db:"units"`
		Sold    int64 `db:"sold"`
		Zones   int   `db:"zones"`
		BadTot  int   `db:"bad_totals"`
		Foreign int   `db:"foreign_residents"`
	}
	const q = `SELECT (SELECT count(*) FROM pickup_points) AS points,
		(SELECT count(*) FROM order_lines) AS lines,
		(SELECT sum(quantity) FROM order_lines) AS units,
		(SELECT sum(sold) FROM sale_items) AS sold,
		(SELECT count(DISTINCT zone) FROM products) AS zones,
		(SELECT count(*) FROM orders o WHERE total_fen <> (SELECT sum(quantity * price_fen) FROM order_lines WHERE order_id = o.id)) AS bad_totals,
		(SELECT count(*) FROM orders o JOIN residents r ON r.id = o.resident_id WHERE r.pickup_point_id <> o.pickup_point_id) AS foreign_residents`
	if err := db.Get(&got, q); err != nil {
		t.Fatal(err)
	}
	if got.Points != 300 || got.Lines != 9000 || got.Units != got.Sold || got.Zones != 3 || got.BadTot != 0 || got.Foreign != 0 {
		t.Fatalf("simulated data disagrees: %+v", got)
	}
	// A second run for the same date would double the night: refused.
	if err := run(context.Background(), args, getenv, &out, &errOut); !errors.Is(err, demo.ErrNightExists) {
		t.Fatalf("second run for the same date: %v", err)
	}
	// Another date reuses the network.
	args[len(args)-1] = "2026-12-02"
	if err := run(context.Background(), args, getenv, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if err := db.Get(&got.Points, `SELECT count(*) FROM pickup_points`); err != nil || got.Points != 300 {
		t.Fatalf("points after a second date: %d %v", got.Points, err)
	}
}

// TestSimulateNights runs three small nights with one day's retention: each
// night reports its figures; the second archives the notices queued on the
// UTC day before the first delivery date (the first night's evening), and
// from the third on the night two days before is archived and dropped.
func TestSimulateNights(t *testing.T) {
	env := map[string]string{"DATABASE_URL": testenv.AdminURL(), "REDIS_URL": testenv.Redis(t)}
	args := []string{"simulate", "--nights", "3", "--lines", "1500", "--points", "40", "--skus", "20", "--date", "2026-12-01",
		"--retention-days", "1", "--route-budget", "1s", "--trucks", "10", "--intake-orders", "40", "--archive-dir", t.TempDir()}
	var out, errOut bytes.Buffer
	if err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("simulate --nights: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	var archived []string
	for _, line := range strings.Split(out.String(), "\n") {
		f := strings.Fields(line)
		if len(f) == 23 && strings.HasPrefix(f[1], "2026-12-0") {
			archived = append(archived, f[19])
		}
	}
	if strings.Join(archived, ",") != "0,1,1" || !strings.Contains(out.String(), "last night / first night") {
		t.Fatalf("nights archived %v, want 0,1,1:\n%s", archived, out.String())
	}
}
