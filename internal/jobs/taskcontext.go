package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"

	"groupbuy/internal/logctx"
)

// HeaderRequestID is the asynq task header that carries the ID of the
// request (or task) that started a task: the job outbox writes it, the
// TaskContext middleware reads it.
const HeaderRequestID = "request_id"

// TaskContext returns asynq server middleware that puts into the task's
// context the request ID its header carries (one is made up for a task
// without, such as the scheduler's, so the tasks it starts share it), and
// the task's type and ID for the log (see logctx.Handler). The jobs the task
// adds to the outbox carry the same request ID on. It logs each task's end:
// a failure as a warning, a success at debug level.
func TaskContext(log *slog.Logger) asynq.MiddlewareFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(h asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id := t.Headers()[HeaderRequestID]
			if id == "" || len(id) > 64 {
				id = logctx.NewRequestID()
			}
			taskID, _ := asynq.GetTaskID(ctx)
			ctx = logctx.WithTask(logctx.WithRequestID(ctx, id), t.Type(), taskID)
			start := time.Now()
			err := h.ProcessTask(ctx, t)
			if err != nil {
				log.WarnContext(ctx, "task failed", "ms", time.Since(start).Milliseconds(), "err", err)
			} else {
				log.DebugContext(ctx, "task done", "ms", time.Since(start).Milliseconds())
			}
			return err
		})
	}
}
