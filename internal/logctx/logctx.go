// Package logctx carries what a log line should say about the work in hand
// (the request ID, the asynq task) in a context, and the slog handler that
// adds it to every record logged with that context.
package logctx

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// NewRequestID returns a random request ID.
func NewRequestID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	taskInfoKey
	actorKey
)

// WithActor returns ctx naming who acts in it (a token's role and name),
// for the records that say who did what (a wave's timeline).
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey, actor)
}

// Actor returns who acts in ctx; "" for the system itself (a scheduled
// task, the worker).
func Actor(ctx context.Context) string {
	a, _ := ctx.Value(actorKey).(string)
	return a
}

// WithRequestID returns ctx carrying a request ID (RequestID reads it).
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey, id)
}

// RequestID returns the request ID carried by ctx, if any.
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

type taskInfo struct{ typ, id string }

// WithTask returns ctx naming the asynq task in hand, its type and ID, for
// the log (see Handler).
func WithTask(ctx context.Context, typ, id string) context.Context {
	return context.WithValue(ctx, taskInfoKey, taskInfo{typ: typ, id: id})
}

// Handler is a slog.Handler that adds what ctx says about the work
// in hand to every record logged with a context: request_id, and for an
// asynq task its type (task) and ID (task_id). Log with the *Context
// methods (InfoContext…) or Log to have them.
type Handler struct {
	slog.Handler
	hasRequestID bool // a request_id attribute was already added with WithAttrs
}

// NewHandler wraps h.
func NewHandler(h slog.Handler) *Handler { return &Handler{Handler: h} }

// Handle adds the context's attributes and passes r on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if id := RequestID(ctx); id != "" && !h.hasRequestID {
			r.AddAttrs(slog.String("request_id", id))
		}
		if t, ok := ctx.Value(taskInfoKey).(taskInfo); ok {
			r.AddAttrs(slog.String("task", t.typ), slog.String("task_id", t.id))
		}
	}
	return h.Handler.Handle(ctx, r)
}

// WithAttrs keeps the wrapper, noting a request_id given explicitly (the
// HTTP access log's logger has one) so it is not written twice.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	has := h.hasRequestID
	for _, a := range attrs {
		has = has || a.Key == "request_id"
	}
	return &Handler{Handler: h.Handler.WithAttrs(attrs), hasRequestID: has}
}

// WithGroup keeps the wrapper.
func (h *Handler) WithGroup(name string) slog.Handler {
	return &Handler{Handler: h.Handler.WithGroup(name), hasRequestID: h.hasRequestID}
}
