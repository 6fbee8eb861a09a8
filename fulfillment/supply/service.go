package supply

import (
	"context"
	"log/slog"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/printout"
	"groupbuy/internal/clock"
	"groupbuy/internal/jobs"
	"groupbuy/pickup/notify"
)

// Service runs the supply side's commands, each in one transaction.
type Service struct {
	db    *sqlx.DB
	clock clock.Clock
	jobs  *jobs.Outbox
	log   *slog.Logger
	opt   Options
	night Night
}

// Options tune the supply side; the zero value gives the defaults.
type Options struct {
	// Over-delivery a line may accept beyond what was ordered: the larger of
	// OverPercent of the ordered units (default 10) and OverCases cases
	// (default 1). Negative turns either off. A scan reckons it under its
	// line's lock, in supply_receive.
	OverPercent int64
	OverCases   int64
	// Mail sends purchase orders to suppliers whose channel is e-mail (the
	// notices' SMTP settings); nil: such sends fail until it is configured.
	Mail notify.Channel
	// Webhook tunes the signed webhook purchase orders are posted with.
	Webhook notify.WebhookOptions
	// Fonts returns the printouts' fonts; nil: the Debian default fonts,
	// loaded on first use.
	Fonts func() (*printout.Fonts, error)
}

// Night is what receiving asks of the night's stage pipeline: to start a
// wave's allocation when it is ready (every purchase order closed), inside
// the transaction that made it so. It returns the job to flush after the
// commit, 0 when it started none.
type Night interface {
	AllocateIfReady(ctx context.Context, tx *sqlx.Tx, waveID int64) (int64, error)
}

// NewService returns the supply service.
func NewService(db *sqlx.DB, clk clock.Clock, jobs *jobs.Outbox, log *slog.Logger, opt Options) *Service {
	if opt.OverPercent == 0 {
		opt.OverPercent = 10
	}
	if opt.OverCases == 0 {
		opt.OverCases = 1
	}
	if opt.Webhook.Client == nil {
		// One client for every supplier's webhook, so connections are kept;
		// it keeps to public addresses when they must.
		opt.Webhook.Client = notify.NewWebhookClient(opt.Webhook.PublicOnly)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opt.Fonts == nil {
		opt.Fonts = printout.LazyFonts("", "")
	}
	return &Service{db: db, clock: clk, jobs: jobs, log: log, opt: opt}
}

// SetNight hands the service the stage pipeline that allocates a wave once
// its receiving is done (the pipeline is built with the service, so it
// comes second).
func (s *Service) SetNight(n Night) { s.night = n }
