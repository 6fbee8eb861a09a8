package httpx

import (
	"strconv"

	"github.com/gin-gonic/gin"

	"groupbuy/internal/apperr"
	"groupbuy/internal/input"
)

// PathID parses a positive integer path parameter naming a bigserial id.
func PathID(c *gin.Context, name string) (int64, error) {
	return PathPositive(c, name, input.MaxInt8)
}

// PathPositive parses a path parameter as an integer from 1 to max, the
// largest value of its column (input.MaxInt8 or input.MaxInt4).
func PathPositive(c *gin.Context, name string, max int64) (int64, error) {
	n, err := strconv.ParseInt(c.Param(name), 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, apperr.InvalidField(name, "%s must be an integer from 1 to %d", name, max)
	}
	return n, nil
}

// QueryPositive reads an optional integer query parameter from 1 to max
// (0 when absent).
func QueryPositive(c *gin.Context, name string, max int64) (int64, error) {
	v := c.Query(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 || n > max {
		return 0, apperr.InvalidField(name, "%s must be an integer from 1 to %d", name, max)
	}
	return n, nil
}

// QueryID reads an optional id query parameter (0 when absent).
func QueryID(c *gin.Context, name string) (int64, error) {
	return QueryPositive(c, name, input.MaxInt8)
}

// QueryPage reads the keyset pagination of a listing: after_id, and limit
// from 1 to 1000 (0 when absent: the listing's default).
func QueryPage(c *gin.Context) (afterID int64, limit int, err error) {
	if afterID, err = QueryID(c, "after_id"); err != nil {
		return 0, 0, err
	}
	n, err := QueryPositive(c, "limit", 1000)
	return afterID, int(n), err
}

// validRequestID reports whether a client's X-Request-ID may be kept: 1 to
// 64 visible ASCII characters. It is logged and stored with the jobs a
// request starts, so anything else is replaced by a generated ID.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
