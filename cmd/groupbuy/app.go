package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/redis/go-redis/v9"

	"groupbuy/cmd/internal/config"
	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/commission"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/night"
	"groupbuy/fulfillment/printout"
	"groupbuy/fulfillment/refund"
	"groupbuy/fulfillment/retention"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/api"
	"groupbuy/internal/apperr"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/jobs"
	"groupbuy/internal/metrics"
	"groupbuy/internal/pg"
	"groupbuy/internal/ratelimit"
	"groupbuy/migrations"
	"groupbuy/pickup"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// app holds the process's connections and services.
type app struct {
	cfg    config.Config
	log    *slog.Logger
	clock  clock.Clock
	db     *sqlx.DB
	redis  asynq.RedisConnOpt
	rdb    redis.UniversalClient
	queue  *asynq.Client
	jobs   *jobs.Outbox // the job outbox: tasks written in a command's transaction, relayed to Redis
	auth   *auth.Authenticator
	intake *intake.Intake
	pickup *pickup.Service
	// catalog runs the products and sale items.
	catalog *catalog.Service
	// fleet runs the vehicle types and reads the route plans.
	fleet *routeplan.Service
	// waves runs the night's stages.
	waves *night.Runner
	// supply runs suppliers, purchase orders, receiving and stock.
	supply *supply.Service
	// The last mile: deliveries and receipts, the pickup desk (codes,
	// reminders, returns), the leaders' commission, and the outbox dispatcher.
	deliveries *lastmile.Service
	driverPass lastmile.DriverPass // signs the passes of the drivers' pages
	desk       *lastmile.Desk
	commission *commission.Service
	notices    *notice.Dispatcher
	// retention makes the nights' partitions ahead and archives old ones.
	retention *retention.Service
	// metrics is this process's Prometheus registry (metrics.go): one per
	// app, never the global one.
	metrics *metrics.Registry
	// counts are the domain's counters, registered on metrics: the night's,
	// and those of commands that refund.
	counts  night.Metrics
	refunds refund.Metrics
	// payments tells the operator's payment system of refunds and takes
	// its confirmations.
	payments *refund.Payments
}

// appOption adjusts what newApp builds; `groupbuy dev` uses it.
type appOption func(*appParts)

type appParts struct {
	supplierMail notify.Channel // purchase orders by e-mail; nil: none
}

// withSupplierMail sends suppliers' purchase orders by ch instead of the
// SMTP settings.
func withSupplierMail(ch notify.Channel) appOption {
	return func(p *appParts) { p.supplierMail = ch }
}

func newApp(ctx context.Context, cfg config.Config, log *slog.Logger, clock clock.Clock, opts ...appOption) (*app, error) {
	parts := appParts{supplierMail: supplierMail(cfg.Notify)}
	for _, o := range opts {
		o(&parts)
	}
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set (or use `groupbuy dev`, which starts a private PostgreSQL)")
	}
	if cfg.RedisURL == "" {
		return nil, errors.New("REDIS_URL is not set (or use `groupbuy dev`, which starts a private Redis)")
	}
	if err := aftersale.CheckPhotoDir(cfg.AftersalePhotoDir); err != nil {
		return nil, fmt.Errorf("GROUPBUY_AFTERSALE_PHOTO_DIR: photos cannot be kept there: %w", err)
	}
	db, err := pg.Open(ctx, cfg.DatabaseURL, cfg.DBMaxConns)
	if err != nil {
		return nil, err
	}
	ropt, err := jobs.RedisOpt(cfg.RedisURL)
	if err != nil {
		db.Close()
		return nil, err
	}
	rdb, err := jobs.RedisClient(ropt)
	if err != nil {
		db.Close()
		return nil, err
	}
	var authOpts []auth.Option
	if cfg.WriteLimit > 0 {
		// Writes count per token in Redis, so the limit holds across API processes.
		authOpts = append(authOpts, auth.WithWriteLimit(ratelimit.New(rdb, "write", int64(cfg.WriteLimit), time.Minute, log)))
	}
	a := &app{cfg: cfg, log: log, clock: clock, db: db, redis: ropt, rdb: rdb,
		auth: auth.NewAuthenticator(db, clock, cfg.TokenTTL, authOpts...)}
	var domain *domainMetrics
	a.metrics, domain = newMetrics(db, rdb, log)
	a.counts = domain.night()
	a.refunds = refund.Metrics{Refunds: domain, Notices: domain}
	a.intake = intake.New(db, clock, log, intake.Options{Workers: cfg.IntakeWorkers, Metrics: domain})
	a.pickup = pickup.NewService(db, clock)
	a.catalog = catalog.NewService(db, clock)
	a.fleet = routeplan.NewService(db, clock)
	a.queue = asynq.NewClient(ropt)
	a.jobs = jobs.NewOutbox(db, a.queue, clock, log, jobs.Options{Replicas: rdb})
	a.supply = supply.NewService(db, clock, a.jobs, log, supply.Options{OverPercent: int64(cfg.OverDeliveryPercent),
		OverCases: int64(cfg.OverDeliveryCases), Mail: parts.supplierMail, Webhook: notify.WebhookOptions{PublicOnly: cfg.SupplierWebhooksPublic},
		Fonts: printout.LazyFonts(cfg.FontCJK, cfg.FontLatin)})
	a.driverPass = lastmile.NewDriverPass([]byte(cmp.Or(cfg.LabelKey, config.DevLabelKey)))
	printer := night.NewPrinter(cfg.FontCJK, cfg.FontLatin, []byte(cmp.Or(cfg.LabelKey, config.DevLabelKey)))
	if cfg.PublicURL != "" {
		printer.WithDriverLinks(func(routeID int64, expires time.Time) string {
			return driverPageURL(cfg.PublicURL, a.driverPass.Token(routeID, expires))
		})
	}
	a.waves = night.NewRunner(db, clock, a.jobs, log, night.Options{Route: routeplan.Options{Budget: cfg.RouteBudget, FullBudget: cfg.RouteFullBudget,
		OSRM: routeplan.OSRM{URL: cfg.OSRMURL, TableSize: cfg.OSRMTableSize}}, Metrics: a.counts,
		Printer: printer, Supply: a.supply})
	a.supply.SetNight(a.waves) // the dock closing a wave's last order starts its allocation
	a.payments = refund.NewPayments(db, clock, log, refund.PaymentsOptions{URL: cfg.PaymentsURL, Secret: cfg.PaymentsSecret, Notices: domain})
	a.deliveries = lastmile.NewService(db, clock, a.refunds)
	a.commission = commission.NewService(db, clock, a.refunds)
	a.retention = retention.NewService(db, clock, log, cfg.Retention)
	a.desk = lastmile.NewDesk(db, clock, ratelimit.New(a.rdb, "pickup-code", int64(cmp.Or(cfg.CodeAttempts, 10)), time.Minute, log, ratelimit.RefuseWhileBusy()),
		log, lastmile.DeskOptions{ReturnAfterDays: cfg.ReturnAfterDays, RemindAt: cfg.RemindAt, Metrics: a.refunds})
	chans, quiet, err := notifyChannels(cfg.Notify)
	if err != nil {
		a.close()
		return nil, err
	}
	a.notices = notice.NewDispatcher(db, clock, chans, nil, quiet, log, notice.DispatchOptions{Lease: cfg.Notify.Lease, Metrics: domain})
	return a, nil
}

func (a *app) close() {
	a.jobs.Stop()
	a.intake.Close()
	a.queue.Close()
	a.rdb.Close()
	a.db.Close()
}

func (a *app) migrate(ctx context.Context) error {
	return migrations.Up(ctx, a.db)
}

// handler serves the route table (routes.go), each route behind the guard
// its access names.
func (a *app) handler() http.Handler {
	r := httpx.NewEngine(a.log)
	r.Use(a.metrics.HTTP()) // first, so every route is counted (metrics.go)
	api.Register(r, api.Authenticated(a.auth, consoleCookie), a.routes())
	return r
}

// Health is what GET /healthz answers, 200 or 503 alike.
type Health struct {
	Database        string `json:"database" enum:"ok,unavailable"`
	Redis           string `json:"redis" enum:"ok,unavailable"`
	WorkerHeartbeat string `json:"worker_heartbeat,omitempty" doc:"When a job worker last said it was alive (RFC 3339), if one ever did."`
}

// health pings PostgreSQL and Redis; ok is false when either fails.
func (a *app) health(c *gin.Context) (h Health, ok bool) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	h, ok = Health{Database: "ok", Redis: "ok"}, true
	// Anyone may ask, so the answer names what failed, not how: the error
	// itself, with addresses in it, goes to the log.
	if err := a.db.PingContext(ctx); err != nil {
		h.Database, ok = "unavailable", false
		httpx.Logger(c).Warn("health: database", "err", err)
	}
	if err := a.rdb.Ping(ctx).Err(); err != nil {
		h.Redis, ok = "unavailable", false
		httpx.Logger(c).Warn("health: redis", "err", err)
	}
	if beat, err := a.rdb.Get(ctx, heartbeatKey).Result(); err == nil {
		h.WorkerHeartbeat = beat
	}
	return h, ok
}

// StaffTokenRequest asks for a staff token.
type StaffTokenRequest struct {
	Role     auth.Role `json:"role" enum:"warehouse,ops,admin" doc:"Leaders get their tokens with their pickup point."`
	Name     string    `json:"name" doc:"Who the token is for."`
	TTLHours int64     `json:"ttl_hours,omitempty" doc:"Hours until it expires, up to 8784; 0 or absent: never."`
}

// StaffToken is a new staff token, shown once.
type StaffToken struct {
	ID    int64     `json:"id"`
	Role  auth.Role `json:"role"`
	Name  string    `json:"name"`
	Token string    `json:"token"`
}

func (a *app) issueStaffToken(c *gin.Context, in struct{ Body StaffTokenRequest }) (StaffToken, error) {
	b := in.Body
	// Hours out of range stay out of range, without the product overflowing.
	hours := min(max(b.TTLHours, -1), maxStaffTokenHours+1)
	spec := auth.TokenSpec{Role: b.Role, Name: b.Name, TTL: time.Duration(hours) * time.Hour}
	if err := checkStaffToken(spec); err != nil {
		return StaffToken{}, err
	}
	token, id, err := auth.IssueToken(c.Request.Context(), a.db, a.clock.Now(), spec)
	return StaffToken{ID: id, Role: b.Role, Name: b.Name, Token: token}, err
}

// maxStaffTokenHours bounds a staff token's life: a year and a day.
const maxStaffTokenHours = 24 * 366

// checkStaffToken is the rule for a staff token, issued by the API or by
// the token command.
func checkStaffToken(spec auth.TokenSpec) error {
	if spec.Role == auth.RoleLeader || !auth.ValidRole(spec.Role) {
		return apperr.InvalidField("role", "role must be warehouse, ops or admin (leaders get tokens with their pickup point)")
	}
	if err := pickup.CheckName("name", spec.Name); err != nil {
		return err
	}
	if spec.TTL < 0 || spec.TTL > maxStaffTokenHours*time.Hour {
		return apperr.InvalidField("ttl_hours", "a token lives between 0 (no expiry) and %d hours", maxStaffTokenHours)
	}
	return nil
}

// newServer is an HTTP server of ours, the API's or a worker's metrics
// listener: no slow or idle client holds a connection (and a goroutine and a
// file descriptor) for long.
func newServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
}

// serveHTTP serves h on l until ctx ends, then drains in-flight requests.
func serveHTTP(ctx context.Context, l net.Listener, h http.Handler, log *slog.Logger) error {
	srv := newServer(h)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("draining HTTP requests")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("http shutdown: %w", err)
	}
	return nil
}

func runServe(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, err := newApp(ctx, cfg, log, clock.System{})
	if err != nil {
		return err
	}
	defer a.close()
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	log.Info("API listening", "addr", l.Addr().String())
	// Jobs the API's commands could not enqueue (Redis down) go out from here.
	a.jobs.Start(jobRelayEvery)
	return serveHTTP(ctx, l, a.handler(), log)
}

func runMigrate(ctx context.Context, cfg config.Config) error {
	db, err := migratedDB(ctx, cfg)
	if err != nil {
		return err
	}
	return db.Close()
}

// migratedDB opens the database of a one-shot command (migrate, token) and
// brings its schema up to date.
func migratedDB(ctx context.Context, cfg config.Config) (*sqlx.DB, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("DATABASE_URL is not set")
	}
	db, err := pg.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return nil, err
	}
	if err := migrations.Up(ctx, db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}
