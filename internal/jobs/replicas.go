package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// replicaWait bounds how long a relay waits for a replica to acknowledge
// what it enqueued; on loopback or in one zone it takes a millisecond.
const replicaWait = 250 * time.Millisecond

// errNotReplicated: the primary has a replica that has not acknowledged the
// jobs yet; they stay pending and are relayed again.
var errNotReplicated = errors.New("no replica has acknowledged the enqueued jobs yet")

// errCannotConfirm: the server refuses INFO or WAIT (some hosted Redis
// services rename them). Waiting would keep every job pending for good, so
// the relay marks them as it did before it waited, and says so.
var errCannotConfirm = errors.New("the Redis server refuses INFO or WAIT, so no replica can confirm a job")

// waitReplicated returns once a replica of the Redis primary that holds
// queue has every write that primary took before the call, or
// errNotReplicated after replicaWait. Redis replicates asynchronously: a
// task a primary acknowledged, and then lost with the primary before its
// replica had it, is gone after the replica is promoted. A primary without
// replicas has nobody to wait for.
//
// WAIT counts the writes of its own connection, so the wait writes a key
// there first: the replication stream is in order, so a replica that has
// that key has the enqueues before it. The key carries the queue's hash
// tag, which asynq gives every key of a queue, so on a Cluster it lives on
// the node the queue's tasks went to.
func waitReplicated(ctx context.Context, rdb redis.UniversalClient, queue string) error {
	key := "groupbuy:jobs:replicated:{" + queue + "}"
	var node *redis.Client
	switch c := rdb.(type) {
	case *redis.Client: // one server, or the master of a Sentinel group
		node = c
	case *redis.ClusterClient:
		var err error
		if node, err = c.MasterForKey(ctx, key); err != nil {
			return err
		}
	default:
		return nil
	}
	conn := node.Conn()
	defer conn.Close()
	var info *redis.StringCmd
	if _, err := conn.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, key, time.Now().UnixMilli(), time.Hour)
		info = p.Info(ctx, "replication")
		return nil
	}); err != nil {
		return refused(err)
	}
	if connectedReplicas(info.Val()) == 0 {
		return nil
	}
	n, err := conn.Wait(ctx, 1, replicaWait).Result()
	if err != nil {
		return refused(err)
	}
	if n < 1 {
		return errNotReplicated
	}
	return nil
}

// refused tells a command the server answered with an error from one that
// did not reach it.
func refused(err error) error {
	var reply redis.Error
	if errors.As(err, &reply) {
		return fmt.Errorf("%w: %v", errCannotConfirm, err)
	}
	return err
}

// connectedReplicas reads connected_slaves from INFO replication.
func connectedReplicas(info string) int {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "connected_slaves:"); ok {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}
