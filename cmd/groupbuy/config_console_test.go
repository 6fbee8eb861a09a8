package main

import (
	"strings"
	"testing"

	"groupbuy/cmd/internal/config"
)

// TestConfigPublicURLAndFullBudget: the driver pages' address defaults to
// the listen address (localhost for every interface, which names no host),
// the full-budget switch takes 1 or 0 only, and URLs a phone or the worker
// could not use, or a payment system without its secret, stop the start.
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
	for addr, want := range map[string]string{"0.0.0.0:9000": "http://localhost:9000", ":8080": "http://localhost:8080",
		"[::]:8080": "http://localhost:8080", "10.1.2.3:80": "http://10.1.2.3:80"} {
		c, err := config.FromEnv(env("GROUPBUY_ADDR", addr))
		if err != nil || c.PublicURL != want || c.RouteFullBudget {
			t.Fatalf("defaults at %s: %q %v %v", addr, c.PublicURL, c.RouteFullBudget, err)
		}
	}
	for _, bad := range [][]string{
		{"GROUPBUY_PUBLIC_URL", "gb.example.com"},
		{"GROUPBUY_PAYMENTS_URL", "payments.internal/refunds", "GROUPBUY_PAYMENTS_SECRET", "0123456789abcdef0123"},
		{"GROUPBUY_PAYMENTS_URL", "https://payments.internal/refunds"},
		{"GROUPBUY_PAYMENTS_URL", "https://payments.internal/refunds", "GROUPBUY_PAYMENTS_SECRET", "short"},
	} {
		if _, err := config.FromEnv(env(bad...)); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v, want a refusal naming %s", bad, err, bad[0])
		}
	}
	c, err := config.FromEnv(env("GROUPBUY_PUBLIC_URL", "https://gb.example.com", "GROUPBUY_ROUTE_FULL_BUDGET", "1"))
	if err != nil || c.PublicURL != "https://gb.example.com" || !c.RouteFullBudget {
		t.Fatalf("set: %q %v %v", c.PublicURL, c.RouteFullBudget, err)
	}
	if _, err := config.FromEnv(env("GROUPBUY_ROUTE_FULL_BUDGET", "yes")); err == nil {
		t.Fatal("GROUPBUY_ROUTE_FULL_BUDGET=yes was taken")
	}
	// Suppliers' webhooks go to public addresses unless said otherwise.
	if c, err := config.FromEnv(env()); err != nil || !c.SupplierWebhooksPublic {
		t.Fatalf("default: %v %v", c.SupplierWebhooksPublic, err)
	}
	if c, err := config.FromEnv(env("GROUPBUY_SUPPLIER_WEBHOOKS_PRIVATE", "1")); err != nil || c.SupplierWebhooksPublic {
		t.Fatalf("GROUPBUY_SUPPLIER_WEBHOOKS_PRIVATE=1: %v %v", c.SupplierWebhooksPublic, err)
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
		{"GROUPBUY_RETENTION_DAYS=95", "GROUPBUY_AFTERSALE_WINDOW=2160h"}: false, // a claim after a parcel's third day
		{"GROUPBUY_RETENTION_DAYS=96", "GROUPBUY_AFTERSALE_WINDOW=2160h"}: true,
		{"GROUPBUY_RETENTION_DAYS=16", "GROUPBUY_RETURN_AFTER_DAYS=14"}:   false, // collected on day 14, claimed on day 16
		{"GROUPBUY_RETENTION_DAYS=19", "GROUPBUY_RETURN_AFTER_DAYS=14"}:   true,
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
