package jobs

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// RedisOpt parses REDIS_URL into asynq's connection option, the one place
// that reads it. Beside asynq's own redis://, rediss:// and redis-socket://
// it accepts
//
//	redis-sentinel://[:password@]host:port,host:port,…[/db]?master=name[&sentinel_password=…]
//	redis-cluster://[:password@]host:port,host:port,…
//
// A Sentinel URL lists the sentinels (at least one; three or more in
// production) and names the master they watch; the password is the Redis
// servers' and, unless sentinel_password says otherwise, the sentinels'
// too. A Cluster URL lists some of the cluster's nodes (the client finds the
// rest); a cluster has only database 0.
func RedisOpt(raw string) (asynq.RedisConnOpt, error) {
	opt, err := parseRedisURL(raw)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return opt, nil
}

// RedisClient opens the app's own client of the Redis that opt names (the
// rate limits, the queue monitor and gauges, the replicas' check). Unlike
// the client asynq makes from opt, it keeps to each command's context
// deadline: a limit that gives Redis 250 ms to answer gets its answer or
// its error in 250 ms, not after the 3 s read timeout of a Redis that hangs.
func RedisClient(opt asynq.RedisConnOpt) (redis.UniversalClient, error) {
	switch o := opt.(type) {
	case asynq.RedisClientOpt:
		return redis.NewClient(&redis.Options{Network: o.Network, Addr: o.Addr, Username: o.Username, Password: o.Password,
			DB: o.DB, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize,
			TLSConfig: o.TLSConfig, ContextTimeoutEnabled: true}), nil
	case asynq.RedisFailoverClientOpt:
		return redis.NewFailoverClient(&redis.FailoverOptions{MasterName: o.MasterName, SentinelAddrs: o.SentinelAddrs,
			SentinelUsername: o.SentinelUsername, SentinelPassword: o.SentinelPassword, Username: o.Username, Password: o.Password,
			DB: o.DB, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout, PoolSize: o.PoolSize,
			TLSConfig: o.TLSConfig, ContextTimeoutEnabled: true}), nil
	case asynq.RedisClusterClientOpt:
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: o.Addrs, MaxRedirects: o.MaxRedirects, Username: o.Username,
			Password: o.Password, DialTimeout: o.DialTimeout, ReadTimeout: o.ReadTimeout, WriteTimeout: o.WriteTimeout,
			TLSConfig: o.TLSConfig, ContextTimeoutEnabled: true}), nil
	}
	return nil, fmt.Errorf("REDIS_URL: no client for %T", opt)
}

func parseRedisURL(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil { // not quoted: the parser's message repeats the password, or its part before a '#'
		return nil, errors.New("it does not parse: percent-encode a %, #, /, ? or blank in its password")
	}
	switch u.Scheme {
	case "redis", "rediss", "redis-socket":
		return asynq.ParseRedisURI(raw)
	case "redis-sentinel", "redis-cluster":
	default:
		return nil, fmt.Errorf("unknown scheme %q (want redis, rediss, redis-socket, redis-sentinel or redis-cluster)", u.Scheme)
	}
	addrs, err := hostList(u.Host)
	if err != nil {
		return nil, err
	}
	password, _ := u.User.Password()
	db := 0
	if p := strings.Trim(u.Path, "/"); p != "" {
		if db, err = strconv.Atoi(p); err != nil || db < 0 {
			return nil, fmt.Errorf("the path must be a database number, not %q", p)
		}
	}
	q := u.Query()
	if u.Scheme == "redis-cluster" {
		if db != 0 {
			return nil, fmt.Errorf("a Redis Cluster has only database 0, not %d", db)
		}
		if len(q) > 0 {
			return nil, fmt.Errorf("a redis-cluster URL takes no parameters")
		}
		return asynq.RedisClusterClientOpt{Addrs: addrs, Username: u.User.Username(), Password: password}, nil
	}
	master := q.Get("master")
	if master == "" {
		return nil, errors.New("a redis-sentinel URL must name the master the sentinels watch (?master=name)")
	}
	sentinelPassword := password
	if q.Has("sentinel_password") {
		sentinelPassword = q.Get("sentinel_password")
	}
	for k := range q {
		if k != "master" && k != "sentinel_password" {
			return nil, fmt.Errorf("unknown parameter %q (a redis-sentinel URL takes master and sentinel_password)", k)
		}
	}
	return asynq.RedisFailoverClientOpt{MasterName: master, SentinelAddrs: addrs, Username: u.User.Username(), Password: password,
		SentinelPassword: sentinelPassword, DB: db}, nil
}

// hostList splits a comma-separated list of host:port.
func hostList(hosts string) ([]string, error) {
	if hosts == "" {
		return nil, errors.New("no addresses (want host:port,host:port,…)")
	}
	var addrs []string
	for _, a := range strings.Split(hosts, ",") {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("address %q: want host:port", a)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
			return nil, fmt.Errorf("address %q: want host:port with a port from 1 to 65535", a)
		}
		addrs = append(addrs, a)
	}
	return addrs, nil
}
