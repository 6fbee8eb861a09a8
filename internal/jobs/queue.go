package jobs

import (
	"fmt"

	"github.com/hibiken/asynq"
)

// RedisOpt parses a redis:// URL into asynq's connection option.
func RedisOpt(url string) (asynq.RedisConnOpt, error) {
	opt, err := asynq.ParseRedisURI(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return opt, nil
}
