package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/wave"
	"groupbuy/internal/api/openapi"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

func TestMain(m *testing.M) {
	if os.Getenv("GROUPBUY_TEST_WORKER_PROCESS") == "1" {
		// The crash test runs this binary as a worker process it can SIGKILL.
		runAsCommand("worker")
	}
	// The parallel tests here mostly wait on workers' pollers and on
	// Chromium, not on the CPU: four at once unless -parallel says.
	flag.Parse()
	parallelSet := false
	flag.Visit(func(f *flag.Flag) { parallelSet = parallelSet || f.Name == "test.parallel" })
	if !parallelSet {
		_ = flag.Set("test.parallel", "4")
	}
	testenv.Main(m, closeChromium)
}

// runAsCommand runs this test binary as `groupbuy cmd` until SIGTERM, then
// exits: the crash and fault tests start it as a process they can signal.
func runAsCommand(cmd string) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, []string{cmd}, os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, cmd+":", err)
		os.Exit(1)
	}
	os.Exit(0)
}

// testCity is a running API over a fresh database with a small city:
// one warehouse (Asia/Shanghai, cutoff 23:00), leaders with points, products
// and sale items for delivery date D.
type testCity struct {
	t        *testing.T
	app      *app
	srv      *httptest.Server
	clock    *clock.Manual
	date     fulfillment.Date
	admin    string // admin token
	leaders  []string
	points   []pickup.PointCreated
	items    []catalog.SaleItem
	warehous pickup.Warehouse
}

// The test day: delivery on 2026-12-01; cutoff 2026-11-30 23:00 Shanghai = 15:00 UTC.
var (
	testDate      = fulfillment.Date{Time: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	beforeCutoff  = time.Date(2026, 11, 30, 14, 0, 0, 0, time.UTC)
	testCutoffUTC = time.Date(2026, 11, 30, 15, 0, 0, 0, time.UTC)
)

func newTestCity(t *testing.T, leaders int) *testCity {
	t.Helper()
	return newTestCityOn(t, leaders, clock.NewManual(beforeCutoff))
}

// newTestCityOn is newTestCity with a clock of the caller's: the real one,
// for tests that run worker processes beside the API.
func newTestCityOn(t *testing.T, leaders int, clock clock.Clock) *testCity {
	t.Helper()
	return newTestCityWith(t, leaders, clock, func(*config.Config) {})
}

// newTestCityWith is newTestCityOn with the configuration changed by tune.
func newTestCityWith(t *testing.T, leaders int, clock clock.Clock, tune func(*config.Config)) *testCity {
	t.Helper()
	cfg := config.Config{DatabaseURL: testenv.NewDatabase(t), RedisURL: testenv.Redis(t), DBMaxConns: 40, TokenTTL: time.Second,
		RouteBudget: 2 * time.Second}
	tune(&cfg)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	a := startApp(t, cfg, log, clock)
	srv := apiServer(t, a)
	c := buildCity(t, a, clock, testDate, leaders, 1000)
	c.srv = srv
	return c
}

// startApp makes the app of one process, as serve and worker do, and
// closes it when the test ends.
func startApp(t testing.TB, cfg config.Config, log *slog.Logger, clk clock.Clock, opts ...appOption) *app {
	t.Helper()
	a, err := newApp(context.Background(), cfg, log, clk, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.close)
	return a
}

// apiServer serves a's API to a client that checks every answer against
// the document (checked).
func apiServer(t testing.TB, a *app) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(a.handler())
	t.Cleanup(srv.Close)
	checked(t, srv.Client())
	return srv
}

// checked makes client check every answer it gets against the committed
// OpenAPI document (openapi.json), failing t on any the document does not
// describe, and returns it. The console's pages and /metrics are not in it.
func checked(t testing.TB, client *http.Client) *http.Client {
	t.Helper()
	v, err := openapi.NewValidator(openAPIJSON)
	if err != nil {
		t.Fatal(err)
	}
	v.Skip = func(r *http.Request) bool {
		p := r.URL.Path
		return p == "/metrics" || p == "/console" || strings.HasPrefix(p, "/console/")
	}
	client.Transport = v.Transport(client.Transport, func(err error) { t.Errorf("answer outside the OpenAPI document: %v", err) })
	return client
}

// buildCity fills a's database with the test city: a warehouse
// (Asia/Shanghai, cutoff 23:00), leaders with points, and EGG, RICE and
// DUMPLING on sale for date with stockCap each.
func buildCity(t *testing.T, a *app, clk clock.Clock, date fulfillment.Date, leaders int, stockCap int64) *testCity {
	t.Helper()
	ctx := context.Background()
	c := &testCity{t: t, app: a, date: date}
	c.clock, _ = clk.(*clock.Manual)
	var err error
	if c.admin, _, err = auth.IssueToken(ctx, a.db, clk.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "test admin"}); err != nil {
		t.Fatal(err)
	}
	if c.warehous, err = a.pickup.CreateWarehouse(ctx, demo.Warehouse); err != nil {
		t.Fatal(err)
	}
	for i := range leaders {
		pc, err := a.pickup.SavePoint(ctx, pickup.PointInput{
			Point: pickup.Point{Code: fmt.Sprintf("P%03d", i), WarehouseID: c.warehous.ID, Name: fmt.Sprintf("测试自提点%d", i),
				Lat: 31.1 + float64(i)*0.001, Lng: 121.4, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName: fmt.Sprintf("团长%d", i), LeaderPhone: fmt.Sprintf("1380000%04d", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		c.points = append(c.points, pc)
		c.leaders = append(c.leaders, pc.LeaderToken)
	}
	c.items = publishDay(t, a, c.warehous.ID, date, stockCap)
	return c
}

// publishDay saves the three products (again) and publishes them for date.
// It publishes as simulate does (PublishTx), not through the API's command,
// so tests on the real clock may keep their fixed date in the past.
func publishDay(t *testing.T, a *app, warehouseID int64, date fulfillment.Date, stockCap int64) []catalog.SaleItem {
	t.Helper()
	ctx := context.Background()
	products, err := a.catalog.SaveProducts(ctx, []catalog.Product{
		{SKU: "EGG", Name: "土鸡蛋", Unit: "盒", WeightG: 900, VolumeML: 1500, Zone: fulfillment.Chilled, Bin: "C-01-01"},
		{SKU: "RICE", Name: "东北大米", Unit: "袋", WeightG: 5000, VolumeML: 6000, Zone: fulfillment.Ambient, Bin: "A-01-01"},
		{SKU: "DUMPLING", Name: "三全水饺", Unit: "袋", WeightG: 1000, VolumeML: 1200, Zone: fulfillment.Frozen, Bin: "F-01-01"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var offers []catalog.Offer
	for i, p := range products {
		offers = append(offers, catalog.Offer{ProductID: p.ID, PriceFen: []int64{1890, 3990, 1590}[i], StockCap: stockCap})
	}
	var items []catalog.SaleItem
	err = pg.InTx(ctx, a.db, func(tx *sqlx.Tx) error {
		items, err = catalog.PublishTx(ctx, tx, warehouseID, date, offers, a.clock.Now())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

// addVehicleType gives the city's warehouse a fleet (POST …/vehicle-types).
func (c *testCity) addVehicleType(v map[string]any) {
	c.t.Helper()
	if r := c.do("POST", fmt.Sprintf("/api/v1/ops/warehouses/%d/vehicle-types", c.warehous.ID), c.admin, v); r.Status != http.StatusOK {
		c.t.Fatalf("vehicle type: %d %s", r.Status, r.Body)
	}
}

// wavePath is the ops API path of the test day's wave.
func (c *testCity) wavePath() string {
	c.t.Helper()
	var waves struct{ Waves []wave.Wave }
	c.do("GET", "/api/v1/ops/waves?date="+c.date.String(), c.admin, nil).json(c.t, &waves)
	if len(waves.Waves) != 1 {
		c.t.Fatalf("%d waves on %s, want 1", len(waves.Waves), c.date)
	}
	return fmt.Sprintf("/api/v1/ops/waves/%d", waves.Waves[0].ID)
}

// notifyByWebhook makes the app send residents' notices to a receiver on
// loopback, signed with secret, and returns the receiver.
func (c *testCity) notifyByWebhook(secret string) *webhook.Receiver {
	c.t.Helper()
	rc := webhook.NewReceiver(secret)
	hook := httptest.NewServer(rc)
	c.t.Cleanup(hook.Close)
	c.app.notices = notice.NewDispatcher(c.app.db, c.clock, []notify.Channel{notify.NewWebhook(hook.URL, secret, notify.WebhookOptions{})},
		nil, notify.DefaultQuietHours(), c.app.log, notice.DispatchOptions{})
	return rc
}

// item returns the sale item of a SKU.
func (c *testCity) item(sku string) catalog.SaleItem {
	for _, it := range c.items {
		if it.SKU == sku {
			return it
		}
	}
	c.t.Fatalf("no sale item %s", sku)
	return catalog.SaleItem{}
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorCode returns the envelope's error code, failing if the body is not an envelope.
func (r response) errorCode(t *testing.T) string {
	t.Helper()
	code, _ := envelopeOf(t, r)
	return code
}

// envelopeOf returns the error envelope's code and field, failing unless
// the body is one.
func envelopeOf(t *testing.T, r response) (code, field string) {
	t.Helper()
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
			Field   string `json:"field"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.Body, &env); err != nil || env.Error.Code == "" || env.Error.Message == "" {
		t.Fatalf("not an error envelope (%v): %.300s", err, r.Body)
	}
	return env.Error.Code, env.Error.Field
}

func (c *testCity) do(method, path, token string, body any, headers ...string) response {
	c.t.Helper()
	return doHTTP(c.t, c.srv.Client(), method, c.srv.URL+path, token, body, headers...)
}

func doHTTP(t testing.TB, client *http.Client, method, url, token string, body any, headers ...string) response {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Errorf("%s %s: %v", method, url, err)
		return response{}
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
}

func (c *testCity) count(table string) int {
	c.t.Helper()
	var n int
	if err := c.app.db.Get(&n, "SELECT count(*) FROM "+table); err != nil {
		c.t.Fatal(err)
	}
	return n
}

func (c *testCity) sold(id int64) int64 {
	c.t.Helper()
	var n int64
	if err := c.app.db.Get(&n, "SELECT sold FROM sale_items WHERE id = $1", id); err != nil {
		c.t.Fatal(err)
	}
	return n
}

func orderBody(phone, name string, lines ...int64) map[string]any {
	var ls []map[string]any
	for i := 0; i+1 < len(lines); i += 2 {
		ls = append(ls, map[string]any{"sale_item_id": lines[i], "quantity": lines[i+1]})
	}
	return map[string]any{"resident": map[string]any{"phone": phone, "name": name}, "lines": ls}
}
