package main

import (
	"strings"
	"testing"

	"groupbuy/cmd/internal/config"
)

// TestOSRMSettings: GROUPBUY_OSRM_URL must be an http(s) URL and
// GROUPBUY_OSRM_TABLE_SIZE a size of at least 2; unset, the route stage
// keeps the great-circle estimate.
func TestOSRMSettings(t *testing.T) {
	env := func(vars map[string]string) func(string) string { return func(k string) string { return vars[k] } }
	c, err := config.FromEnv(env(map[string]string{"GROUPBUY_OSRM_URL": "http://osrm:5000", "GROUPBUY_OSRM_TABLE_SIZE": "1000"}))
	if err != nil || c.OSRMURL != "http://osrm:5000" || c.OSRMTableSize != 1000 {
		t.Fatalf("%+v %v", c, err)
	}
	if c, err := config.FromEnv(env(nil)); err != nil || c.OSRMURL != "" {
		t.Fatalf("unset: %q %v", c.OSRMURL, err)
	}
	for k, v := range map[string]string{"GROUPBUY_OSRM_URL": "osrm:5000", "GROUPBUY_OSRM_TABLE_SIZE": "1"} {
		if _, err := config.FromEnv(env(map[string]string{k: v})); err == nil || !strings.Contains(err.Error(), k) {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
}
