package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"groupbuy/cmd/internal/config"
	"groupbuy/cmd/internal/demo"
	"groupbuy/cmd/internal/devenv"
	"groupbuy/cmd/internal/webhook"
	"groupbuy/fulfillment"
	"groupbuy/internal/auth"
	"groupbuy/internal/clock"
	"groupbuy/internal/localserver"
	"groupbuy/pickup/notify"
)

// runDev is the embedded default: private PostgreSQL and Redis when none is
// configured, migrations, a demo city on first start, then API and worker in
// one process until Ctrl-C.
func runDev(ctx context.Context, cfg config.Config, log *slog.Logger, stdout io.Writer) error {
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return err
	}
	if cfg.DatabaseURL == "" {
		pg, err := localserver.StartPostgres(ctx, filepath.Join(cfg.DataDir, "pg"), log,
			localserver.WithPostgresSetting("max_connections", "200"))
		if err != nil {
			return fmt.Errorf("start private PostgreSQL: %w", err)
		}
		defer stopServer(pg, log, "PostgreSQL")
		cfg.DatabaseURL = pg.URL()
	}
	if cfg.RedisURL == "" {
		rs, err := localserver.StartRedis(ctx, filepath.Join(cfg.DataDir, "redis"), log)
		if err != nil {
			return fmt.Errorf("start private Redis: %w", err)
		}
		defer stopServer(rs, log, "Redis")
		cfg.RedisURL = rs.URL()
	}
	if n := cfg.Notify; n.WebhookURL == "" && n.SMSKeyID == "" && n.SMTPHost == "" {
		url, stop, err := devNoticeLog(log)
		if err != nil {
			return err
		}
		defer stop()
		cfg.Notify.WebhookURL, cfg.Notify.WebhookSecret = url, devNoticeSecret
	}
	var clk clock.Clock = clock.System{}
	var day *clock.Accelerated
	if cfg.DevDay > 0 {
		day = clock.NewAccelerated(time.Now(), float64(cfg.DevDay))
		clk = day
	}
	var opts []appOption
	if cfg.Notify.SMTPHost == "" {
		opts = append(opts, withSupplierMail(devMail{log}))
	}
	a, err := newApp(ctx, cfg, log, clk, opts...)
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.migrate(ctx); err != nil {
		return err
	}
	var date fulfillment.Date
	if day != nil {
		// The day starts on the evening before its delivery date, so the
		// demo sale published below is that date's.
		if date, err = demo.DayDate(ctx, a.db, clock.System{}); err != nil {
			return err
		}
		day.Set(demo.DayStart(date))
	}
	if err := demo.SeedCity(ctx, a.demoServices()); err != nil {
		return fmt.Errorf("seed demo city: %w", err)
	}
	if n := cfg.DevSimulate; n > 0 {
		spec := demo.SimCity
		spec.Points, spec.SKUs, spec.Lines = max(50, n/200), 300, n
		sum, err := demo.Simulate(ctx, a.db, a.clock, spec)
		switch {
		case errors.Is(err, demo.ErrNightExists):
			log.Info("simulated night already there", "warehouse", spec.Warehouse)
		case err != nil:
			return fmt.Errorf("simulate: %w", err)
		default:
			log.Info("simulated a night", "warehouse", spec.Warehouse, "date", sum.Date, "points", sum.Points, "lines", sum.Lines)
		}
	}
	envPath := filepath.Join(cfg.DataDir, "dev.env")
	leaderToken, adminToken, err := devTokens(ctx, a, envPath)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Warn("address busy, taking a free port", "addr", cfg.Addr, "err", err)
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			return err
		}
	}
	api := "http://" + l.Addr().String()
	// Exported, so that what a developer runs after sourcing it (groupbuy
	// token, curl in a script) sees them.
	env := devenv.Format(devenv.Var{Name: "GROUPBUY_API", Value: api}, devenv.Var{Name: "GROUPBUY_LEADER_TOKEN", Value: leaderToken},
		devenv.Var{Name: "GROUPBUY_ADMIN_TOKEN", Value: adminToken}, devenv.Var{Name: "DATABASE_URL", Value: cfg.DatabaseURL},
		devenv.Var{Name: "REDIS_URL", Value: cfg.RedisURL})
	owner, err := devEnvOwner(cfg.DataDir)
	if err != nil {
		return err
	}
	defer owner.Close()
	where := "written to " + envPath
	if owner.held {
		if err := os.WriteFile(envPath, []byte(env), 0o600); err != nil {
			return err
		}
	} else {
		where = fmt.Sprintf("another groupbuy dev on %s owns %s; it is written there when that one stops", cfg.DataDir, envPath)
	}
	fmt.Fprintf(stdout, "groupbuy dev is running (Ctrl-C stops it)\n\n%s\n%s\ntry: curl -H \"Authorization: Bearer $GROUPBUY_LEADER_TOKEN\" \"$GROUPBUY_API/api/v1/leader/catalog?date=%s\"\n",
		env, where, demo.Tomorrow(a.clock))

	opt := workerOptions{}
	if day != nil {
		opt.sweepEvery = time.Second // a minute of the wall clock is an hour of the day's
	}
	w, err := newWorker(a, opt)
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return serveHTTP(gctx, l, a.handler(), log) })
	g.Go(func() error { return w.run(gctx) })
	if day != nil {
		g.Go(func() error {
			// The API and the worker stay up when the day fails: what it
			// did is there to look at.
			wv, err := devDay(a, day).Run(gctx, date)
			if err != nil && gctx.Err() == nil {
				log.Error("the demo day stopped", "err", err)
			} else if err == nil {
				log.Info("the demo day is over", "wave", wv.ID, "summary", fmt.Sprintf("%s/console/#/wave/%d/summary", api, wv.ID))
			}
			return nil
		})
	}
	if !owner.held {
		g.Go(func() error {
			if owner.await(gctx) {
				log.Info("the other groupbuy dev stopped: dev.env points here now", "path", envPath, "api", api)
				return os.WriteFile(envPath, []byte(env), 0o600)
			}
			return nil
		})
	}
	return g.Wait()
}

// demoServices are the services the demo city is seeded through and its day runs on.
func (a *app) demoServices() demo.Services {
	return demo.Services{DB: a.db, Clock: a.clock, Log: a.log, Pickup: a.pickup, Catalog: a.catalog, Fleet: a.fleet,
		Supply: a.supply, Intake: a.intake, Deliveries: a.deliveries, Desk: a.desk}
}

// devDay is the demo city's day on clk, as `groupbuy dev` runs it: a
// thousand orders at the 200 points, a dock like a real one.
func devDay(a *app, clk *clock.Accelerated) demo.Day {
	return demo.Day{Services: a.demoServices(), Accel: clk, Dock: demo.RealisticDock, Orders: 1000, Seed: 1}
}

// devEnvLock is the lock on a data directory's dev.env: several `groupbuy
// dev` may share a data directory (the second reuses the first one's
// servers), but only the one holding the lock writes dev.env, so it never
// points at an instance that has stopped while another still runs.
type devEnvLock struct {
	f    *os.File
	held bool
}

// devEnvOwner opens the lock file of dir and takes the lock if it is free.
func devEnvOwner(dir string) (*devEnvLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, "dev.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	l := &devEnvLock{f: f}
	l.held = l.try()
	return l, nil
}

// try takes the lock without waiting; the kernel drops it when the process
// ends, however it ends.
func (l *devEnvLock) try() bool {
	return syscall.Flock(int(l.f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// await polls for the lock until it is taken (true) or ctx ends.
func (l *devEnvLock) await(ctx context.Context) bool {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
			if l.held = l.try(); l.held {
				return true
			}
		}
	}
}

// Close releases the lock.
func (l *devEnvLock) Close() error { return l.f.Close() }

// devNoticeSecret signs notices to the dev notice log; it never leaves the machine.
const devNoticeSecret = "groupbuy-dev-notice-log"

// devNoticeLog receives the notices of `groupbuy dev` on loopback when no
// channel is configured, and logs each one once, so a developer sees what
// residents would be told.
func devNoticeLog(log *slog.Logger) (string, func(), error) {
	rc := webhook.NewReceiver(devNoticeSecret)
	rc.OnFirst = func(key string, n webhook.Notice) {
		log.Info("notice to resident", "key", key, "kind", n.Kind, "resident", n.ResidentID, "text", n.Text)
	}
	return webhook.Serve(rc)
}

// devMail stands for the suppliers' e-mail in `groupbuy dev` when no SMTP
// server is configured: it logs each purchase order it would have sent.
type devMail struct{ log *slog.Logger }

func (devMail) Name() string { return notify.ChannelEmail }

func (d devMail) Send(ctx context.Context, m notify.Message) error {
	files := make([]string, len(m.Attachments))
	for i, a := range m.Attachments {
		files[i] = a.Name
	}
	d.log.InfoContext(ctx, "purchase order to supplier", "key", m.Key, "to", m.Email, "files", strings.Join(files, ", "))
	return nil
}

func stopServer(s *localserver.Server, log *slog.Logger, what string) {
	if err := s.Stop(context.Background()); err != nil {
		log.Error("stop "+what, "err", err)
	}
}

// devTokens reuses the tokens in dev.env while they still work, so a restart
// keeps the same ones; otherwise it issues an admin token and a token for the
// first demo leader.
func devTokens(ctx context.Context, a *app, envPath string) (leader, admin string, err error) {
	prev := devenv.Read(envPath)
	// A dev.env written before the admin token had its true name calls it GROUPBUY_OPS_TOKEN.
	leader, admin = prev["GROUPBUY_LEADER_TOKEN"], cmp.Or(prev["GROUPBUY_ADMIN_TOKEN"], prev["GROUPBUY_OPS_TOKEN"])
	if p, err := a.auth.Authenticate(ctx, leader); err != nil || p.Role != auth.RoleLeader {
		var leaderID int64
		if err := a.db.GetContext(ctx, &leaderID, `SELECT leader_id FROM pickup_points ORDER BY id LIMIT 1`); err != nil {
			return "", "", fmt.Errorf("no demo leader: %w", err)
		}
		if leader, err = a.pickup.IssueLeaderToken(ctx, leaderID); err != nil {
			return "", "", err
		}
	}
	if p, err := a.auth.Authenticate(ctx, admin); err != nil || p.Role != auth.RoleAdmin {
		if admin, _, err = auth.IssueToken(ctx, a.db, a.clock.Now(), auth.TokenSpec{Role: auth.RoleAdmin, Name: "dev admin"}); err != nil {
			return "", "", err
		}
	}
	return leader, admin, nil
}
