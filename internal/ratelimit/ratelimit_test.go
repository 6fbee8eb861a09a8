package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// newTestLimiter is a limiter of limit events a minute on an in-process Redis.
func newTestLimiter(t *testing.T, limit int64) (*miniredis.Miniredis, *Limiter) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	return mr, New(rdb, "test", limit, time.Minute, nil)
}

func TestLimiterGiveReturnsATakenEvent(t *testing.T) {
	mr, l := newTestLimiter(t, 2)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 14, 0, 10, 0, time.UTC)
	// Events given back do not count: any number of them fit under a limit of 2.
	for i := range 5 {
		if ok, _ := l.Take(ctx, "a", now); !ok {
			t.Fatalf("take %d after giving back refused", i+1)
		}
		l.Give(ctx, "a", now)
	}
	for range 2 {
		l.Take(ctx, "a", now)
	}
	if ok, _ := l.Take(ctx, "a", now); ok {
		t.Fatal("3rd kept event allowed")
	}
	// Giving back to a window with no count creates nothing.
	l.Give(ctx, "b", now)
	if len(mr.Keys()) != 1 {
		t.Fatalf("keys after giving back to an empty window: %v", mr.Keys())
	}
	if ok, _ := l.Take(ctx, "b", now); !ok {
		t.Fatal("first take of b refused")
	}
}

func TestLimiterTakeCountsPerKeyAndWindow(t *testing.T) {
	mr, l := newTestLimiter(t, 3)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 14, 0, 10, 0, time.UTC) // 50 s left in the minute
	for i := range 3 {
		if ok, _ := l.Take(ctx, "a", now); !ok {
			t.Fatalf("take %d refused", i+1)
		}
	}
	ok, retry := l.Take(ctx, "a", now)
	if ok || retry != 50*time.Second {
		t.Fatalf("4th take: ok=%v retry=%v, want refused with 50s left", ok, retry)
	}
	if ok, _ := l.Take(ctx, "b", now); !ok {
		t.Fatal("another key refused")
	}
	// The count expires with its window, so idle keys do not pile up.
	for _, k := range mr.Keys() {
		if ttl := mr.TTL(k); ttl <= 0 || ttl > 51*time.Second {
			t.Errorf("key %s has TTL %v, want the rest of the window", k, ttl)
		}
	}
	if ok, _ := l.Take(ctx, "a", now.Add(50*time.Second)); !ok {
		t.Fatal("next window refused")
	}
}
