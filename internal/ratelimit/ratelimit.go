// Package ratelimit counts events per key in fixed windows in Redis, shared
// by every process, and never stops the work it guards when Redis fails.
package ratelimit

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"groupbuy/internal/apperr"
)

// Limiter counts events per key in fixed windows in Redis, so every API
// process shares one count: e.g. wrong pickup codes per leader per minute.
//
// A limit must never stop the work it guards: when Redis fails, the limiter
// lets everything through uncounted, skips Redis for a few seconds so a dead
// server does not add its timeout to every request, and warns once a minute.
// A limit that keeps a secret from being guessed is made with
// RefuseWhileBusy.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int64
	window time.Duration
	log    *slog.Logger

	refuseWhileBusy bool

	skipUntil  atomic.Int64 // wall clock, Unix nanoseconds
	warnedAt   atomic.Int64
	answeredAt atomic.Int64 // when Redis last answered a command of the client's
}

// Redis failures: how long one count may wait, and how long Redis is then
// left alone (go-redis would otherwise retry its dials for seconds).
const (
	limiterTimeout   = 250 * time.Millisecond
	limiterSkipAfter = 2 * time.Second
	// limiterBusyFor is how long after its last answer a Redis that times
	// out counts as busy (the event refused) rather than gone (let through):
	// under a burst some takes are answered all the time, while a Redis that
	// died stops the guarded work for at most this long.
	limiterBusyFor = time.Second
)

// outcome is what one round trip to Redis came to.
type outcome int

const (
	answered    outcome = iota
	unavailable         // Redis is down, or was found so a moment ago: let the event through
	busy                // Redis answered lately but not in time: refuse the event
)

// Option configures a Limiter.
type Option func(*Limiter)

// RefuseWhileBusy refuses events that Redis, having answered within the
// last limiterBusyFor, does not count in time: such a Redis is busy, not
// dead, most often queueing the very burst the limit is there to stop. For
// limits that keep a secret from being guessed (pickup codes); a limit on
// ordinary work lets such events through uncounted.
//
// Whether Redis answered lately is heard from every command of the client,
// not only the limiter's own: a limiter idle for a second, on a client a
// flood of other commands (writes counted by another limiter) holds, took
// its first late answer for a dead Redis and stopped counting.
func RefuseWhileBusy() Option { return func(l *Limiter) { l.refuseWhileBusy = true } }

// pulse is the hook through which a RefuseWhileBusy limiter hears every
// answer its client gets.
type pulse struct{ at *atomic.Int64 }

func (p pulse) heard(err error) {
	if err == nil || err == redis.Nil {
		p.at.Store(time.Now().UnixNano())
	}
}

func (p pulse) DialHook(next redis.DialHook) redis.DialHook { return next }

func (p pulse) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		p.heard(err)
		return err
	}
}

func (p pulse) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		p.heard(err)
		return err
	}
}

// New returns a Limiter that allows limit events per key in each window; log hears when
// Redis is unavailable.
func New(rdb redis.UniversalClient, prefix string, limit int64, window time.Duration, log *slog.Logger, opts ...Option) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	l := &Limiter{rdb: rdb, prefix: "groupbuy:limit:" + prefix + ":", limit: limit, window: window, log: log}
	for _, o := range opts {
		o(l)
	}
	if l.refuseWhileBusy {
		rdb.AddHook(pulse{&l.answeredAt})
	}
	return l
}

// redis runs one round trip under the limiter's timeout and says how it
// went.
func (l *Limiter) redis(ctx context.Context, fn func(ctx context.Context) error) outcome {
	if time.Now().UnixNano() < l.skipUntil.Load() {
		return unavailable
	}
	tctx, cancel := context.WithTimeout(ctx, limiterTimeout)
	defer cancel()
	err := fn(tctx)
	now := time.Now()
	if err == nil || err == redis.Nil {
		return answered
	}
	if ctx.Err() != nil {
		return unavailable // the caller went away; Redis is not to blame
	}
	if l.refuseWhileBusy && timedOut(err) && now.UnixNano()-l.answeredAt.Load() < int64(limiterBusyFor) {
		return busy
	}
	l.skipUntil.Store(now.Add(limiterSkipAfter).UnixNano())
	if last := l.warnedAt.Load(); now.UnixNano()-last >= int64(time.Minute) && l.warnedAt.CompareAndSwap(last, now.UnixNano()) {
		l.log.Warn("rate limit skipped: Redis unavailable, events are not counted", "limit", l.prefix, "err", err)
	}
	return unavailable
}

// timedOut reports whether err is the round trip running out of time (or
// waiting that long for a pooled connection), not Redis refusing or failing.
func timedOut(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, redis.ErrPoolTimeout) || (errors.As(err, &ne) && ne.Timeout())
}

// ErrRateLimited answers a key that used up its window.
var ErrRateLimited = apperr.Errorf(apperr.TooMany, "too_many_attempts", "too many attempts; wait before trying again")

func (l *Limiter) key(key string, now time.Time) (string, time.Duration) {
	slot := now.UnixNano() / int64(l.window)
	left := time.Duration((slot+1)*int64(l.window) - now.UnixNano())
	return l.prefix + key + ":" + strconv.FormatInt(slot, 10), left
}

// Take counts one event against key in the current window and reports
// whether it is within the limit; over it, retry is the time left in the
// window. INCR and EXPIRE go in one pipelined round trip, and the count is
// taken before the work it guards, so parallel requests cannot all pass a
// check before any of them is counted. A busy Redis refuses the event for a
// second (see RefuseWhileBusy).
func (l *Limiter) Take(ctx context.Context, key string, now time.Time) (ok bool, retry time.Duration) {
	k, left := l.key(key, now)
	var n *redis.IntCmd
	switch l.redis(ctx, func(ctx context.Context) error {
		_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			n = p.Incr(ctx, k)
			p.Expire(ctx, k, left+time.Second)
			return nil
		})
		return err
	}) {
	case unavailable:
		return true, 0
	case busy:
		return false, time.Second
	}
	if n.Val() > l.limit {
		return false, left
	}
	return true, 0
}

// giveBack decrements a window's count, never below zero and never creating
// a key (a DECR on an expired key would leave -1 without a TTL).
var giveBack = redis.NewScript(`local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then return redis.call('DECR', KEYS[1]) end
return 0`)

// Give returns an event taken at now that turned out not to count (e.g. a
// pickup code that was right), to the window it was taken in.
func (l *Limiter) Give(ctx context.Context, key string, now time.Time) {
	k, _ := l.key(key, now)
	l.redis(ctx, func(ctx context.Context) error {
		return giveBack.Run(ctx, l.rdb, []string{k}).Err()
	})
}
