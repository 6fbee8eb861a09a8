package localserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelGroup is a Redis primary, its replicas and the sentinels that
// watch them, on loopback: what a production deployment runs on several
// hosts, for tests that kill the primary.
type SentinelGroup struct {
	// Master is the name the sentinels know the group by.
	Master    string
	Primary   *Server
	Replicas  []*Server
	Sentinels []*Server
}

// SentinelOptions shape a SentinelGroup.
type SentinelOptions struct {
	Master    string        // default "groupbuy"
	Replicas  int           // default 1
	Sentinels int           // default 3; a majority of them must agree the primary is down
	DownAfter time.Duration // how long the primary may not answer before it is down (default 1 s)
}

// StartSentinelGroup starts a primary, its replicas and sentinels, each a
// throw-away redis-server in a directory of its own under dir, and returns
// once the replicas are in sync and every sentinel knows them and the other
// sentinels, so that it can fail over.
func StartSentinelGroup(ctx context.Context, dir string, log *slog.Logger, opt SentinelOptions) (g *SentinelGroup, err error) {
	if opt.Master == "" {
		opt.Master = "groupbuy"
	}
	if opt.Replicas <= 0 {
		opt.Replicas = 1
	}
	if opt.Sentinels <= 0 {
		opt.Sentinels = 3
	}
	if opt.DownAfter <= 0 {
		opt.DownAfter = time.Second
	}
	g = &SentinelGroup{Master: opt.Master}
	defer func() {
		if err != nil {
			_ = g.Stop(context.Background())
		}
	}()
	start := func(name string, opts ...RedisOption) (*Server, error) {
		return StartRedis(ctx, filepath.Join(dir, name), log, append(opts, WithRedisNoPersistence(), WithRedisServerOnly())...)
	}
	if g.Primary, err = start("primary"); err != nil {
		return g, err
	}
	for i := range opt.Replicas {
		r, err := start(fmt.Sprintf("replica%d", i+1), WithRedisReplicaOf(g.Primary))
		if err != nil {
			return g, err
		}
		g.Replicas = append(g.Replicas, r)
	}
	ms := strconv.FormatInt(opt.DownAfter.Milliseconds(), 10)
	conf := []string{
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d", opt.Master, g.Primary.Port, opt.Sentinels/2+1),
		fmt.Sprintf("sentinel down-after-milliseconds %s %s", opt.Master, ms),
		fmt.Sprintf("sentinel failover-timeout %s %d", opt.Master, 5*opt.DownAfter.Milliseconds()),
	}
	for i := range opt.Sentinels {
		s, err := start(fmt.Sprintf("sentinel%d", i+1), withRedisSentinel(conf...))
		if err != nil {
			return g, err
		}
		g.Sentinels = append(g.Sentinels, s)
	}
	return g, g.waitReady(ctx, 30*time.Second)
}

// URL is the group's REDIS_URL: redis-sentinel://sentinels/0?master=name.
func (g *SentinelGroup) URL() string {
	var addrs []string
	for _, s := range g.Sentinels {
		addrs = append(addrs, s.Addr())
	}
	return "redis-sentinel://" + strings.Join(addrs, ",") + "/0?master=" + g.Master
}

// waitReady waits until every sentinel sees all replicas and the other
// sentinels (they find each other through the primary, every 2 s).
func (g *SentinelGroup) waitReady(ctx context.Context, timeout time.Duration) error {
	return waitReady(ctx, timeout, 100*time.Millisecond, nil, func() error {
		for _, s := range g.Sentinels {
			m, err := sentinelMaster(ctx, s.Addr(), g.Master)
			if err != nil {
				return err
			}
			if m["num-slaves"] != strconv.Itoa(len(g.Replicas)) || m["num-other-sentinels"] != strconv.Itoa(len(g.Sentinels)-1) {
				return fmt.Errorf("sentinel %s knows %s replicas and %s other sentinels", s.Addr(), m["num-slaves"], m["num-other-sentinels"])
			}
		}
		return nil
	})
}

// waitReplicaInSync waits until the replica at addr has its primary's data
// and follows its writes.
func waitReplicaInSync(ctx context.Context, addr string, timeout time.Duration) error {
	return waitReady(ctx, timeout, 50*time.Millisecond, nil, func() error {
		info, err := redisCommand(ctx, addr, func(c *redis.Client) (string, error) { return c.Info(ctx, "replication").Result() })
		if err == nil && !strings.Contains(info, "master_link_status:up") {
			err = fmt.Errorf("replica %s not in sync with its primary", addr)
		}
		return err
	})
}

// WaitFailover waits until the sentinels have promoted a replica in place of
// the primary old and it takes writes, and returns it.
func (g *SentinelGroup) WaitFailover(ctx context.Context, old *Server, timeout time.Duration) (*Server, error) {
	var promoted *Server
	err := waitReady(ctx, timeout, 50*time.Millisecond, nil, func() error {
		promoted = nil
		for _, s := range g.Sentinels {
			addr, err := sentinelMasterAddr(ctx, s.Addr(), g.Master)
			if err != nil {
				continue
			}
			for _, r := range g.Replicas {
				if addr != old.Addr() && r.Addr() == addr {
					promoted = r
				}
			}
			break
		}
		if promoted == nil {
			return errors.New("the sentinels still name the old primary")
		}
		role, err := redisCommand(ctx, promoted.Addr(), func(c *redis.Client) (string, error) {
			v, err := c.Do(ctx, "ROLE").Slice()
			if err != nil || len(v) == 0 {
				return "", err
			}
			return fmt.Sprint(v[0]), nil
		})
		if err == nil && role != "master" {
			err = fmt.Errorf("%s is still a %s", promoted.Addr(), role)
		}
		return err
	})
	return promoted, err
}

// Stop stops the sentinels, then the replicas and the primary.
func (g *SentinelGroup) Stop(ctx context.Context) error {
	var errs []error
	for _, s := range append(append(append([]*Server{}, g.Sentinels...), g.Replicas...), g.Primary) {
		errs = append(errs, s.Stop(ctx))
	}
	return errors.Join(errs...)
}

func redisCommand(ctx context.Context, addr string, fn func(*redis.Client) (string, error)) (string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	return fn(c)
}

func sentinelMasterAddr(ctx context.Context, addr, name string) (string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	hp, err := c.GetMasterAddrByName(ctx, name).Result()
	if err != nil || len(hp) != 2 {
		return "", fmt.Errorf("sentinel %s: master %s: %v", addr, name, err)
	}
	return net.JoinHostPort(hp[0], hp[1]), nil
}

func sentinelMaster(ctx context.Context, addr, name string) (map[string]string, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	return c.Master(ctx, name).Result()
}
