package main

import (
	"strings"
	"testing"

	"groupbuy/cmd/internal/config"
)

// TestConfigPublicURLAndFullBudget: the driver pages' address defaults to
// the listen address, and the full-budget switch takes 1 or 0 only.
func TestConfigPublicURLAndFullBudget(t *testing.T) {
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	c, err := config.FromEnv(env("GROUPBUY_ADDR", "0.0.0.0:9000"))
	if err != nil || c.PublicURL != "http://0.0.0.0:9000" || c.RouteFullBudget {
		t.Fatalf("defaults: %q %v %v", c.PublicURL, c.RouteFullBudget, err)
	}
	c, err = config.FromEnv(env("GROUPBUY_PUBLIC_URL", "https://gb.example.com", "GROUPBUY_ROUTE_FULL_BUDGET", "1"))
	if err != nil || c.PublicURL != "https://gb.example.com" || !c.RouteFullBudget {
		t.Fatalf("set: %q %v %v", c.PublicURL, c.RouteFullBudget, err)
	}
	if _, err := config.FromEnv(env("GROUPBUY_ROUTE_FULL_BUDGET", "yes")); err == nil {
		t.Fatal("GROUPBUY_ROUTE_FULL_BUDGET=yes was taken")
	}
	if got := driverPageURL("https://gb.example.com/", "7.1.x"); got != "https://gb.example.com/console/driver.html#7.1.x" {
		t.Fatalf("driver page URL %q", got)
	}
}

// TestConfigRetentionOutlastsParcelsAndClaims: retention may not drop a
// night while its parcels can still be collected (pickup.CodeLifeDays) or
// its lines claimed (GROUPBUY_AFTERSALE_WINDOW), nor the return of parcels
// outlast their codes.
func TestConfigRetentionOutlastsParcelsAndClaims(t *testing.T) {
	env := func(kv map[string]string) func(string) string { return func(k string) string { return kv[k] } }
	for vars, ok := range map[[2]string]bool{
		{"GROUPBUY_RETENTION_DAYS=90", ""}:                                true,
		{"GROUPBUY_RETENTION_DAYS=16", ""}:                                true,
		{"GROUPBUY_RETENTION_DAYS=15", ""}:                                false,
		{"GROUPBUY_RETENTION_DAYS=1", ""}:                                 false,
		{"GROUPBUY_RETENTION_DAYS=90", "GROUPBUY_AFTERSALE_WINDOW=2160h"}: false,
		{"GROUPBUY_RETENTION_DAYS=92", "GROUPBUY_AFTERSALE_WINDOW=2160h"}: true,
		{"GROUPBUY_RETURN_AFTER_DAYS=14", ""}:                             true,
		{"GROUPBUY_RETURN_AFTER_DAYS=15", ""}:                             false,
	} {
		kv := map[string]string{}
		for _, v := range vars {
			if k, val, found := strings.Cut(v, "="); found {
				kv[k] = val
			}
		}
		if _, err := config.FromEnv(env(kv)); (err == nil) != ok {
			t.Errorf("%v: %v", vars, err)
		}
	}
}
