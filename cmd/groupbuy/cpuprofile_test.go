package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"groupbuy/cmd/internal/healthz"
	"groupbuy/internal/testenv"
)

// TestServeWritesCPUProfile: `groupbuy serve --cpuprofile FILE` profiles the
// API process until it stops, which is how the lab's loadtest and
// bench-pickup profile the server they drive.
func TestServeWritesCPUProfile(t *testing.T) {
	port, err := testenv.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DATABASE_URL": testenv.NewDatabase(t), "REDIS_URL": testenv.Redis(t), "GROUPBUY_LABEL_KEY": testLabelKey}
	path := filepath.Join(t.TempDir(), "serve.pprof")
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", addr, "--cpuprofile", path}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	}()
	if err := healthz.Wait(ctx, "http://"+addr, 20*time.Second, done); err != nil {
		t.Fatalf("serve: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// A CPU profile is a gzipped protocol buffer.
	if !bytes.HasPrefix(b, []byte{0x1f, 0x8b}) {
		t.Fatalf("the profile is not a pprof file: %d bytes %q", len(b), b[:min(len(b), 16)])
	}
}
