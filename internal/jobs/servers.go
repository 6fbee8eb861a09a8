package jobs

import (
	"time"

	"github.com/hibiken/asynq"
)

// The queues groupbuy's tasks go to.
const (
	// QueueCritical holds the night's short stages (close, purchase,
	// allocate, pick, ready) and its sweeps.
	QueueCritical = "critical"
	// QueueDefault and QueueLow hold the rest, by urgency.
	QueueDefault = "default"
	QueueLow     = "low"
	// QueueRoute holds the route stage alone: a solve keeps a worker busy
	// for its whole budget on every core it is given, so it has workers of
	// its own, and however many cities reach it at once, the other
	// queues' workers stay free for their short stages.
	QueueRoute = "route"
)

// Queues lists every queue, for the metrics that watch their sizes.
var Queues = []string{QueueCritical, QueueDefault, QueueLow, QueueRoute}

// ServerOptions size a worker process's asynq servers.
type ServerOptions struct {
	// Concurrency is how many tasks of the critical, default and low queues
	// run at once (default 8).
	Concurrency int
	// RouteSolves is how many route stages run at once (default 1).
	RouteSolves     int
	Logger          asynq.Logger
	ShutdownTimeout time.Duration
	RetryDelay      asynq.RetryDelayFunc
}

// NewServers returns a worker process's asynq servers, which serve one mux:
// one for the critical, default and low queues by weight, one for the route
// queue. asynq's concurrency is per server and shared by its queues (a
// queue's weight orders what a free worker takes next, it reserves no
// worker), so only a server of its own bounds the route solves.
func NewServers(redis asynq.RedisConnOpt, opt ServerOptions) []*asynq.Server {
	if opt.Concurrency <= 0 {
		opt.Concurrency = 8
	}
	if opt.RouteSolves <= 0 {
		opt.RouteSolves = 1
	}
	config := func(concurrency int, queues map[string]int, poll time.Duration) asynq.Config {
		return asynq.Config{Concurrency: concurrency, Queues: queues, Logger: opt.Logger, TaskCheckInterval: poll,
			ShutdownTimeout: opt.ShutdownTimeout, RetryDelayFunc: opt.RetryDelay}
	}
	return []*asynq.Server{
		// An idle server looks for tasks this often: the night is a chain of
		// short stages, each enqueued as the one before commits, and asynq's
		// default of a second would idle that long between them.
		asynq.NewServer(redis, config(opt.Concurrency, map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}, 250*time.Millisecond)),
		asynq.NewServer(redis, config(opt.RouteSolves, map[string]int{QueueRoute: 1}, time.Second)),
	}
}
