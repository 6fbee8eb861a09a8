// Package ratelimit counts events per key in fixed windows in Redis, shared
// by every process, and never stops the work it guards when Redis fails.
package ratelimit

import (
	"context"
	"log/slog"
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
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int64
	window time.Duration
	log    *slog.Logger

	skipUntil atomic.Int64 // wall clock, Unix nanoseconds
	warnedAt  atomic.Int64
}

// Redis failures: how long one count may wait, and how long Redis is then
// left alone (go-redis would otherwise retry its dials for seconds).
const (
	limiterTimeout   = 250 * time.Millisecond
	limiterSkipAfter = 2 * time.Second
)

// New returns a Limiter that allows limit events per key in each window; log hears when
// Redis is unavailable.
func New(rdb redis.UniversalClient, prefix string, limit int64, window time.Duration, log *slog.Logger) *Limiter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Limiter{rdb: rdb, prefix: "groupbuy:limit:" + prefix + ":", limit: limit, window: window, log: log}
}

// redis runs one round trip under the limiter's timeout; false means Redis
// is (or was just found) unavailable and the caller lets the event through.
func (l *Limiter) redis(ctx context.Context, fn func(ctx context.Context) error) bool {
	if time.Now().UnixNano() < l.skipUntil.Load() {
		return false
	}
	tctx, cancel := context.WithTimeout(ctx, limiterTimeout)
	defer cancel()
	err := fn(tctx)
	if err == nil || err == redis.Nil {
		return true
	}
	if ctx.Err() != nil {
		return false // the caller went away; Redis is not to blame
	}
	now := time.Now()
	l.skipUntil.Store(now.Add(limiterSkipAfter).UnixNano())
	if last := l.warnedAt.Load(); now.UnixNano()-last >= int64(time.Minute) && l.warnedAt.CompareAndSwap(last, now.UnixNano()) {
		l.log.Warn("rate limit skipped: Redis unavailable, events are not counted", "limit", l.prefix, "err", err)
	}
	return false
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
// check before any of them is counted.
func (l *Limiter) Take(ctx context.Context, key string, now time.Time) (ok bool, retry time.Duration) {
	k, left := l.key(key, now)
	var n *redis.IntCmd
	if !l.redis(ctx, func(ctx context.Context) error {
		_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			n = p.Incr(ctx, k)
			p.Expire(ctx, k, left+time.Second)
			return nil
		})
		return err
	}) {
		return true, 0
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
