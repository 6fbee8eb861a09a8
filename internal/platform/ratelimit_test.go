package platform

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

func TestLimiterGiveReturnsATakenEvent(t *testing.T) {
	mr := miniredis.RunT(t)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	l := NewLimiter(rdb, "test", 2, time.Minute, nil)
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
