package notify

import (
	"context"
	"sync"
)

// Recorder is a test double, not for production: a Channel that keeps every
// message it delivers in memory, so other packages' tests can check what
// would have been sent. Its name is configurable so it can stand in for any
// real channel, and FailWith makes it fail.
type Recorder struct {
	name string

	mu       sync.Mutex
	err      error
	sent     []Message
	attempts int
}

// NewRecorder returns a Recorder answering to name, e.g. ChannelSMS.
func NewRecorder(name string) *Recorder { return &Recorder{name: name} }

// Name returns the name given to NewRecorder.
func (r *Recorder) Name() string { return r.name }

// FailWith makes every later Send return err instead of recording; nil
// makes it deliver again. Wrap err with Permanent or use ErrNotApplicable to
// play those cases.
func (r *Recorder) FailWith(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Send records m, or returns the error set by FailWith.
func (r *Recorder) Send(ctx context.Context, m Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts++
	if r.err != nil {
		return r.err
	}
	r.sent = append(r.sent, m)
	return nil
}

// Messages returns a copy of the messages delivered so far, in order.
func (r *Recorder) Messages() []Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Message(nil), r.sent...)
}

// Attempts returns how many times Send was called, failures included.
func (r *Recorder) Attempts() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.attempts
}
