package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"groupbuy/cmd/internal/cli"
	"groupbuy/cmd/internal/demo"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/migrations"
	"groupbuy/pickup"
)

// runSimulate fills a database with a simulated city night (demo.Simulate),
// so the night can be run and measured.
func runSimulate(ctx context.Context, env labEnv, args []string, stdout, stderr io.Writer) error {
	fs := cli.NewFlagSet("simulate", stderr)
	s := demo.SimCity
	fs.StringVar(&s.Warehouse, "warehouse", s.Warehouse, "warehouse code (created when missing)")
	fs.IntVar(&s.Points, "points", 5000, "pickup points")
	fs.IntVar(&s.SKUs, "skus", 2000, "SKUs on sale")
	fs.IntVar(&s.Lines, "lines", 1_000_000, "order lines")
	fs.StringVar(&s.Date, "date", "", "delivery date YYYY-MM-DD (default: tomorrow in the warehouse's time zone)")
	fs.Uint64Var(&s.Seed, "seed", s.Seed, "random seed")
	fs.Float64Var(&s.CityKm, "city-km", s.CityKm, "city diameter in km")
	fs.Float64Var(&s.Lat, "lat", s.Lat, "city centre latitude")
	fs.Float64Var(&s.Lng, "lng", s.Lng, "city centre longitude")
	suppliers := fs.Int("suppliers", 300, "suppliers the SKUs are bought from, with case packs and prices (0: none; one night only: --nights types its receipts)")
	n := nightsSpec{}
	fs.IntVar(&n.nights, "nights", 0, "run this many consecutive nights from --date in a scratch database: orders, the night, the last mile and retention (0: fill DATABASE_URL with one night's orders)")
	fs.IntVar(&n.intakeOrders, "intake-orders", 2000, "with --nights: orders placed through the intake service each night, besides the bulk")
	fs.IntVar(&n.intakeClients, "intake-clients", 32, "with --nights: concurrent leaders placing them")
	fs.DurationVar(&n.routeBudget, "route-budget", 10*time.Second, "with --nights: the route stage's solver time limit")
	fs.IntVar(&n.trucks, "trucks", 100, "with --nights: trucks available (3 t, 16 m³)")
	fs.IntVar(&n.retention.Days, "retention-days", 7, "with --nights: nights older than this are archived and dropped")
	fs.StringVar(&n.retention.Dir, "archive-dir", "", "with --nights: where archives go (default: a temporary directory)")
	fs.BoolVar(&n.keep, "keep", false, "with --nights: keep the scratch database and the archives")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	if env.DatabaseURL == "" {
		return errors.New("simulate: DATABASE_URL is not set")
	}
	if n.nights > 0 {
		n.city = s
		if n.city.Date == "" {
			n.city.Date = time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
		}
		return runNights(ctx, env, n, stdout, stderr)
	}
	db, err := pg.Open(ctx, env.DatabaseURL, 4)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := migrations.Up(ctx, db); err != nil {
		return err
	}
	start := time.Now()
	sum, err := demo.Simulate(ctx, db, clock.System{}, s)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "simulated %s for %s: %d pickup points, %d SKUs, %d residents, %d orders, %d order lines in %.1fs\n",
		s.Warehouse, sum.Date, sum.Points, sum.SKUs, sum.Residents, sum.Orders, sum.Lines, time.Since(start).Seconds())
	if *suppliers < 1 {
		return nil
	}
	wh, err := pickup.WarehouseByCode(ctx, db, s.Warehouse)
	if err != nil {
		return err
	}
	date, err := fulfillment.ParseDate("date", sum.Date)
	if err != nil {
		return err
	}
	svc := supply.NewService(db, clock.System{}, nil, nil, supply.Options{})
	terms, err := demo.SimSuppliers(ctx, db, svc, wh.ID, date, *suppliers, s.Seed)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d suppliers supply its %d SKUs in case packs: at cutoff the purchase stage orders from them\n", *suppliers, terms)
	return nil
}
