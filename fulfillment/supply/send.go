package supply

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/stock"
	"groupbuy/internal/pg"
	"groupbuy/pickup/notify"
)

// Task types of the supply side.
const (
	// TaskSendPurchaseOrder sends one purchase order to its supplier, once
	// per send row (payload {"purchase_order_id", "seq"}).
	TaskSendPurchaseOrder = "supply:send-purchase-order"
	// TaskExpireLots writes off the lots past their expiry date, every hour.
	TaskExpireLots = "supply:expire-lots"
)

// KindPurchaseOrder is the kind of message a supplier's channel gets: the
// webhook's "kind", the e-mail's subject key.
const KindPurchaseOrder notify.Kind = "purchase_order"

type sendPayload struct {
	PurchaseOrderID int64 `json:"purchase_order_id"`
	Seq             int64 `json:"seq"`
}

// Register adds the supply side's task handlers to mux.
func (s *Service) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TaskSendPurchaseOrder, s.handleSend)
	mux.HandleFunc(TaskExpireLots, func(ctx context.Context, _ *asynq.Task) error {
		_, err := stock.WriteOffExpired(ctx, s.db, s.clock)
		return err
	})
}

// queueSend records a send of a purchase order and adds its job inside tx.
func (s *Service) queueSend(ctx context.Context, tx *sqlx.Tx, poID, seq int64, by string, now time.Time) (int64, error) {
	if _, err := tx.ExecContext(ctx, `INSERT INTO purchase_order_sends (purchase_order_id, seq, requested_by, requested_at)
		VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`, poID, seq, by, now); err != nil {
		return 0, err
	}
	b, _ := json.Marshal(sendPayload{PurchaseOrderID: poID, Seq: seq})
	return s.jobs.Add(ctx, tx, asynq.NewTask(TaskSendPurchaseOrder, b), asynq.TaskID(fmt.Sprintf("po:send:%d:%d", poID, seq)),
		asynq.MaxRetry(12), asynq.Timeout(time.Minute), asynq.Retention(48*time.Hour))
}

// Resend sends a purchase order to its supplier again: an explicit act of
// ops, recorded as the order's next send.
func (s *Service) Resend(ctx context.Context, poID int64, by string) (PurchaseOrder, error) {
	var out PurchaseOrder
	err := pg.InTx(ctx, s.db, func(tx *sqlx.Tx) error {
		if _, err := s.lockOpen(ctx, tx, poID); err != nil && !errors.Is(err, ErrClosed) {
			return err
		}
		var seq int64
		if err := tx.GetContext(ctx, &seq, `SELECT coalesce(max(seq), 0) + 1 FROM purchase_order_sends WHERE purchase_order_id = $1`, poID); err != nil {
			return err
		}
		if err := s.sendAfterCommit(ctx, tx, poID, seq, by); err != nil {
			return err
		}
		var err error
		out, err = GetPurchaseOrder(ctx, tx, poID)
		return err
	})
	return out, err
}

// sendAfterCommit queues one send of a purchase order inside tx and hands
// its job to Redis once tx has committed.
func (s *Service) sendAfterCommit(ctx context.Context, tx *sqlx.Tx, poID, seq int64, by string) error {
	job, err := s.queueSend(ctx, tx, poID, seq, by, s.clock.Now())
	if err == nil {
		s.jobs.FlushOnCommit(ctx, tx, job)
	}
	return err
}

// errNotSentSuperseded is the last error of a send its order's revision made
// moot.
const errNotSentSuperseded = "not sent: a newer version of the order replaced it"

// handleSend sends one send row of a purchase order unless it went out
// already. A process killed between the send and its record sends again
// with the same key, which the supplier de-duplicates.
func (s *Service) handleSend(ctx context.Context, t *asynq.Task) error {
	var p sendPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	// The order's row is held (FOR SHARE) across the post: a revision,
	// which locks it FOR UPDATE, waits for a send in flight, and a send
	// after a revision sees it. A superseded version is never posted after
	// its successor. The record is written even when the task's context
	// ends, so what went out is not sent again.
	var sendErr error
	err := pg.InTx(context.WithoutCancel(ctx), s.db, func(tx *sqlx.Tx) error {
		sendErr = nil
		var send struct {
			SentAt sql.NullTime `db:"sent_at"`
			Latest bool         `db:"latest"`
		}
		// The lock first, then the check in a statement of its own: its
		// snapshot is taken after a revision waited for has committed.
		if _, err := tx.ExecContext(ctx, `SELECT 1 FROM purchase_orders WHERE id = $1 FOR SHARE`, p.PurchaseOrderID); err != nil {
			return err
		}
		err := tx.GetContext(ctx, &send, `SELECT x.sent_at, `+isLatest+` AS latest
			FROM purchase_order_sends x JOIN purchase_orders o ON o.id = x.purchase_order_id
			WHERE x.purchase_order_id = $1 AND x.seq = $2`, p.PurchaseOrderID, p.Seq)
		if errors.Is(err, sql.ErrNoRows) || send.SentAt.Valid {
			return nil
		}
		if err != nil {
			return err
		}
		// A version revised before its send went out is not sent: the
		// supplier would get two orders for one wave. The newer version has
		// its own send.
		if !send.Latest {
			_, err := tx.ExecContext(ctx, `UPDATE purchase_order_sends SET last_error = $3
				WHERE purchase_order_id = $1 AND seq = $2 AND sent_at IS NULL`, p.PurchaseOrderID, p.Seq, errNotSentSuperseded)
			return err
		}
		msg, sup, err := s.message(ctx, tx, p.PurchaseOrderID, p.Seq)
		if err != nil {
			return err
		}
		var ch notify.Channel
		switch sup.Channel {
		case ChannelWebhook:
			ch = notify.NewWebhook(sup.WebhookURL, sup.WebhookSecret, s.opt.Webhook)
		case ChannelEmail:
			ch = s.opt.Mail
		}
		if ch == nil {
			sendErr = notify.Permanent(fmt.Errorf("supply: no %s channel is configured for supplier %s", sup.Channel, sup.Code))
		} else {
			sendErr = ch.Send(ctx, msg)
		}
		var lastErr string
		if sendErr != nil {
			lastErr = pg.Text(sendErr.Error(), 1000)
		}
		_, err = tx.ExecContext(context.WithoutCancel(ctx), `UPDATE purchase_order_sends SET attempts = attempts + 1, last_error = $3,
			sent_at = CASE WHEN $3 = '' THEN $4::timestamptz END, channel = $5, refused_at = CASE WHEN $6 THEN $4::timestamptz END
			WHERE purchase_order_id = $1 AND seq = $2 AND sent_at IS NULL`, p.PurchaseOrderID, p.Seq, lastErr, s.clock.Now(), sup.Channel,
			sendErr != nil && notify.IsPermanent(sendErr))
		return err
	})
	if err != nil {
		return err
	}
	if sendErr != nil && notify.IsPermanent(sendErr) {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, sendErr)
	}
	return sendErr
}

// message is what a supplier gets: the order as text, its PDF and CSV as
// e-mail attachments, and for the webhook the order, its CSV and its PDF
// (base64) as the payload. Without fonts the PDF is left out rather than
// holding the order back: the CSV carries every line.
func (s *Service) message(ctx context.Context, q sqlx.QueryerContext, poID, seq int64) (notify.Message, Supplier, error) {
	po, sheet, err := orderSheet(ctx, q, poID)
	if err != nil {
		return notify.Message{}, Supplier{}, err
	}
	p, err := placeOf(ctx, q, po.SupplierID, po.WarehouseID)
	if err != nil {
		return notify.Message{}, Supplier{}, err
	}
	csv := sheet.CSV()
	var pdf []byte
	if f, err := s.Fonts(); err != nil {
		s.log.Warn("purchase order sent without its PDF", "purchase_order", po.Number, "err", err)
	} else if pdf, err = sheet.PDF(f); err != nil {
		return notify.Message{}, Supplier{}, err
	}
	text := fmt.Sprintf("%s 采购单 %s：%d 种商品共 %d 件，合计 %s 元，请于 %s 送达 %s（%s）。",
		p.sup.Name, po.Number, len(po.Lines), po.Units, notify.Yuan(po.AmountFen), sheet.ExpectedAt.Format("2006-01-02 15:04"), p.wh.Name, p.wh.Address)
	payload, err := json.Marshal(struct {
		PurchaseOrder PurchaseOrder `json:"purchase_order"`
		CSV           string        `json:"csv"`
		PDF           []byte        `json:"pdf,omitempty"`
	}{po, string(csv), pdf})
	if err != nil {
		return notify.Message{}, Supplier{}, err
	}
	files := []notify.Attachment{{Name: po.Number + ".csv", ContentType: "text/csv; charset=utf-8", Content: csv}}
	if pdf != nil {
		files = append(files, notify.Attachment{Name: po.Number + ".pdf", ContentType: "application/pdf", Content: pdf})
	}
	return notify.Message{Key: po.Number + ":" + strconv.FormatInt(seq, 10), Kind: KindPurchaseOrder, Name: p.sup.Name, Email: p.sup.Email,
		Text: text, Payload: payload, Attachments: files, CreatedAt: s.clock.Now()}, p.sup, nil
}
