package notice

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/pickup"
	"groupbuy/pickup/notify"
)

// outboxFixture is a point with residents and a notice queued for each.
type outboxFixture struct {
	db        *sqlx.DB
	svc       *pickup.Service
	clock     *clock.Manual
	leader    int64
	residents []int64
}

func newOutboxFixture(t *testing.T, residents int, at time.Time) *outboxFixture {
	t.Helper()
	ctx := context.Background()
	db := testenv.DB(t)
	clock := clock.NewManual(at)
	s := pickup.NewService(db, clock)
	w := newTestWarehouse(t, s, "SH", 31.2, 121.4)
	pc, err := s.SavePoint(ctx, pointInput(1, w.ID, 31.2, 121.41))
	if err != nil {
		t.Fatal(err)
	}
	f := &outboxFixture{db: db, svc: s, clock: clock, leader: pc.Point.LeaderID}
	var people []pickup.NewResident
	for i := range residents {
		people = append(people, pickup.NewResident{Phone: fmt.Sprintf("1370000%04d", i), Name: fmt.Sprintf("居民%d", i), PointID: pc.Point.ID})
	}
	err = pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		got, err := pickup.EnsureResidents(ctx, tx, people, at)
		if err != nil {
			return err
		}
		var notices []Notice
		for _, p := range people {
			r := got[pickup.ResidentKey{PointID: p.PointID, Phone: p.Phone}]
			f.residents = append(f.residents, r.ID)
			notices = append(notices, Notice{ResidentID: r.ID, Kind: notify.KindArrival, Key: fmt.Sprintf("arrival:2026-12-01:%d", r.ID),
				Payload: map[string]any{"vars": map[string]string{"point": "点1", "code": "123456", "hours": "08:00-21:00", "address": "路1号"}}})
		}
		// Queuing the same keys again adds nothing.
		for range 2 {
			if _, err := QueueNotices(ctx, tx, nil, notices, at); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *outboxFixture) dispatcher(chans ...notify.Channel) *Dispatcher {
	return NewDispatcher(f.db, f.clock, chans, nil, notify.DefaultQuietHours(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		DispatchOptions{Batch: 7, Concurrency: 4})
}

type outboxRow struct {
	Kind     string     `db:"kind"`
	Attempts int        `db:"attempts"`
	Channel  string     `db:"channel"`
	SentAt   *time.Time `db:"sent_at"`
	FailedAt *time.Time `db:"failed_at"`
	Next     time.Time  `db:"next_attempt_at"`
	LastErr  string     `db:"last_error"`
}

func (f *outboxFixture) rows(t *testing.T) []outboxRow {
	t.Helper()
	var out []outboxRow
	if err := f.db.Select(&out, `SELECT kind, attempts, channel, sent_at, failed_at, next_attempt_at, last_error FROM outbox ORDER BY id`); err != nil {
		t.Fatal(err)
	}
	return out
}

// 20:30 in Shanghai: not quiet yet.
var eveningShanghai = time.Date(2026, 12, 1, 12, 30, 0, 0, time.UTC)

func TestDispatchSendsEachNoticeOnceThroughTheFirstChannelThatWorks(t *testing.T) {
	f := newOutboxFixture(t, 20, eveningShanghai)
	hook, sms := notify.NewRecorder(notify.ChannelWebhook), notify.NewRecorder(notify.ChannelSMS)
	hook.FailWith(errors.New("receiver down"))
	// pickup.Resident 0 refuses SMS: with the webhook down, their notice must wait, not go by SMS.
	if _, err := f.svc.SetContact(context.Background(), f.leader, pickup.Contact{ResidentID: f.residents[0], OptedOut: []string{"sms"}}); err != nil {
		t.Fatal(err)
	}
	d := f.dispatcher(hook, sms)
	// Two dispatchers at once (two workers) claim disjoint rows.
	var wg sync.WaitGroup
	for _, d := range []*Dispatcher{d, f.dispatcher(hook, sms)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := d.Run(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	msgs := sms.Messages()
	seen := map[string]bool{}
	for _, m := range msgs {
		if seen[m.Key] {
			t.Fatalf("notice %s sent twice", m.Key)
		}
		seen[m.Key] = true
		if m.Text != "您的订单已到达点1，提货码123456，营业时间08:00-21:00，地址路1号。" || m.Phone == "" {
			t.Fatalf("message %+v", m)
		}
	}
	if len(msgs) != 19 || seen[fmt.Sprintf("arrival:2026-12-01:%d", f.residents[0])] {
		t.Fatalf("%d sent by SMS, want 19 (all but the resident who opted out)", len(msgs))
	}
	rows := f.rows(t)
	if len(rows) != 20 || rows[0].SentAt != nil || rows[0].Attempts != 1 || !rows[0].Next.Equal(eveningShanghai.Add(10*time.Second)) || rows[0].LastErr == "" {
		t.Fatalf("the opted-out resident's notice: %+v", rows[0])
	}
	for _, r := range rows[1:] {
		if r.SentAt == nil || r.Channel != notify.ChannelSMS {
			t.Fatalf("row %+v", r)
		}
	}
	// The webhook comes back: after the backoff the last notice goes through it.
	hook.FailWith(nil)
	f.clock.Advance(9 * time.Second)
	if res, _ := d.Run(context.Background()); res.Sent != 0 {
		t.Fatalf("sent before its backoff: %+v", res)
	}
	f.clock.Advance(time.Second)
	if res, _ := d.Run(context.Background()); res.Sent != 1 || len(hook.Messages()) != 1 {
		t.Fatalf("after the backoff: %+v", res)
	}
	if r := f.rows(t)[0]; r.Channel != notify.ChannelWebhook || r.Attempts != 2 {
		t.Fatalf("retried row %+v", r)
	}
}

func TestSMSWaitsOutQuietHoursInTheWarehouseTimeZone(t *testing.T) {
	at := time.Date(2026, 12, 1, 14, 0, 0, 0, time.UTC) // 22:00 in Shanghai
	f := newOutboxFixture(t, 3, at)
	sms := notify.NewRecorder(notify.ChannelSMS)
	d := f.dispatcher(sms)
	res, err := d.Run(context.Background())
	if err != nil || res.Deferred != 3 || len(sms.Messages()) != 0 {
		t.Fatalf("at 22:00: %+v %v, %d sent", res, err, len(sms.Messages()))
	}
	morning := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC) // 08:00 in Shanghai
	for _, r := range f.rows(t) {
		if r.SentAt != nil || r.FailedAt != nil || !r.Next.Equal(morning) || r.Attempts != 0 {
			t.Fatalf("deferred row %+v, want due at %s with no attempt counted", r, morning)
		}
	}
	f.clock.Set(morning.Add(-time.Minute))
	if res, _ := d.Run(context.Background()); res.Sent+res.Deferred != 0 {
		t.Fatalf("at 07:59: %+v", res)
	}
	f.clock.Set(morning)
	if res, _ := d.Run(context.Background()); res.Sent != 3 {
		t.Fatalf("at 08:00: %+v", res)
	}
	// A webhook is no text message: quiet hours do not hold it back.
	f2 := newOutboxFixture(t, 2, at)
	hook := notify.NewRecorder(notify.ChannelWebhook)
	if res, _ := f2.dispatcher(hook, notify.NewRecorder(notify.ChannelSMS)).Run(context.Background()); res.Sent != 2 {
		t.Fatalf("webhook at 22:00: %+v", res)
	}
}

func TestPermanentFailuresAndExhaustedRetriesStop(t *testing.T) {
	f := newOutboxFixture(t, 2, eveningShanghai)
	ch := notify.NewRecorder(notify.ChannelWebhook)
	ch.FailWith(notify.Permanent(errors.New("400 bad request")))
	d := f.dispatcher(ch)
	if res, _ := d.Run(context.Background()); res.Failed != 2 {
		t.Fatalf("permanent: %+v", res)
	}
	for _, r := range f.rows(t) {
		if r.FailedAt == nil || r.SentAt != nil {
			t.Fatalf("row %+v", r)
		}
	}
	// A transient failure is retried with growing backoff, then given up.
	f2 := newOutboxFixture(t, 1, eveningShanghai)
	ch2 := notify.NewRecorder(notify.ChannelWebhook)
	ch2.FailWith(errors.New("timeout"))
	d2 := NewDispatcher(f2.db, f2.clock, []notify.Channel{ch2}, nil, notify.DefaultQuietHours(), slog.New(slog.NewTextHandler(io.Discard, nil)),
		DispatchOptions{MaxAttempts: 4})
	var waits []time.Duration
	for range 4 {
		before := f2.clock.Now()
		if _, err := d2.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		r := f2.rows(t)[0]
		waits = append(waits, r.Next.Sub(before))
		f2.clock.Set(r.Next)
	}
	r := f2.rows(t)[0]
	if r.FailedAt == nil || r.Attempts != 4 || ch2.Attempts() != 4 || waits[0] != 10*time.Second || waits[1] != 20*time.Second || waits[2] != 40*time.Second {
		t.Fatalf("after 4 attempts: %+v, waits %v", r, waits)
	}
}

func TestContactRules(t *testing.T) {
	f := newOutboxFixture(t, 1, eveningShanghai)
	ctx := context.Background()
	for _, c := range []pickup.Contact{
		{ResidentID: f.residents[0], Email: "not an address"},
		{ResidentID: f.residents[0], OptedOut: []string{"pigeon"}},
		{ResidentID: f.residents[0], OptedOut: []string{"sms", "sms"}},
	} {
		var e *apperr.Error
		if _, err := f.svc.SetContact(ctx, f.leader, c); !errors.As(err, &e) || e.Kind != apperr.Invalid {
			t.Fatalf("%+v: %v", c, err)
		}
	}
	if _, err := f.svc.SetContact(ctx, f.leader+1000, pickup.Contact{ResidentID: f.residents[0]}); !errors.Is(err, pickup.ErrResidentNotFound) {
		t.Fatalf("another leader's resident: %v", err)
	}
	if _, err := f.svc.SetContact(ctx, f.leader, pickup.Contact{ResidentID: f.residents[0], Email: "zhang@example.com", OptedOut: []string{"sms"}}); err != nil {
		t.Fatal(err)
	}
	email := notify.NewRecorder(notify.ChannelEmail)
	if res, _ := f.dispatcher(notify.NewRecorder(notify.ChannelSMS), email).Run(ctx); res.Sent != 1 || len(email.Messages()) != 1 {
		t.Fatalf("opted out of SMS: %+v", res)
	}
}

// cancelAfter delivers, and cancels the task's context after n deliveries,
// as asynq does at a deploy's shutdown or when it loses the task's lease.
type cancelAfter struct {
	*notify.Recorder
	mu     sync.Mutex
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Send(ctx context.Context, m notify.Message) error {
	err := c.Recorder.Send(ctx, m)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n--; err == nil && c.n == 0 {
		c.cancel()
	}
	return err
}

// TestNoticesSentAreRecordedWhenTheTaskEnds: the task's context ends after
// two of five notices went out; those two are recorded as sent, and the
// next run sends the other three, none twice.
func TestNoticesSentAreRecordedWhenTheTaskEnds(t *testing.T) {
	f := newOutboxFixture(t, 5, eveningShanghai)
	ctx, cancel := context.WithCancel(context.Background())
	ch := &cancelAfter{Recorder: notify.NewRecorder(notify.ChannelWebhook), n: 2, cancel: cancel}
	d := f.dispatcher(ch)
	d.Run(ctx) // ends with the context's error
	sent := 0
	for _, r := range f.rows(t) {
		if r.SentAt != nil {
			sent++
		}
	}
	if delivered := len(ch.Messages()); sent != delivered || sent < 2 {
		t.Fatalf("%d delivered, %d recorded as sent", delivered, sent)
	}
	f.clock.Advance(time.Minute + time.Second) // past the lease
	if _, err := d.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for _, m := range ch.Messages() {
		count[m.Key]++
	}
	if len(count) != 5 || len(ch.Messages()) != 5 {
		t.Fatalf("%d deliveries of %d notices, want each of 5 once: %v", len(ch.Messages()), len(count), count)
	}
}

// failsKey fails the notice with key with err and delivers the others.
type failsKey struct {
	*notify.Recorder
	key string
	err error
}

func (c failsKey) Send(ctx context.Context, m notify.Message) error {
	if m.Key == c.key {
		return c.err
	}
	return c.Recorder.Send(ctx, m)
}

// TestAProvidersChineseErrorIsRecorded: providers answer in Chinese, and
// an error cut at a byte count (the webhook keeps 256 bytes of the
// receiver's body, the outbox 500 of the error) cuts a character in half.
// Stored as it was, PostgreSQL refused it and the batch's record with it:
// the notices that went out were not marked sent and went out again every
// lease. Now each is recorded once, the failing one with its error.
func TestAProvidersChineseErrorIsRecorded(t *testing.T) {
	for name, err := range map[string]error{
		"a receiver's body": notify.Permanent(fmt.Errorf("notify: webhook: 400 Bad Request: %s\xe5\x8f", strings.Repeat("服务暂时不可用", 12))),
		"a long error, cut": fmt.Errorf("isv.BUSINESS_LIMIT_CONTROL: %s\x00", strings.Repeat("触发号码分钟级流控", 30)),
	} {
		t.Run(name, func(t *testing.T) {
			f := newOutboxFixture(t, 3, eveningShanghai)
			ch := failsKey{Recorder: notify.NewRecorder(notify.ChannelWebhook), key: fmt.Sprintf("arrival:2026-12-01:%d", f.residents[0]), err: err}
			d := f.dispatcher(ch)
			for range 2 {
				if _, err := d.Run(context.Background()); err != nil {
					t.Fatalf("run: %v", err)
				}
				f.clock.Advance(2 * time.Minute) // past the lease and the backoff
			}
			if n := len(ch.Messages()); n != 2 {
				t.Fatalf("%d notices delivered, want the other 2 once each", n)
			}
			rows := f.rows(t)
			for i, r := range rows[1:] {
				if r.SentAt == nil {
					t.Errorf("notice of resident %d delivered but not recorded as sent: %+v", i+1, r)
				}
			}
			if rows[0].LastErr == "" || !utf8.ValidString(rows[0].LastErr) {
				t.Errorf("the failing notice's error: %q", rows[0].LastErr)
			}
		})
	}
}
