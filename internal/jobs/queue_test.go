package jobs_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"groupbuy/internal/jobs"
)

// TestRedisOpt: REDIS_URL names one server, a Sentinel group or a Cluster;
// a URL that cannot work is refused with what is wrong, never with its
// password.
func TestRedisOpt(t *testing.T) {
	for _, tc := range []struct {
		url  string
		want asynq.RedisConnOpt
	}{
		{"redis://127.0.0.1:6379/2", asynq.RedisClientOpt{Addr: "127.0.0.1:6379", DB: 2}},
		{"redis-sentinel://:secret@h1:26379,h2:26379,h3:26379/1?master=mymaster",
			asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"h1:26379", "h2:26379", "h3:26379"},
				Password: "secret", SentinelPassword: "secret", DB: 1}},
		{"redis-sentinel://:secret@h1:26379?master=m&sentinel_password=other",
			asynq.RedisFailoverClientOpt{MasterName: "m", SentinelAddrs: []string{"h1:26379"}, Password: "secret", SentinelPassword: "other"}},
		{"redis-cluster://:secret@10.0.0.1:7000,10.0.0.2:7001/",
			asynq.RedisClusterClientOpt{Addrs: []string{"10.0.0.1:7000", "10.0.0.2:7001"}, Password: "secret"}},
	} {
		got, err := jobs.RedisOpt(tc.url)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("RedisOpt(%s) = %#v, %v; want %#v", tc.url, got, err, tc.want)
		}
	}
	for _, tc := range []struct{ url, says string }{
		{"http://h:1", "unknown scheme"},
		{"redis-sentinel://:secret@h1:26379,h2:26379/0", "?master="},
		{"redis-sentinel://:secret@h1,h2:26379/0?master=m", `"h1": want host:port`},
		{"redis-sentinel://h1:0/0?master=m", "port from 1 to 65535"},
		{"redis-sentinel://h1:26379/x?master=m", "database number"},
		{"redis-sentinel://h1:26379/0?master=m&db=2", `unknown parameter "db"`},
		{"redis-sentinel:///0?master=m", "no addresses"},
		{"redis-cluster://:secret@h1:7000/3", "only database 0"},
		{"redis-cluster://h1:7000?master=m", "takes no parameters"},
		{"redis-cluster://:secret@[::1]:7000,[::1]:7001", "REDIS_URL"},
	} {
		_, err := jobs.RedisOpt(tc.url)
		if err == nil || !strings.Contains(err.Error(), tc.says) || strings.Contains(err.Error(), "secret") {
			t.Errorf("RedisOpt(%s) = %v; want an error saying %q, without the password", tc.url, err, tc.says)
		}
	}
}
