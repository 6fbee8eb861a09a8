// Package config is the groupbuy process configuration, read from the environment.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"time"

	"groupbuy/cmd/internal/cli"
	"groupbuy/fulfillment/aftersale"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/retention"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// Config is the process configuration, read from the environment.
type Config struct {
	DatabaseURL string        // DATABASE_URL; empty in dev mode starts a private cluster
	RedisURL    string        // REDIS_URL; empty in dev mode starts a private redis
	Addr        string        // GROUPBUY_ADDR, the API listen address
	DataDir     string        // GROUPBUY_DATA_DIR, dev mode's private servers and env file
	LogLevel    slog.Level    // GROUPBUY_LOG_LEVEL: debug, info, warn, error
	DBMaxConns  int           // GROUPBUY_DB_MAX_CONNS, per process
	TokenTTL    time.Duration // GROUPBUY_TOKEN_CACHE_TTL: how long a token check is cached
	// IntakeWorkers is GROUPBUY_INTAKE_WORKERS: order batches committed at
	// once per process. Fewer workers make larger batches.
	IntakeWorkers int
	// RouteBudget is GROUPBUY_ROUTE_BUDGET: the route stage's solver time limit.
	RouteBudget time.Duration
	// WorkerConcurrency is GROUPBUY_WORKER_CONCURRENCY: tasks a worker
	// process runs at once besides route solves (default 8); RouteSolves is
	// GROUPBUY_ROUTE_SOLVES: route stages it runs at once (default 1), each
	// on the solver's threads.
	WorkerConcurrency, RouteSolves int
	// PublicURL is GROUPBUY_PUBLIC_URL: the address phones reach this API
	// at (e.g. https://gb.example.com); the QR code on each route sheet opens
	// its driver page there. Default http:// and GROUPBUY_ADDR.
	PublicURL string
	// RouteFullBudget is GROUPBUY_ROUTE_FULL_BUDGET=1: the route solver
	// searches for its whole budget instead of ending once it stops finding
	// better plans.
	RouteFullBudget bool
	// OSRMURL is GROUPBUY_OSRM_URL: an OSRM server whose table service gives
	// the route stage road distances ("" for the great-circle estimate), and
	// OSRMTableSize GROUPBUY_OSRM_TABLE_SIZE, its --max-table-size.
	OSRMURL       string
	OSRMTableSize int
	// DevSimulate is GROUPBUY_DEV_SIMULATE: when set, `groupbuy dev` also
	// simulates a night of that many order lines at a second warehouse, SIM.
	DevSimulate int
	// DevDay is GROUPBUY_DEV_DAY: when set, `groupbuy dev` runs the demo
	// city's day on a clock this many times faster than the wall clock.
	DevDay int
	// SweepEvery is GROUPBUY_SWEEP_EVERY: how often each worker's scheduler
	// looks for waves past their cutoff, besides the sweep at each cutoff.
	SweepEvery time.Duration
	// LabelKey is GROUPBUY_LABEL_KEY: the HMAC key of bag label QR codes
	// (default DevLabelKey, which only `groupbuy dev` accepts).
	LabelKey string
	// FontCJK and FontLatin are GROUPBUY_FONT_CJK / GROUPBUY_FONT_LATIN:
	// TrueType files for printouts ("" for the Debian defaults).
	FontCJK, FontLatin string
	// Notify holds the notice channels' settings (GROUPBUY_NOTIFY_*,
	// GROUPBUY_WEBHOOK_*, GROUPBUY_SMTP_*, GROUPBUY_SMS_*), read as text and
	// checked by the notify package.
	Notify NotifyEnv
	// ReturnAfterDays is GROUPBUY_RETURN_AFTER_DAYS: uncollected parcels are
	// returned and refunded after this many days
	// (lastmile.DefaultReturnAfterDays).
	ReturnAfterDays int
	// RemindAt is GROUPBUY_REMIND_AT: the local time of the evening reminder.
	RemindAt clock.TimeOfDay
	// CodeAttempts is GROUPBUY_CODE_ATTEMPTS: wrong pickup codes a leader may
	// enter per minute before verification answers 429 (default 10).
	CodeAttempts int
	// WriteLimit is GROUPBUY_WRITE_LIMIT: writes (requests other than GET
	// and HEAD) one token may make per minute, counted in Redis across
	// processes; then 429 until the minute ends. 0 turns the limit off.
	WriteLimit int
	// PaymentsURL is GROUPBUY_PAYMENTS_URL: where the operator's payment
	// system takes the signed refund.created events ("" : none are sent,
	// and refunds wait as created).
	PaymentsURL string
	// PaymentsSecret is GROUPBUY_PAYMENTS_SECRET: it signs the events and
	// checks the payment system's callbacks ("" : every callback is refused).
	PaymentsSecret string
	// SupplierWebhooksPublic: purchase orders are posted to public addresses
	// only, as suppliers' webhook URLs are set through the API (true from the
	// environment; GROUPBUY_SUPPLIER_WEBHOOKS_PRIVATE=1, suppliers on the
	// operator's own network, turns it off).
	SupplierWebhooksPublic bool
	// MetricsPublic is GROUPBUY_METRICS_PUBLIC=1: the API serves /metrics
	// without a token (for a Prometheus on a private network); otherwise it
	// asks for a staff token (warehouse, ops or admin).
	MetricsPublic bool
	// OverDeliveryPercent and OverDeliveryCases are
	// GROUPBUY_OVER_DELIVERY_PERCENT and GROUPBUY_OVER_DELIVERY_CASES: a
	// purchase-order line accepts at the dock up to the larger of this percent
	// of its units and this many cases beyond what was ordered (0: 10 % and 1).
	OverDeliveryPercent, OverDeliveryCases int
	// MetricsAddr is GROUPBUY_METRICS_ADDR: where `groupbuy worker` serves
	// /metrics, without a token ("" : not served; e.g. 127.0.0.1:9090).
	MetricsAddr string
	// AftersaleWindow is GROUPBUY_AFTERSALE_WINDOW: how long after receipt
	// (or collection) a leader may claim a line (default 48h).
	AftersaleWindow time.Duration
	// AftersalePhotoDir is GROUPBUY_AFTERSALE_PHOTO_DIR: claims' photos are
	// kept as files there ("" : in PostgreSQL).
	AftersalePhotoDir string
	// RefundResendAfter is GROUPBUY_REFUND_RESEND_AFTER: refunds still
	// created this long after they were made are sent to the payment system
	// again by the periodic sweep (0: 15m).
	RefundResendAfter time.Duration
	// Retention is GROUPBUY_RETENTION_DAYS, GROUPBUY_ARCHIVE_DIR and
	// GROUPBUY_PARTITIONS_AHEAD: nights older than the days are archived to
	// the directory and dropped (no directory: none are); partitions are
	// made that many nights ahead.
	Retention retention.Policy
}

// NotifyEnv is the notice channels' configuration as the environment gives it.
type NotifyEnv struct {
	Channels      string        // GROUPBUY_NOTIFY_CHANNELS: fallback order, e.g. "webhook,sms,email"
	QuietHours    string        // GROUPBUY_QUIET_HOURS: no SMS then, e.g. "21:00-08:00"
	Lease         time.Duration // GROUPBUY_NOTICE_LEASE: how long a dispatcher holds claimed notices
	WebhookURL    string        // GROUPBUY_WEBHOOK_URL
	WebhookSecret string        // GROUPBUY_WEBHOOK_SECRET
	SMTPHost      string        // GROUPBUY_SMTP_HOST
	SMTPPort      int           // GROUPBUY_SMTP_PORT
	SMTPUsername  string        // GROUPBUY_SMTP_USERNAME
	SMTPPassword  string        // GROUPBUY_SMTP_PASSWORD
	SMTPFrom      string        // GROUPBUY_SMTP_FROM
	SMTPTLS       string        // GROUPBUY_SMTP_TLS: opportunistic, required, implicit
	SMSEndpoint   string        // GROUPBUY_SMS_ENDPOINT (Aliyun SMS; default the public endpoint)
	SMSKeyID      string        // GROUPBUY_SMS_ACCESS_KEY_ID
	SMSKeySecret  string        // GROUPBUY_SMS_ACCESS_KEY_SECRET
	SMSSignName   string        // GROUPBUY_SMS_SIGN_NAME
	SMSTemplates  string        // GROUPBUY_SMS_TEMPLATES: "arrival=SMS_1,reminder=SMS_2,refund=SMS_3,return=SMS_4"
}

// DevLabelKey signs bag labels when GROUPBUY_LABEL_KEY is unset; only
// `groupbuy dev` may run with it (RequireLabelKey).
const DevLabelKey = "groupbuy-dev-label-key"

// RequireLabelKey refuses the public dev label key (or none, which means it)
// and keys too short to be secret: anyone could sign labels a scanner takes
// as the warehouse's own. The API and the worker check it at start.
func (c Config) RequireLabelKey() error {
	switch {
	case c.LabelKey == DevLabelKey || c.LabelKey == "":
		return fmt.Errorf("GROUPBUY_LABEL_KEY is not set: bag labels would be signed with the public dev key, which anyone can forge; " +
			"set it to a secret of your own (e.g. openssl rand -hex 32); only `groupbuy dev` runs without one")
	case len(c.LabelKey) < 16:
		return fmt.Errorf("GROUPBUY_LABEL_KEY is %d characters: use a secret of at least 16 (e.g. openssl rand -hex 32)", len(c.LabelKey))
	}
	return nil
}

// FromEnv reads the configuration through getenv, applying defaults.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		RedisURL:    getenv("REDIS_URL"),
		Addr:        getenv("GROUPBUY_ADDR"),
		Retention:   retention.Policy{Dir: getenv("GROUPBUY_ARCHIVE_DIR"), Days: retention.DefaultDays},
		DataDir:     getenv("GROUPBUY_DATA_DIR"),
		LabelKey:    getenv("GROUPBUY_LABEL_KEY"),
		FontCJK:     getenv("GROUPBUY_FONT_CJK"),
		FontLatin:   getenv("GROUPBUY_FONT_LATIN"),
		OSRMURL:     getenv("GROUPBUY_OSRM_URL"),
		DBMaxConns:  20,
		TokenTTL:    5 * time.Second,
		// One batch in flight: every batch takes the hot sale items' rows at
		// its end, so a second one only waits for the first's commit, and
		// splitting the queue makes smaller batches (measured in
		// docs/benchmarks.md, issue 18).
		IntakeWorkers:     1,
		WorkerConcurrency: 8,
		RouteSolves:       1,
		RouteBudget:       60 * time.Second,
		SweepEvery:        time.Minute,
		WriteLimit:        600,
		MetricsAddr:       getenv("GROUPBUY_METRICS_ADDR"),
		AftersaleWindow:   aftersale.DefaultWindow,
		ReturnAfterDays:   lastmile.DefaultReturnAfterDays,
		AftersalePhotoDir: getenv("GROUPBUY_AFTERSALE_PHOTO_DIR"),
		PaymentsURL:       getenv("GROUPBUY_PAYMENTS_URL"),
		PaymentsSecret:    getenv("GROUPBUY_PAYMENTS_SECRET"),
		PublicURL:         getenv("GROUPBUY_PUBLIC_URL"),
		Notify: NotifyEnv{
			Channels: getenv("GROUPBUY_NOTIFY_CHANNELS"), QuietHours: getenv("GROUPBUY_QUIET_HOURS"),
			WebhookURL: getenv("GROUPBUY_WEBHOOK_URL"), WebhookSecret: getenv("GROUPBUY_WEBHOOK_SECRET"),
			SMTPHost: getenv("GROUPBUY_SMTP_HOST"), SMTPUsername: getenv("GROUPBUY_SMTP_USERNAME"),
			SMTPPassword: getenv("GROUPBUY_SMTP_PASSWORD"), SMTPFrom: getenv("GROUPBUY_SMTP_FROM"), SMTPTLS: getenv("GROUPBUY_SMTP_TLS"),
			SMSEndpoint: getenv("GROUPBUY_SMS_ENDPOINT"), SMSKeyID: getenv("GROUPBUY_SMS_ACCESS_KEY_ID"),
			SMSKeySecret: getenv("GROUPBUY_SMS_ACCESS_KEY_SECRET"), SMSSignName: getenv("GROUPBUY_SMS_SIGN_NAME"),
			SMSTemplates: getenv("GROUPBUY_SMS_TEMPLATES"),
		},
	}
	e := cli.NewEnv(getenv)
	// A parcel's code opens it for CodeLifeDays: it must go back before.
	e.Int("GROUPBUY_RETURN_AFTER_DAYS", &c.ReturnAfterDays, 1, pickup.CodeLifeDays, "")
	e.Int("GROUPBUY_CODE_ATTEMPTS", &c.CodeAttempts, 1, 1000, "")
	e.Int("GROUPBUY_RETENTION_DAYS", &c.Retention.Days, 1, 100_000, "")
	e.Int("GROUPBUY_PARTITIONS_AHEAD", &c.Retention.Ahead, 1, 3650, "")
	e.Int("GROUPBUY_WRITE_LIMIT", &c.WriteLimit, 0, 1_000_000, "")
	e.Int("GROUPBUY_SMTP_PORT", &c.Notify.SMTPPort, 1, 65535, "")
	e.Int("GROUPBUY_OVER_DELIVERY_PERCENT", &c.OverDeliveryPercent, 1, 100, "")
	e.Int("GROUPBUY_OVER_DELIVERY_CASES", &c.OverDeliveryCases, 1, 100, "")
	e.Parse("GROUPBUY_REMIND_AT", func(v string) (err error) {
		c.RemindAt, err = clock.ParseTimeOfDay(v)
		return err
	})
	e.Duration("GROUPBUY_NOTICE_LEASE", &c.Notify.Lease, time.Second, math.MaxInt64, "a duration of at least 1s")
	e.Parse("GROUPBUY_METRICS_PUBLIC", func(v string) (err error) {
		c.MetricsPublic, err = parseFlag(v)
		return err
	})
	e.Parse("GROUPBUY_ROUTE_FULL_BUDGET", func(v string) (err error) {
		c.RouteFullBudget, err = parseFlag(v)
		return err
	})
	c.SupplierWebhooksPublic = true
	e.Parse("GROUPBUY_SUPPLIER_WEBHOOKS_PRIVATE", func(v string) error {
		private, err := parseFlag(v)
		c.SupplierWebhooksPublic = !private
		return err
	})
	e.Parse("GROUPBUY_LOG_LEVEL", func(v string) error { return c.LogLevel.UnmarshalText([]byte(v)) })
	e.Int("GROUPBUY_DB_MAX_CONNS", &c.DBMaxConns, 1, math.MaxInt, "a positive integer")
	e.Int("GROUPBUY_INTAKE_WORKERS", &c.IntakeWorkers, 1, 64, "")
	e.Int("GROUPBUY_WORKER_CONCURRENCY", &c.WorkerConcurrency, 1, 1000, "")
	e.Int("GROUPBUY_ROUTE_SOLVES", &c.RouteSolves, 1, 64, "")
	e.Duration("GROUPBUY_ROUTE_BUDGET", &c.RouteBudget, time.Second, time.Hour, "a duration between 1s and 1h")
	e.Int("GROUPBUY_OSRM_TABLE_SIZE", &c.OSRMTableSize, 2, 1_000_000, "")
	e.Parse("GROUPBUY_OSRM_URL", httpURL("http://osrm:5000"))
	e.Parse("GROUPBUY_PAYMENTS_URL", httpURL("https://pay.example.com/groupbuy/refunds"))
	e.Parse("GROUPBUY_PUBLIC_URL", httpURL("https://gb.example.com"))
	e.Duration("GROUPBUY_SWEEP_EVERY", &c.SweepEvery, time.Second, math.MaxInt64, "a duration of at least 1s")
	e.Int("GROUPBUY_DEV_SIMULATE", &c.DevSimulate, 0, 10_000_000, "a number of order lines")
	e.Int("GROUPBUY_DEV_DAY", &c.DevDay, 0, 100_000, "a speed between 0 (off) and 100000")
	e.Duration("GROUPBUY_TOKEN_CACHE_TTL", &c.TokenTTL, 0, math.MaxInt64, "a duration such as 5s")
	e.Duration("GROUPBUY_AFTERSALE_WINDOW", &c.AftersaleWindow, time.Hour, 90*24*time.Hour, "a duration between 1h and 2160h")
	e.Duration("GROUPBUY_REFUND_RESEND_AFTER", &c.RefundResendAfter, time.Minute, 7*24*time.Hour, "a duration between 1m and 168h")
	if err := e.Err(); err != nil {
		return c, err
	}
	if c.PaymentsURL != "" && len(c.PaymentsSecret) < 16 {
		// Events signed with an empty key, and every callback refused: refunds never confirmed.
		return c, errors.New("GROUPBUY_PAYMENTS_URL is set: GROUPBUY_PAYMENTS_SECRET must be its shared secret, at least 16 characters")
	}
	if least := retention.LeastDays(c.ReturnAfterDays, c.AftersaleWindow); c.Retention.Days < least {
		return c, fmt.Errorf("GROUPBUY_RETENTION_DAYS: want at least %d days: a night's pickup codes live %d days, its parcels wait up to %d days (GROUPBUY_RETURN_AFTER_DAYS) and its lines may be claimed for %s after collection (GROUPBUY_AFTERSALE_WINDOW), and retention must not drop them before",
			least, pickup.CodeLifeDays, c.ReturnAfterDays, c.AftersaleWindow)
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.LabelKey == "" {
		c.LabelKey = DevLabelKey
	}
	if c.PublicURL == "" {
		// An address on every interface (":8080") names no host a phone can open.
		host, port, _ := net.SplitHostPort(c.Addr)
		if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
			host = "localhost"
		}
		c.PublicURL = "http://" + net.JoinHostPort(host, port)
	}
	if c.DataDir == "" {
		c.DataDir = ".groupbuy"
	}
	return c, e.Err()
}

// httpURL checks a setting that is an http or https URL with a host.
func httpURL(example string) func(string) error {
	return func(v string) error {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("want an http or https URL such as %s, got %q", example, v)
		}
		return nil
	}
}

// parseFlag reads a yes-or-no setting: 1 or true, 0 or false.
func parseFlag(v string) (bool, error) {
	switch v {
	case "0", "false":
		return false, nil
	case "1", "true":
		return true, nil
	}
	return false, fmt.Errorf("want 1 or 0, got %q", v)
}
