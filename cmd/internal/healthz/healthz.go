// Package healthz waits for a groupbuy process to answer its health check,
// for the lab and the tests that start `groupbuy serve` as a process.
package healthz

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// Wait polls api's GET /healthz until it answers 200. It gives up when
// exited reports that the process ended, when ctx ends, or after within.
func Wait(ctx context.Context, api string, within time.Duration, exited <-chan error) error {
	deadline := time.Now().Add(within)
	for {
		resp, err := http.Get(api + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		select {
		case exitErr := <-exited:
			return fmt.Errorf("exited before it answered /healthz: %v", exitErr)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s/healthz did not answer 200 within %s: %v", api, within, err)
		}
	}
}
