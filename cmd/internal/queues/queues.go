// Package queues serves asynqmon, the job queues' monitor, over the app's
// own Redis client, with the headers its prebuilt page needs and a 404 for
// a queue that does not exist.
package queues

import (
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/redis/go-redis/v9"

	"groupbuy/internal/apperr"
	"groupbuy/internal/httpx"
)

// csp is for asynqmon's prebuilt page, which has inline scripts and
// injects styles; 'self' also stops its links to Google Fonts, so a closed
// network does not wait for them (system fonts are used instead).
const csp = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"

// ErrQueueNotFound answers a question about a queue that does not exist.
var ErrQueueNotFound = apperr.Errorf(apperr.NotFound, "queue_not_found", "no queue has this name")

// Monitor serves asynqmon under root over rdb. It is built on first use:
// listing the routes (the OpenAPI test) needs no Redis (rdb may be nil).
func Monitor(root string, rdb redis.UniversalClient) gin.HandlerFunc {
	var once sync.Once
	var monitor http.Handler
	var queues *asynq.Inspector
	return func(c *gin.Context) {
		once.Do(func() {
			if rdb != nil {
				monitor = asynqmon.New(asynqmon.Options{RootPath: root, RedisConnOpt: shared{rdb}})
				queues = asynq.NewInspectorFromRedisClient(rdb)
			}
		})
		if monitor == nil {
			httpx.WriteError(c, apperr.Errorf(apperr.Unavailable, "", "the queue monitor has no Redis"))
			return
		}
		// asynqmon answers most questions about a queue that does not exist
		// with a 500: such a queue is a 404 here.
		if q, ok := strings.CutPrefix(c.Request.URL.Path, root+"/api/queues/"); ok {
			q, _, _ = strings.Cut(q, "/") // …/{qname}/pending_tasks
			q, _, _ = strings.Cut(q, ":") // …/{qname}:pause
			names, err := queues.Queues()
			if err != nil {
				httpx.WriteError(c, err)
				return
			}
			if q != "" && !slices.Contains(names, q) {
				httpx.WriteError(c, ErrQueueNotFound.With("queue", q))
				return
			}
		}
		c.Header("Content-Security-Policy", csp)
		c.Header("X-Content-Type-Options", "nosniff")
		c.Header("Referrer-Policy", "no-referrer")
		monitor.ServeHTTP(c.Writer, c.Request)
	}
}

// shared hands asynqmon the app's own Redis client (an asynq.RedisConnOpt),
// so the monitor opens no pool of its own and closes with the app.
type shared struct{ client redis.UniversalClient }

func (s shared) MakeRedisClient() any { return s.client }
