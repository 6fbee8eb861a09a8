package platform

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"
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
	// DevSimulate is GROUPBUY_DEV_SIMULATE: when set, `groupbuy dev` also
	// simulates a night of that many order lines at a second warehouse, SIM.
	DevSimulate int
	// SweepEvery is GROUPBUY_SWEEP_EVERY: how often each worker's scheduler
	// looks for waves past their cutoff, besides the sweep at each cutoff.
	SweepEvery time.Duration
	// LabelKey is GROUPBUY_LABEL_KEY: the HMAC key of bag label QR codes
	// (default DevLabelKey, for laptops only).
	LabelKey string
	// FontCJK and FontLatin are GROUPBUY_FONT_CJK / GROUPBUY_FONT_LATIN:
	// TrueType files for printouts ("" for the Debian defaults).
	FontCJK, FontLatin string
}

// DevLabelKey signs bag labels when GROUPBUY_LABEL_KEY is unset.
const DevLabelKey = "groupbuy-dev-label-key"

// ConfigFromEnv reads the configuration through getenv, applying defaults.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		DatabaseURL: getenv("DATABASE_URL"),
		RedisURL:    getenv("REDIS_URL"),
		Addr:        getenv("GROUPBUY_ADDR"),
		DataDir:     getenv("GROUPBUY_DATA_DIR"),
		LabelKey:    getenv("GROUPBUY_LABEL_KEY"),
		FontCJK:     getenv("GROUPBUY_FONT_CJK"),
		FontLatin:   getenv("GROUPBUY_FONT_LATIN"),
		DBMaxConns:  20,
		TokenTTL:    5 * time.Second,
		// Two batches in flight: one commits (waiting on the WAL flush) while
		// the next is built; more only split the queue into smaller batches.
		IntakeWorkers: 2,
		RouteBudget:   60 * time.Second,
		SweepEvery:    time.Minute,
	}
	if c.Addr == "" {
		c.Addr = "127.0.0.1:8080"
	}
	if c.LabelKey == "" {
		c.LabelKey = DevLabelKey
	}
	if c.DataDir == "" {
		c.DataDir = ".groupbuy"
	}
	if v := getenv("GROUPBUY_LOG_LEVEL"); v != "" {
		if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
			return c, fmt.Errorf("GROUPBUY_LOG_LEVEL: %w", err)
		}
	}
	if v := getenv("GROUPBUY_DB_MAX_CONNS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return c, fmt.Errorf("GROUPBUY_DB_MAX_CONNS: want a positive integer, got %q", v)
		}
		c.DBMaxConns = n
	}
	if v := getenv("GROUPBUY_INTAKE_WORKERS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 64 {
			return c, fmt.Errorf("GROUPBUY_INTAKE_WORKERS: want 1 to 64, got %q", v)
		}
		c.IntakeWorkers = n
	}
	if v := getenv("GROUPBUY_ROUTE_BUDGET"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return c, fmt.Errorf("GROUPBUY_ROUTE_BUDGET: want a duration between 1s and 1h, got %q", v)
		}
		c.RouteBudget = d
	}
	if v := getenv("GROUPBUY_SWEEP_EVERY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return c, fmt.Errorf("GROUPBUY_SWEEP_EVERY: want a duration of at least 1s, got %q", v)
		}
		c.SweepEvery = d
	}
	if v := getenv("GROUPBUY_DEV_SIMULATE"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 10_000_000 {
			return c, fmt.Errorf("GROUPBUY_DEV_SIMULATE: want a number of order lines, got %q", v)
		}
		c.DevSimulate = n
	}
	if v := getenv("GROUPBUY_TOKEN_CACHE_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return c, fmt.Errorf("GROUPBUY_TOKEN_CACHE_TTL: want a duration such as 5s, got %q", v)
		}
		c.TokenTTL = d
	}
	return c, nil
}
