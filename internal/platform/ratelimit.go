package platform

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Limiter counts events per key in fixed windows in Redis, so every API
// process shares one count: e.g. wrong pickup codes per leader per minute.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string
	limit  int64
	window time.Duration
}

// NewLimiter allows limit events per key in each window.
func NewLimiter(rdb redis.UniversalClient, prefix string, limit int64, window time.Duration) *Limiter {
	return &Limiter{rdb: rdb, prefix: "groupbuy:limit:" + prefix + ":", limit: limit, window: window}
}

// ErrRateLimited answers a key that used up its window.
var ErrRateLimited = Errorf(TooMany, "too_many_attempts", "too many attempts; wait before trying again")

func (l *Limiter) key(key string, now time.Time) (string, time.Duration) {
	slot := now.UnixNano() / int64(l.window)
	left := time.Duration((slot+1)*int64(l.window) - now.UnixNano())
	return l.prefix + key + ":" + strconv.FormatInt(slot, 10), left
}

// Check refuses with ErrRateLimited (carrying retry_after_s) when key has
// used up the current window; it counts nothing.
func (l *Limiter) Check(ctx context.Context, key string, now time.Time) error {
	k, left := l.key(key, now)
	n, err := l.rdb.Get(ctx, k).Int64()
	if err == redis.Nil {
		return nil
	}
	if err != nil {
		return err
	}
	if n >= l.limit {
		return ErrRateLimited.With("retry_after_s", int64(left/time.Second)+1)
	}
	return nil
}

// Hit counts one event against key in the current window.
func (l *Limiter) Hit(ctx context.Context, key string, now time.Time) error {
	k, left := l.key(key, now)
	_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Incr(ctx, k)
		p.Expire(ctx, k, left+time.Second)
		return nil
	})
	return err
}
