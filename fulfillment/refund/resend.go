package refund

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
)

// TaskResend is the periodic sweep for refunds the payment system never
// took: still created some minutes after they were made, because their
// publish task ran out of retries while it was down, or no URL was set
// then. Each goes out again under its event's Idempotency-Key, so the
// payment system pays it once however often it hears of it.
const TaskResend = "refund:resend"

// DefaultResendAfter is how old a created refund must be before the sweep
// sends it again: past the first attempts of its own publish task.
const DefaultResendAfter = 15 * time.Minute

type resendPayload struct {
	AfterSeconds int64 `json:"after_seconds"`
}

// NewResendTask is the sweep's task for refunds created more than after
// ago (0: DefaultResendAfter).
func NewResendTask(after time.Duration) *asynq.Task {
	if after <= 0 {
		after = DefaultResendAfter
	}
	b, _ := json.Marshal(resendPayload{AfterSeconds: int64(after / time.Second)})
	return asynq.NewTask(TaskResend, b)
}

// Resend publishes again every refund still created that was made more
// than after ago, oldest first, a batch at a time, and returns how many it
// sent. Without a payment system configured it sends none.
func (p *Payments) Resend(ctx context.Context, after time.Duration) (int, error) {
	if p.hook == nil {
		return 0, nil
	}
	before := p.clock.Now().Add(-after)
	sent, lastID := 0, int64(0)
	for {
		var ids []int64
		// The id cursor never selects a refund twice in one sweep, so one
		// that stays created after its send cannot loop the sweep.
		if err := p.db.SelectContext(ctx, &ids, `SELECT id FROM refunds WHERE state = 'created' AND created_at < $1 AND id > $2
			ORDER BY id LIMIT $3`, before, lastID, publishBatch); err != nil {
			return sent, err
		}
		if len(ids) == 0 {
			return sent, nil
		}
		if err := p.Publish(ctx, ids); err != nil {
			return sent, err
		}
		sent += len(ids)
		lastID = ids[len(ids)-1]
		p.log.InfoContext(ctx, "refunds sent again to the payment system", "refunds", len(ids), "first", ids[0], "last", lastID)
	}
}

func (p *Payments) handleResend(ctx context.Context, t *asynq.Task) error {
	var pl resendPayload
	if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.AfterSeconds <= 0 {
		return fmt.Errorf("%w: bad payload %q", asynq.SkipRetry, t.Payload())
	}
	_, err := p.Resend(ctx, time.Duration(pl.AfterSeconds)*time.Second)
	return err
}
