package main

import (
	"bytes"
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"groupbuy/internal/clock"
)

// TestDevCommand runs `groupbuy dev` as main would, against this test's own
// database and Redis, twice: the second start keeps data and tokens.
func TestDevCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := devEnv(t, dir)
	env["GROUPBUY_DEV_SIMULATE"] = "3000"
	getenv := func(k string) string { return env[k] }
	start := func() (map[string]string, func()) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		var stdout, stderr bytes.Buffer
		envFile := filepath.Join(dir, "dev.env")
		prevAPI := readEnvFile(envFile)["GROUPBUY_API"] // each start listens on a new port
		go func() { done <- run(ctx, []string{"dev"}, getenv, &stdout, &stderr) }()
		deadline := time.Now().Add(60 * time.Second)
		for {
			vals := readEnvFile(envFile)
			if api := vals["GROUPBUY_API"]; api != "" && api != prevAPI {
				return vals, func() {
					cancel()
					if err := <-done; err != nil {
						t.Errorf("dev exited with %v\n%s", err, stderr.String())
					}
				}
			}
			select {
			case err := <-done:
				t.Fatalf("dev exited early: %v\n%s", err, stderr.String())
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("dev did not start\n%s", stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	vals, stop := start()
	api, leader, ops := vals["GROUPBUY_API"], vals["GROUPBUY_LEADER_TOKEN"], vals["GROUPBUY_ADMIN_TOKEN"]
	client := checked(t, &http.Client{Timeout: 10 * time.Second})
	date := tomorrowAtDemo(clock.System{}).String()
	r := doHTTP(t, client, "GET", api+"/api/v1/leader/catalog?date="+date, leader, nil)
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"sku"`) < 300 {
		t.Fatalf("demo catalog: %d %.300s", r.Status, r.Body)
	}
	r = doHTTP(t, client, "GET", api+"/api/v1/ops/pickup-points", ops, nil)
	// 200 demo points and 50 at the simulated warehouse.
	if r.Status != http.StatusOK || strings.Count(string(r.Body), `"code"`) != 250 {
		t.Fatalf("demo points: %d %.300s", r.Status, r.Body)
	}
	stop()

	again, stop := start()
	defer stop()
	if again["GROUPBUY_LEADER_TOKEN"] != leader || again["GROUPBUY_ADMIN_TOKEN"] != ops {
		t.Fatal("a restart issued new tokens though the old ones still work")
	}
	r = doHTTP(t, client, "GET", again["GROUPBUY_API"]+"/api/v1/ops/pickup-points", ops, nil)
	if strings.Count(string(r.Body), `"code"`) != 250 {
		t.Fatalf("restart re-seeded or lost the city: %.300s", r.Body)
	}
}
