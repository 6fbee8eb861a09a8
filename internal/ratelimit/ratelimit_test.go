package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/testenv"
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

// TestLimiterRefusesWhileBusyAndLetsThroughWhenDown: with RefuseWhileBusy, a Redis that answered a
// moment ago but whose answer does not come in time — here every pooled
// connection is taken, as by a burst of guesses — refuses the event instead
// of letting it through uncounted; a Redis that is gone lets it through.
func TestLimiterRefusesWhileBusyAndLetsThroughWhenDown(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	admin := redis.NewClient(opt)
	opt.PoolSize, opt.MaxActiveConns, opt.PipelinePoolSize = 1, 1, 1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close(); admin.Close() })
	l, lenient := New(rdb, "test", 100, time.Minute, nil, RefuseWhileBusy()), New(rdb, "lenient", 100, time.Minute, nil)
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 14, 0, 10, 0, time.UTC)
	if ok, _ := l.Take(ctx, "a", now); !ok {
		t.Fatal("first take refused")
	}
	if ok, _ := lenient.Take(ctx, "a", now); !ok {
		t.Fatal("first take of the lenient limiter refused")
	}
	// Two blocking pops hold the client's only connection and its only
	// pipeline connection, as a burst of takes would hold them all.
	held := make(chan error, 2)
	go func() { held <- rdb.BLPop(ctx, time.Second, "nothing").Err() }()
	go func() {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error { return p.BLPop(ctx, time.Second, "nothing").Err() })
		held <- err
	}()
	time.Sleep(200 * time.Millisecond)
	if ok, retry := l.Take(ctx, "a", now); ok || retry != time.Second {
		t.Fatalf("take while every connection is busy: ok=%v retry=%v, want refused for a second", ok, retry)
	}
	if ok, _ := lenient.Take(ctx, "a", now); !ok {
		t.Fatal("a limiter without RefuseWhileBusy refused while Redis was busy")
	}
	for range 2 {
		if err := <-held; err != redis.Nil {
			t.Fatalf("BLPOP: %v", err)
		}
	}
	if ok, _ := l.Take(ctx, "a", now); !ok {
		t.Fatal("take refused once Redis was free again")
	}
	_ = admin.Do(ctx, "SHUTDOWN", "NOSAVE").Err() // its connection drops: no answer
	deadline := time.Now().Add(5 * time.Second)
	for rdb.Ping(ctx).Err() == nil {
		if time.Now().After(deadline) {
			t.Fatal("Redis still answers after SHUTDOWN")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Gone: refused at most for limiterBusyFor after its last answer, then
	// let through uncounted.
	deadline = time.Now().Add(limiterBusyFor + 3*time.Second)
	for ok := false; !ok; ok, _ = l.Take(ctx, "a", now) {
		if time.Now().After(deadline) {
			t.Fatal("takes with Redis down still refused: the limit must not stop the work it guards")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
