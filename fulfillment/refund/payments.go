package refund

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/apperr"
	"groupbuy/internal/clock"
	"groupbuy/internal/httpx"
	"groupbuy/internal/input"
	"groupbuy/internal/jobs"
	"groupbuy/internal/pg"
	"groupbuy/pickup/notice"
	"groupbuy/pickup/notify"
)

// TaskPublish tells the operator's payment system of new refunds, one
// refund.created event each. Every command that adds refunds writes one
// into the job outbox in its own transaction, naming the refunds it added.
const TaskPublish = "refund:publish"

// EventCreated is the type of the event a new refund sends.
const EventCreated = "refund.created"

type publishPayload struct {
	IDs []int64 `json:"ids"`
}

// publishBatch bounds the refunds one publish task sends.
const publishBatch = 500

// queuePublish writes the publish tasks of new refunds into the job outbox
// inside tx: one per batch, its task ID named by the batch's first refund,
// which no other batch has.
func queuePublish(ctx context.Context, tx *sqlx.Tx, ids []int64, now time.Time) error {
	for len(ids) > 0 {
		n := min(len(ids), publishBatch)
		b, _ := json.Marshal(publishPayload{IDs: ids[:n]})
		if _, err := jobs.Add(ctx, tx, now, asynq.NewTask(TaskPublish, b), asynq.TaskID(fmt.Sprintf("%s:%d", TaskPublish, ids[0])),
			asynq.MaxRetry(25), asynq.Timeout(5*time.Minute)); err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// Event is the body of a refund.created event: the refund, as the ledger
// lists it when it was made.
type Event struct {
	ID        string    `json:"id"` // also the Idempotency-Key: refund.created:<refund id>
	Type      string    `json:"type"`
	CreatedAt time.Time `json:"created_at"`
	Refund    Refund    `json:"refund"`
}

// eventKey is the idempotency key of a refund's event: the same on every
// attempt, so the payment system pays each refund once however often it
// hears of it.
func eventKey(id int64) string { return EventCreated + ":" + strconv.FormatInt(id, 10) }

// PaymentsOptions configure the link to the operator's payment system.
type PaymentsOptions struct {
	// URL receives the signed refund.created events; "" sends none, and
	// refunds stay created until it is set.
	URL string
	// Secret signs the events and checks the payment system's callbacks
	// (notify's webhook signature: HMAC-SHA256 of timestamp "." body).
	Secret string
	// Window is how far a callback's timestamp may be from now; default 5 min.
	Window time.Duration
	// Webhook tunes the sender (timeouts, retries); zero: notify's defaults.
	Webhook notify.WebhookOptions
	// Notices counts the notices a payment queues; nil: nothing.
	Notices notice.NoticeMetrics
}

// Payments tells the operator's payment system of refunds and takes its
// confirmations: created → submitted when it has the event, → paid or
// failed when it calls back.
type Payments struct {
	db    *sqlx.DB
	clock clock.Clock
	log   *slog.Logger
	opt   PaymentsOptions
	hook  *notify.Webhook
}

// NewPayments returns the payments link over db.
func NewPayments(db *sqlx.DB, clk clock.Clock, log *slog.Logger, opt PaymentsOptions) *Payments {
	if opt.Window <= 0 {
		opt.Window = 5 * time.Minute
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Payments{db: db, clock: clk, log: log, opt: opt}
	if opt.URL != "" {
		if opt.Webhook.Now == nil {
			opt.Webhook.Now = clk.Now
		}
		p.hook = notify.NewWebhook(opt.URL, opt.Secret, opt.Webhook)
	}
	return p
}

// Register adds the publish task's and the resend sweep's handlers to mux.
func (p *Payments) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskResend, p.handleResend)
	mux.HandleFunc(TaskPublish, func(ctx context.Context, t *asynq.Task) error {
		var pl publishPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		return p.Publish(ctx, pl.IDs)
	})
}

// Publish sends the refund.created event of each of the refunds that is
// still created, and marks it submitted once the payment system took it.
// A refund whose event went out but was not marked (a crash in between)
// goes out again under the same Idempotency-Key, which the payment system
// de-duplicates: each refund is paid once.
func (p *Payments) Publish(ctx context.Context, ids []int64) error {
	if p.hook == nil {
		p.log.WarnContext(ctx, "refunds not sent to a payment system: none is configured", "refunds", len(ids))
		return nil
	}
	rows, err := byIDs(ctx, p.db, ids, Created)
	if err != nil {
		return err
	}
	bodies, err := p.events(ctx, rows)
	if err != nil {
		return err
	}
	for _, r := range rows {
		key := eventKey(r.ID)
		if err := p.hook.Post(ctx, key, bodies[r.ID]); notify.IsPermanent(err) {
			// Refused for good (a 4xx): the refund is failed, in the unpaid
			// list for ops, and the refunds after it still go out.
			p.log.ErrorContext(ctx, "the payment system refused a refund", "refund", r.ID, "err", err)
			if _, err := p.db.ExecContext(ctx, `UPDATE refunds SET state = 'failed', failed_at = $2, failure = $3
				WHERE id = $1 AND state = 'created'`, r.ID, p.clock.Now(), refusal(err)); err != nil {
				return err
			}
			continue
		} else if err != nil {
			return fmt.Errorf("refund %d: %w", r.ID, err)
		}
		if _, err := p.db.ExecContext(ctx, `UPDATE refunds SET state = 'submitted', submitted_at = $2 WHERE id = $1 AND state = 'created'`,
			r.ID, p.clock.Now()); err != nil {
			return err
		}
	}
	return nil
}

// events are the refund.created bodies of rows, by refund: each as it was
// first sent, the new ones kept now, in one statement. The key and the body
// are the same on every attempt, whatever was renamed or dropped since.
func (p *Payments) events(ctx context.Context, rows []Refund) (map[int64][]byte, error) {
	ids, bodies := make([]int64, len(rows)), make([]string, len(rows))
	for i, r := range rows {
		r.CreatedAt = r.CreatedAt.UTC()
		b, err := json.Marshal(Event{ID: eventKey(r.ID), Type: EventCreated, CreatedAt: r.CreatedAt, Refund: r})
		if err != nil {
			return nil, err
		}
		ids[i], bodies[i] = r.ID, string(b)
	}
	var kept []struct {
		ID    int64  `db:"id"`
		Event string `db:"event"`
	}
	if err := sqlx.SelectContext(ctx, p.db, &kept, `UPDATE refunds f SET event = coalesce(f.event, n.body)
		FROM unnest($1::bigint[], $2::text[]) AS n(id, body) WHERE f.id = n.id RETURNING f.id, f.event`,
		pq.Array(ids), pq.Array(bodies)); err != nil {
		return nil, err
	}
	out := make(map[int64][]byte, len(kept))
	for _, k := range kept {
		out[k.ID] = []byte(k.Event)
	}
	return out, nil
}

// refusal is the failure recorded for a refund the payment system refused,
// no longer than a callback's failure may be.
func refusal(err error) string {
	return pg.Text("refused by the payment system: "+err.Error(), maxFailure)
}

// maxFailure bounds the failure recorded with a refund: a callback's in
// characters, a refusal's in bytes (so in no more characters).
const maxFailure = 500

// Confirmation is the body of the payment system's callback.
type Confirmation struct {
	RefundID   int64  `json:"refund_id"`
	Status     State  `json:"status"`                // paid or failed
	PaymentRef string `json:"payment_ref,omitempty"` // its id of the payout
	Failure    string `json:"failure,omitempty"`     // why it could not pay
}

// Errors of the payment callback.
var (
	ErrBadSignature = apperr.Errorf(apperr.Unauthorized, "bad_signature", "the callback's signature or timestamp is not valid")
	ErrAlreadyPaid  = apperr.Errorf(apperr.Conflict, "refund_already_paid", "the refund is paid; it cannot fail now")
)

// MaxCallbackBytes bounds a callback's body.
const MaxCallbackBytes = 16 << 10

// Confirm takes a callback of the payment system: its signature (header
// and body, under the shared secret, its timestamp within the window)
// first, then the refund's move to paid or failed in one transaction, with
// the resident's notice when it is paid. A replay answers the refund as it
// is and changes nothing; so does every refusal (the caller logs it).
func (p *Payments) Confirm(ctx context.Context, header http.Header, body []byte) (Refund, error) {
	if p.opt.Secret == "" {
		return Refund{}, ErrBadSignature.With("reason", "no payment secret is configured")
	}
	if err := notify.VerifyWebhook(p.opt.Secret, header, body, p.clock.Now(), p.opt.Window); err != nil {
		return Refund{}, ErrBadSignature
	}
	var c Confirmation
	if err := httpx.DecodeJSONBytes(body, &c); err != nil {
		return Refund{}, err
	}
	if err := c.validate(); err != nil {
		return Refund{}, err
	}
	var out Refund
	err := pg.InTx(ctx, p.db, func(tx *sqlx.Tx) error {
		var state State
		err := tx.GetContext(ctx, &state, `SELECT state FROM refunds WHERE id = $1 FOR NO KEY UPDATE`, c.RefundID)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		now := p.clock.Now()
		switch {
		case state == c.Status:
			// A replay: the refund stays as the first callback left it.
		case state == Paid:
			return ErrAlreadyPaid
		case c.Status == Paid:
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET state = 'paid', paid_at = $2, payment_ref = $3,
				submitted_at = coalesce(submitted_at, $2) WHERE id = $1`, c.RefundID, now, c.PaymentRef); err != nil {
				return err
			}
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE refunds SET state = 'failed', failed_at = $2, failure = $3,
				payment_ref = $4, submitted_at = coalesce(submitted_at, $2) WHERE id = $1`, c.RefundID, now, c.Failure, c.PaymentRef); err != nil {
				return err
			}
		}
		if out, err = Get(ctx, tx, c.RefundID); err != nil {
			return err
		}
		if out.State != Paid {
			return nil
		}
		// Keyed by the refund: the replay of a paid callback queues nothing.
		_, err = notice.QueueNotices(ctx, tx, p.opt.Notices, []notice.Notice{PaidNotice(out)}, now)
		return err
	})
	return out, err
}

func (c *Confirmation) validate() error {
	switch {
	case c.RefundID <= 0:
		return apperr.InvalidField("refund_id", "refund_id must be a positive integer")
	case c.Status != Paid && c.Status != Failed:
		return apperr.InvalidField("status", "status must be paid or failed")
	}
	if err := input.CheckOptionalText("payment_ref", c.PaymentRef, 100); err != nil {
		return err
	}
	return input.CheckOptionalText("failure", c.Failure, maxFailure)
}

// PaidNotice tells the resident a refund reached their money.
func PaidNotice(r Refund) notice.Notice {
	items := []NoticeItem{{OrderID: r.OrderID, SKU: r.SKU, Name: r.Name, Quantity: r.Quantity, AmountFen: r.AmountFen, Reason: r.Reason}}
	vars := map[string]string{"items": ItemsText(items), "amount": notify.Yuan(r.AmountFen), "reason": r.Reason.Text()}
	return notice.Notice{ResidentID: r.ResidentID, Kind: notify.KindRefundPaid, Key: "refund:paid:" + strconv.FormatInt(r.ID, 10),
		Payload: map[string]any{"vars": vars, "delivery_date": r.DeliveryDate.String(), "items": items, "amount_fen": r.AmountFen,
			"refund_id": r.ID}}
}
