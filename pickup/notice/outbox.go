package notice

import (
	"context"
	"encoding/json"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"groupbuy/internal/pg"
	"groupbuy/pickup/notify"
)

// Notice is a message to a resident, queued in the outbox in the same
// transaction as the change it announces.
type Notice struct {
	ResidentID int64
	Kind       notify.Kind // one of notify's kinds, each with its template
	// Key makes the notice unique: queuing the same key again does nothing,
	// so a rerun never notifies twice.
	Key     string
	Payload map[string]any
}

// QueueNotices adds notices to the outbox inside tx, skipping keys already
// there, and counts those added in m (nil: not counted) once tx commits.
func QueueNotices(ctx context.Context, tx *sqlx.Tx, m NoticeMetrics, notices []Notice, now time.Time) (int64, error) {
	if len(notices) == 0 {
		return 0, nil
	}
	residents, kinds, keys, payloads := make([]int64, len(notices)), make([]string, len(notices)), make([]string, len(notices)), make([]string, len(notices))
	for i, n := range notices {
		b, err := json.Marshal(n.Payload)
		if err != nil {
			return 0, err
		}
		residents[i], kinds[i], keys[i], payloads[i] = n.ResidentID, string(n.Kind), n.Key, string(b)
	}
	var added []string // the kinds of the rows inserted
	err := tx.SelectContext(ctx, &added, `INSERT INTO outbox (resident_id, kind, dedupe_key, payload, created_at, next_attempt_at)
		SELECT r, k, d, p::jsonb, $5, $5 FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[]) AS t(r, k, d, p)
		ON CONFLICT (dedupe_key) DO NOTHING
		RETURNING kind`, pq.Array(residents), pq.Array(kinds), pq.Array(keys), pq.Array(payloads), now)
	if err != nil {
		return 0, err
	}
	if len(added) > 0 {
		// Counted once the notices are in the outbox for good.
		m = orNoMetrics(m)
		pg.AfterCommit(tx, func() {
			byKind := map[notify.Kind]int{}
			for _, k := range added {
				byKind[notify.Kind(k)]++
			}
			for k, n := range byKind {
				m.NoticesQueued(k, n)
			}
		})
	}
	return int64(len(added)), nil
}
