package ratelimit

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"groupbuy/internal/testenv"
)

// The pickup-code limiter (RefuseWhileBusy) shares the app's Redis client
// with the write limiter (cmd/groupbuy/app.go: both are made on a.rdb), and
// every write, refused or not, is one INCR on it. While that client is
// busy — Redis answering its commands all the time, each a little late —
// a code limiter that itself had no answer in the last second (it was idle:
// nobody verified a code for a second) takes its first timeout for a dead
// Redis: it lets the attempt through uncounted and stops counting for 2 s
// (limiterSkipAfter). Wrong codes then go to the lookup without limit.
func TestCodeLimiterStaysShutWhileTheSharedClientIsBusy(t *testing.T) {
	opt, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	opt.PoolSize, opt.MaxActiveConns, opt.PipelinePoolSize = 1, 1, 1
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { rdb.Close() })
	codes := New(rdb, "pickup-code", 3, time.Minute, nil, RefuseWhileBusy())
	ctx := context.Background()
	now := time.Date(2026, 11, 30, 14, 0, 10, 0, time.UTC)
	if ok, _ := codes.Take(ctx, "leader-1", now); !ok {
		t.Fatal("first take refused")
	}

	// Other users of the client (the write limiter under a flood of writes)
	// keep both of its connections busy with commands Redis answers, each
	// in a second.
	var answered sync.Map
	stop := make(chan struct{})
	var wg sync.WaitGroup
	started := make(chan struct{}, 100)
	for _, pipelined := range []bool{false, true} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if !pipelined {
					started <- struct{}{}
				}
				var err error
				if pipelined {
					_, err = rdb.Pipelined(ctx, func(p redis.Pipeliner) error { return p.BLPop(ctx, time.Second, "nothing").Err() })
				} else {
					err = rdb.BLPop(ctx, time.Second, "nothing").Err()
				}
				if err == redis.Nil {
					answered.Store(time.Now().UnixNano(), pipelined)
				}
			}
		}()
	}
	// The code limiter has been idle for more than a second, while the
	// client's commands were answered; the next code comes in.
	for range 2 {
		<-started
	}
	<-started
	time.Sleep(20 * time.Millisecond)
	n := 0
	answered.Range(func(_, _ any) bool { n++; return true })
	ok, _ := codes.Take(ctx, "leader-1", now)
	t.Logf("client commands answered during the busy spell: %d; take of a code while the client is busy: ok=%v", n, ok)
	if ok {
		t.Error("a code attempt Redis did not count was let through while Redis was busy answering the client's other commands")
	}
	close(stop)
	wg.Wait()

	// Redis is free again: the limit of 3 a minute (one taken) must hold.
	passed := 0
	for range 20 {
		if ok, _ := codes.Take(ctx, "leader-1", now); ok {
			passed++
		}
	}
	t.Logf("takes let through right after, with Redis free: %d of 20 (limit 3 a minute, 1 taken)", passed)
	if passed > 2 {
		t.Errorf("%d wrong codes let through uncounted after the busy spell, limit 3 a minute", passed)
	}
}
