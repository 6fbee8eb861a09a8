package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/devenv"
	"groupbuy/fulfillment/daysummary"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/testenv"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// TestDevCommand runs `groupbuy dev` as main would, against this test's own
// database and Redis, twice: the second start keeps data and tokens.
func TestDevCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := devEnv(t, dir)
	env["GROUPBUY_DEV_SIMULATE"] = "3000"
	getenv := func(k string) string { return env[k] }
	start := func() (map[string]string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var stdout, stderr bytes.Buffer
		envFile := filepath.Join(dir, "dev.env")
		prevAPI := devenv.Read(envFile)["GROUPBUY_API"] // each start listens on a new port
		go func() { done <- run(ctx, []string{"dev"}, getenv, &stdout, &stderr) }()
		deadline := time.Now().Add(60 * time.Second)
		for {
			vals := devenv.Read(envFile)
			if api := vals["GROUPBUY_API"]; api != "" && api != prevAPI {
				return vals, func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("dev exited with %v\n%s", err, stderr.String())
					}
				}
			}
			select {
			case err := <-done:
				t.Fatalf("dev exited early: %v\n%s", err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dev did not start\n%s", stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	vals, stop := start()
	api, leader, ops := vals["GROUPBUY_API"], vals["GROUPBUY_LEADER_TOKEN"], vals["GROUPBUY_ADMIN_TOKEN"]
	client := checked(t, &http.Client{Timeout: 10 * time.Second})
	date := demo.Tomorrow(clock.System{}).String()
	r := doHTTP(t, client, "GET", api+"/api/v1/leader/catalog?date="+date, leader, nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"sku"`) < 300 {
		t.Fatalf("demo catalog: %d %.300s", r.Status, r.Body)
	}
	r = doHTTP(t, client, "GET", api+"/api/v1/ops/pickup-points", ops, nil)
	// 200 demo points and 50 at the simulated warehouse.
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"code"`) != 250 {
		t.Fatalf("demo points: %d %.300s", r.Status, r.Body)
	}
	stop()

	again, stop := start()
	defer stop()
	if again["GROUPBUY_LEADER_TOKEN"] != leader || again["GROUPBUY_ADMIN_TOKEN"] != ops {
		t.Fatal("a restart issued new tokens though the old ones still work")
	}
	r = doHTTP(t, client, "GET", again["GROUPBUY_API"]+"/api/v1/ops/pickup-points", ops, nil)
	if strings.Count(string(r.Body), `"code"`) != 250 {
		t.Fatalf("restart re-seeded or lost the city: %.300s", r.Body)
	}
}

// TestDevDayReachesTheSummary runs the demo day as `groupbuy dev` does
// (devDay), at 12 of its 200 points, its clock set ahead over the quiet
// stretches: orders through the evening, the worker's night with the dock
// receiving every purchase order, the trucks, the leaders' receipts, the
// morning's collections and the evening's reminders. The day's summary
// then has every figure: all stops reached, all deliveries received, some
// units short at the dock or damaged, most parcels collected.
func TestDevDayReachesTheSummary(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	clk := clock.NewAccelerated(demo.DayStart(testDate), 60)
	cfg := config.Config{DatabaseURL: testenv.NewDatabase(t), RedisURL: testenv.Redis(t), DBMaxConns: 40,
		TokenTTL: time.Second, RouteBudget: 5 * time.Second}
	// The demo suppliers take their orders by e-mail; without SMTP, as here,
	// dev logs each one instead.
	var mail testenv.Buffer
	a := startApp(t, cfg, slog.New(slog.DiscardHandler), clk, withSupplierMail(devMail{slog.New(slog.NewTextHandler(&mail, nil))}))
	srv := apiServer(t, a)
	if err := demo.SeedCity(ctx, a.demoServices()); err != nil {
		t.Fatal(err)
	}
	startNightWorker(t, a)
	day := devDay(a, clk)
	day.Orders, day.Points, day.Skip = 60, 12, true
	start := time.Now()
	wv, err := day.Run(ctx, testDate)
	if err != nil {
		t.Fatal(err)
	}
	admin, _, err := auth.IssueToken(ctx, a.db, clk.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "test admin"})
	if err != nil {
		t.Fatal(err)
	}
	client := checked(t, &http.Client{Timeout: 10 * time.Second})
	var sum daysummary.Summary
	doHTTP(t, client, "GET", fmt.Sprintf("%s/api/v1/ops/waves/%d/summary", srv.URL, wv.ID), admin, nil).json(t, &sum)
	d, p := sum.Driving, sum.Points
	if sum.State != wave.Delivered || sum.Orders < 50 || d.Stops == 0 || d.StopsReached != d.Stops || d.StopsOnTime == 0 ||
		p.Received != p.Deliveries || p.UnitsReceived+p.UnitsDamaged != p.UnitsExpected || p.UnitsDamaged == 0 ||
		sum.FillRate <= 0.8 || sum.FillRate >= 1 || sum.CollectionRate <= 0.5 || sum.CollectionRate >= 1 || sum.CostPerOrderFen <= 0 {
		t.Fatalf("the day's summary: %+v", sum)
	}
	var notices notice.NoticeStatsList
	doHTTP(t, client, "GET", srv.URL+"/api/v1/ops/notices", admin, nil).json(t, &notices)
	reminders := int64(0)
	for _, k := range notices.Kinds {
		if k.Kind == notify.KindReminder {
			reminders = k.Queued + k.Sent + k.Failed
		}
	}
	if reminders == 0 || reminders > p.Residents-p.ResidentsCollected {
		t.Fatalf("%d reminders for %d residents who did not collect", reminders, p.Residents-p.ResidentsCollected)
	}
	var sends struct{ Sent, Unsent int }
	if err := a.db.GetContext(ctx, &sends, `SELECT count(sent_at) AS sent, count(*) - count(sent_at) AS unsent FROM purchase_order_sends`); err != nil {
		t.Fatal(err)
	}
	if logged := strings.Count(mail.String(), "purchase order to supplier"); sends.Sent == 0 || sends.Unsent != 0 || logged != sends.Sent {
		t.Fatalf("%d purchase orders sent, %d not, %d logged:\n%s", sends.Sent, sends.Unsent, logged, mail.String())
	}
	t.Logf("the day in %v: %+v", time.Since(start).Round(time.Millisecond), sum)
}
