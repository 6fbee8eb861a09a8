package platform

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// TaskHeaderRequestID is the asynq task header that carries the ID of the
// request (or task) that started a task: the job outbox writes it, the
// TaskContext middleware reads it.
const TaskHeaderRequestID = "request_id"

// NewRequestID returns a random request ID.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// WithRequestID returns ctx carrying a request ID (RequestIDFrom reads it).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

type taskInfoKey struct{}

type taskInfo struct{ typ, id string }

// ContextHandler is a slog.Handler that adds what ctx says about the work
// in hand to every record logged with a context: request_id, and for an
// asynq task its type (task) and ID (task_id). Log with the *Context
// methods (InfoContext…) or Log to have them.
type ContextHandler struct {
	slog.Handler
	hasRequestID bool // a request_id attribute was already added with WithAttrs
}

// NewContextHandler wraps h.
func NewContextHandler(h slog.Handler) *ContextHandler { return &ContextHandler{Handler: h} }

// Handle adds the context's attributes and passes r on.
func (h *ContextHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestIDFrom(ctx); id != "" && !h.hasRequestID {
			r.AddAttrs(slog.String("request_id", id))
		}
		if t, ok := ctx.Value(taskInfoKey{}).(taskInfo); ok {
			r.AddAttrs(slog.String("task", t.typ), slog.String("task_id", t.id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper, noting a request_id given explicitly (the
// HTTP access log's logger has one) so it is not written twice.
func (h *ContextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.hasRequestID
	for _, a := range attrs {
		has = has || a.Key == "request_id"
	}
	return &ContextHandler{Handler: h.Handler.WithAttrs(attrs), hasRequestID: has}
}

// WithGroup keeps the wrapper.
func (h *ContextHandler) WithGroup(name string) slog.Handler {
	return &ContextHandler{Handler: h.Handler.WithGroup(name), hasRequestID: h.hasRequestID}
}

// TaskContext returns asynq server middleware that puts into the task's
// context the request ID its header carries (one is made up for a task
// without, such as the scheduler's, so the tasks it starts share it), and
// the task's type and ID for the log (see ContextHandler). The jobs the task
// adds to the outbox carry the same request ID on. It logs each task's end:
// a failure as a warning, a success at debug level.
func TaskContext(log *slog.Logger) asynq.MiddlewareFunc {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return func(h asynq.Handler) asynq.Handler {
		return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
			id := t.Headers()[TaskHeaderRequestID]
			if id == "" || len(id) > 64 {
				id = NewRequestID()
			}
			taskID, _ := asynq.GetTaskID(ctx)
			ctx = context.WithValue(WithRequestID(ctx, id), taskInfoKey{}, taskInfo{typ: t.Type(), id: taskID})
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
