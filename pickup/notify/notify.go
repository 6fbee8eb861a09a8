// Package notify delivers notices to residents of a group-buy operator over
// one of several channels (signed webhook, Aliyun SMS, e-mail) behind a
// single Channel interface. It keeps no state of its own: a dispatcher
// decides what to send and when, and retries what these channels report as
// transient.
package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Message is one notice ready to send.
type Message struct {
	Key        string            // idempotency key, stable across every retry of this notice (e.g. "arrival:2026-12-01:7:42")
	Kind       Kind              // arrival, reminder, refund, return
	ResidentID int64             // whom the notice is for
	Phone      string            // SMS target
	Email      string            // e-mail target; "" when unknown
	Name       string            // resident's name
	Text       string            // the rendered Chinese text (see Render)
	Vars       map[string]string // the template variables, e.g. SMS template parameters
	Payload    json.RawMessage   // structured data, sent as is in the webhook body
	CreatedAt  time.Time         // when the notice was queued (UTC)
	// Attachments go with an e-mail as files (a supplier's purchase order
	// as PDF and CSV); the other channels carry what they need in Payload.
	Attachments []Attachment
}

// Attachment is a file sent with an e-mail.
type Attachment struct {
	Name        string // the file name, e.g. PO-WH-20261201-001.pdf
	ContentType string // e.g. application/pdf
	Content     []byte
}

// Channel delivers messages one way.
type Channel interface {
	Name() string // "webhook", "sms" or "email"
	Send(ctx context.Context, m Message) error
}

// Channel names, as answered by Name. A dispatcher applies QuietHours only
// to ChannelSMS: a text message buzzes a phone at night, a webhook or an
// e-mail does not.
const (
	ChannelWebhook = "webhook"
	ChannelSMS     = "sms"
	ChannelEmail   = "email"
)

// ErrNotApplicable means the channel cannot reach this resident (e.g. no
// e-mail address); the caller moves on to the next channel without counting
// a failure.
var ErrNotApplicable = errors.New("notify: channel not applicable to this resident")

// ErrNoChannel means SendFirst found no channel it was allowed to try and
// that could reach the resident. It comes back marked permanent: retrying
// the same notice cannot change that.
var ErrNoChannel = errors.New("notify: no channel can reach the resident")

// permanence is answered by errors that know whether a retry could help;
// IsPermanent asks the first one it finds in an error's tree.
type permanence interface {
	Permanent() bool
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// Permanent wraps an error that retrying will not fix (HTTP 4xx except
// 408/429, a bad address, a template the provider rejects...). Permanent(nil)
// is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err says retrying will not help. The first
// error in err's tree that knows its permanence decides, so the joined
// failures of SendFirst, permanent only when all of them are, are not
// mistaken for permanent because one part is.
func IsPermanent(err error) bool {
	var p permanence
	return errors.As(err, &p) && p.Permanent()
}

// failures joins the errors of every channel SendFirst tried.
type failures struct {
	errs      []error
	permanent bool
}

func (f *failures) Error() string {
	msgs := make([]string, len(f.errs))
	for i, err := range f.errs {
		msgs[i] = err.Error()
	}
	return "notify: every channel failed: " + strings.Join(msgs, "; ")
}

func (f *failures) Unwrap() []error { return f.errs }
func (f *failures) Permanent() bool { return f.permanent }

// SendFirst tries chans in order and returns the name of the first one that
// delivers m. It passes over channels skip names (the resident opted out;
// skip may be nil) and those answering ErrNotApplicable. When every tried
// channel fails it returns their errors joined, permanent only if each of
// them was; when none could be tried it returns a permanent ErrNoChannel.
func SendFirst(ctx context.Context, chans []Channel, m Message, skip func(channel string) bool) (used string, err error) {
	f := &failures{permanent: true}
	for _, ch := range chans {
		name := ch.Name()
		if skip != nil && skip(name) {
			continue
		}
		if err := ctx.Err(); err != nil {
			// Out of time: the notice is still owed, so this is not permanent.
			f.errs = append(f.errs, err)
			f.permanent = false
			break
		}
		err := ch.Send(ctx, m)
		if err == nil {
			return name, nil
		}
		if errors.Is(err, ErrNotApplicable) {
			continue
		}
		f.errs = append(f.errs, fmt.Errorf("%s: %w", name, err))
		f.permanent = f.permanent && IsPermanent(err)
	}
	if len(f.errs) == 0 {
		return "", Permanent(ErrNoChannel)
	}
	return "", f
}
