package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"groupbuy/cmd/internal/healthz"
)

// groupbuyBinary finds the groupbuy binary the lab drives: given (the
// --groupbuy flag); else the one beside this executable, where make build
// puts both; else one built from this source tree (go run, go test) into a
// temporary directory that cleanup removes.
func groupbuyBinary(ctx context.Context, given string, stderr io.Writer) (path string, cleanup func(), err error) {
	cleanup = func() {}
	if given != "" {
		return given, cleanup, nil
	}
	if exe, err := os.Executable(); err == nil {
		beside := filepath.Join(filepath.Dir(exe), "groupbuy")
		if fi, err := os.Stat(beside); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return beside, cleanup, nil
		}
	}
	dir, err := os.MkdirTemp("", "groupbuy-lab-")
	if err != nil {
		return "", nil, err
	}
	path = filepath.Join(dir, "groupbuy")
	fmt.Fprintln(stderr, "building groupbuy (go build groupbuy/cmd/groupbuy; --groupbuy PATH skips this)")
	build := exec.CommandContext(ctx, "go", "build", "-o", path, "groupbuy/cmd/groupbuy")
	build.Stdout, build.Stderr = stderr, stderr
	if err := build.Run(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("no groupbuy binary beside this one, and go build failed (%v): run make build, or pass --groupbuy PATH", err)
	}
	return path, func() { os.RemoveAll(dir) }, nil
}

// startGroupbuy starts `groupbuy args...` with the lab's environment and env
// on top (later entries win); its output goes to stderr, and it dies with
// the lab whatever ends it.
func startGroupbuy(bin string, env []string, stderr io.Writer, args ...string) (*exec.Cmd, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = stderr, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	return cmd, cmd.Start()
}

// serveAPI starts `groupbuy serve` on a free loopback port (under a CPU
// profile written to profile, unless empty) and waits until it answers
// /healthz. stop ends it as an operator would, with SIGTERM, and waits for
// it to drain and write its profile.
func serveAPI(ctx context.Context, bin string, env []string, profile string, stderr io.Writer) (api string, stop func() error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"serve", "--addr", addr}
	if profile != "" {
		args = append(args, "--cpuprofile", profile)
	}
	cmd, err := startGroupbuy(bin, env, stderr, args...)
	if err != nil {
		return "", nil, fmt.Errorf("start groupbuy serve: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	var stopErr error
	stop = func() error {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case stopErr = <-exited:
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				stopErr = errors.New("groupbuy serve did not stop within 30 s of SIGTERM")
			}
		})
		return stopErr
	}
	api = "http://" + addr
	if err := healthz.Wait(ctx, api, 30*time.Second, exited); err != nil {
		_ = stop()
		return "", nil, fmt.Errorf("groupbuy serve: %w", err)
	}
	return api, stop, nil
}

// envInt is NAME=n.
func envInt(name string, n int) string { return name + "=" + strconv.Itoa(n) }
