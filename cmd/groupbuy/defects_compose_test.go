package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"groupbuy/cmd/internal/config"
	"groupbuy/internal/testenv"
)

// testLabelKey is the label key of the serve and worker processes tests start.
const testLabelKey = "groupbuy-test-label-key"

// TestServeAndWorkerRefuseTheDevLabelKey: outside `groupbuy dev`, the API
// and the worker do not start without a label key of their own, since labels
// signed with the public dev key can be forged by anyone.
func TestServeAndWorkerRefuseTheDevLabelKey(t *testing.T) {
	base := map[string]string{"DATABASE_URL": testenv.NewDatabase(t), "REDIS_URL": testenv.Redis(t), "GROUPBUY_ADDR": "127.0.0.1:0"}
	for _, cmd := range []string{"serve", "worker"} {
		for _, key := range []string{"", config.DevLabelKey, "short"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			env := func(k string) string {
				if k == "GROUPBUY_LABEL_KEY" {
					return key
				}
				return base[k]
			}
			err := run(ctx, []string{cmd}, env, io.Discard, io.Discard)
			cancel()
			if err == nil || !strings.Contains(err.Error(), "GROUPBUY_LABEL_KEY") {
				t.Errorf("%s with GROUPBUY_LABEL_KEY=%q: %v, want a refusal naming GROUPBUY_LABEL_KEY", cmd, key, err)
			}
		}
	}
}

// TestComposeFile reads docker-compose.yml as Compose v1 (Debian's 1.29)
// and v2 both do: no top-level name (v1 refuses it), and the api and worker
// get the label key, with no default, and every notice setting the
// configuration reads.
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Name     *string `yaml:"name"`
		Services map[string]struct {
			Environment map[string]string `yaml:"environment"`
			Build       struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if file.Name != nil {
		t.Errorf("a top-level name %q: Compose v1 rejects the file", *file.Name)
	}
	// The migrations need pg_partman on the server: the postgres service
	// is built with the package of the image's own major version, pinned to
	// pg_partman 4 as the suite runs it.
	pgBuild := file.Services["postgres"].Build
	dockerfile, err := os.ReadFile(filepath.Join("../..", pgBuild.Context, pgBuild.Dockerfile))
	for _, want := range []string{"\nFROM postgres:15-bookworm\n", `Pin: version 4.*`,
		`apt-get install -y --no-install-recommends "postgresql-$PG_MAJOR-partman"`} {
		if err != nil || !strings.Contains(string(dockerfile), want) {
			t.Errorf("the postgres service's image %+v has no %q (%v):\n%s", pgBuild, want, err, dockerfile)
		}
	}
	want := append(notifyVariables(t), "GROUPBUY_LABEL_KEY", "GROUPBUY_PUBLIC_URL", "GROUPBUY_PAYMENTS_URL", "GROUPBUY_PAYMENTS_SECRET")
	for _, svc := range []string{"api", "worker"} {
		env := file.Services[svc].Environment
		for _, v := range want {
			if got, ok := env[v]; !ok || !strings.Contains(got, "${"+v) {
				t.Errorf("service %s does not pass %s from the environment: %q", svc, v, got)
			}
		}
		if key := env["GROUPBUY_LABEL_KEY"]; strings.Contains(key, ":-") || strings.Contains(key, config.DevLabelKey) {
			t.Errorf("service %s gives the label key a default: %q", svc, key)
		}
	}
}

// notifyVariables lists the environment variables that change the notice
// channels' configuration, by asking config.FromEnv.
func notifyVariables(t *testing.T) []string {
	t.Helper()
	var names []string
	if _, err := config.FromEnv(func(k string) string { names = append(names, k); return "" }); err != nil {
		t.Fatal(err)
	}
	base, _ := config.FromEnv(func(string) string { return "" })
	var out []string
	for _, name := range names {
		for _, value := range []string{"x", "25", "1m"} { // text, a port, a duration
			c, err := config.FromEnv(func(k string) string {
				if k == name {
					return value
				}
				return ""
			})
			if err == nil && !reflect.DeepEqual(c.Notify, base.Notify) {
				out = append(out, name)
				break
			}
		}
	}
	if len(out) < 10 {
		t.Fatalf("found only %v as notice settings", out)
	}
	return out
}
