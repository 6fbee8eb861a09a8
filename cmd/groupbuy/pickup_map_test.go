package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"
)

type nearbyBody struct {
	PickupPoints []struct {
		ID        int64   `json:"id"`
		Code      string  `json:"code"`
		H3Cell    string  `json:"h3_cell"`
		DistanceM float64 `json:"distance_m"`
	} `json:"pickup_points"`
}

func TestPickupNearbyEndpoint(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 3) // points at 31.100, 31.101, 31.102 / 121.4
	r := c.do("GET", "/api/v1/pickup-points/nearby?lat=31.1005&lng=121.4&radius_m=1000&limit=2", c.leaders[0], nil)
	if r.Status != http.StatusOK {
		t.Fatalf("nearby: %d %s", r.Status, r.Body)
	}
	var got nearbyBody
	r.json(t, &got)
	if len(got.PickupPoints) != 2 || got.PickupPoints[0].DistanceM > got.PickupPoints[1].DistanceM ||
		got.PickupPoints[0].H3Cell == "" || got.PickupPoints[1].Code != "P001" {
		t.Fatalf("nearby: %s", r.Body)
	}
	// Staff may search too; a missing token may not.
	if r := c.do("GET", "/api/v1/pickup-points/nearby?lat=31.1&lng=121.4", c.admin, nil); r.Status != http.StatusOK {
		t.Fatalf("admin nearby: %d %s", r.Status, r.Body)
	}
	if r := c.do("GET", "/api/v1/pickup-points/nearby?lat=31.1&lng=121.4", "", nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("anonymous nearby: %d", r.Status)
	}
	for query, field := range map[string]string{
		"lng=121.4":                            "lat",
		"lat=91&lng=121.4":                     "lat",
		"lat=-90.5&lng=121.4":                  "lat",
		"lat=NaN&lng=121.4":                    "lat",
		"lat=abc&lng=121.4":                    "lat",
		"lat=31":                               "lng",
		"lat=31&lng=180.01":                    "lng",
		"lat=31&lng=121&radius_m=0":            "radius_m",
		"lat=31&lng=121&radius_m=-5":           "radius_m",
		"lat=31&lng=121&radius_m=50000.5":      "radius_m",
		"lat=31&lng=121&radius_m=Inf":          "radius_m",
		"lat=31&lng=121&limit=101":             "limit",
		"lat=31&lng=121&limit=0":               "limit",
		"lat=31&lng=121&limit=2.5":             "limit",
		"lat=31&lng=121&radius_m=50000&limit=": "",
	} {
		r := c.do("GET", "/api/v1/pickup-points/nearby?"+query, c.leaders[0], nil)
		if field == "" {
			if r.Status != http.StatusOK {
				t.Errorf("%s: %d %s", query, r.Status, r.Body)
			}
			continue
		}
		var env struct {
			Error struct{ Code, Message, Field string } `json:"error"`
		}
		r.json(t, &env)
		if r.Status != http.StatusBadRequest || env.Error.Field != field || env.Error.Message == "" {
			t.Errorf("%s: %d %s, want 400 naming %s", query, r.Status, r.Body, field)
		}
	}
}

// Two API processes on one database: a point added through one is found by
// the other's nearby search within a short time.
func TestPickupNearbyAcrossProcesses(t *testing.T) {
	c := newTestCity(t, 1)
	other := startApp(t, c.app.cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), c.clock)
	other.pickup.Index().MaxStale = 100 * time.Millisecond
	srv := apiServer(t, other)
	search := func() nearbyBody {
		r := doHTTP(t, srv.Client(), "GET", srv.URL+"/api/v1/pickup-points/nearby?lat=31.3&lng=121.5&radius_m=500", c.admin, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("nearby on the other process: %d %s", r.Status, r.Body)
		}
		var b nearbyBody
		r.json(t, &b)
		return b
	}
	if got := search(); len(got.PickupPoints) != 0 {
		t.Fatalf("before: %+v", got)
	}
	r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, map[string]any{"code": "NEW1", "warehouse_id": c.warehous.ID,
		"name": "新点", "lat": 31.3001, "lng": 121.5, "opens": "08:00", "closes": "21:00",
		"leader": map[string]any{"name": "新团长", "phone": "13600000001"}})
	if r.Status != http.StatusCreated {
		t.Fatalf("create point: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := search()
		if len(got.PickupPoints) == 1 && got.PickupPoints[0].Code == "NEW1" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other process never found the new point: %+v", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPickupServiceAndDeliveryAreas(t *testing.T) {
	t.Parallel()
	c := newTestCity(t, 3)
	wid := c.warehous.ID
	path := fmt.Sprintf("/api/v1/ops/warehouses/%d/service-area", wid)
	// Place orders so the areas have weight: 2 boxes of eggs (0.9 kg, 1.5 l each) at point 0.
	egg := c.item("EGG")
	c.placeOrder(0, "a1", orderBody("13912345678", "张三", egg.ID, 2))
	areasPath := fmt.Sprintf("/api/v1/ops/warehouses/%d/areas?date=%s&max_kg=1&max_l=100", wid, c.date.Format(time.DateOnly))
	r := c.do("GET", areasPath, c.admin, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("areas: %d %s", r.Status, r.Body)
	}
	var fc struct {
		Type     string `json:"type"`
		Features []struct {
			Geometry struct {
				Type string `json:"type"`
			} `json:"geometry"`
			Properties map[string]any `json:"properties"`
		} `json:"features"`
	}
	r.json(t, &fc)
	kinds := map[string]int{}
	var weight float64
	for _, f := range fc.Features {
		kind := f.Properties["kind"].(string)
		kinds[kind]++
		if kind == "area" {
			weight += f.Properties["weight_g"].(float64)
			if f.Geometry.Type != "MultiPolygon" {
				t.Errorf("area outline is a %s", f.Geometry.Type)
			}
		}
	}
	if fc.Type != "FeatureCollection" || kinds["point"] != 3 || kinds["area"] < 1 || kinds["cell"] < 1 || kinds["warehouse"] != 1 || weight != 1800 {
		t.Fatalf("areas: kinds %v, weight %v: %s", kinds, weight, r.Body)
	}
	for query, field := range map[string]string{"date=2026-13-01": "date", "": "date", "date=2026-12-01&max_kg=0": "max_kg",
		"date=2026-12-01&max_l=100001": "max_l"} {
		r := c.do("GET", fmt.Sprintf("/api/v1/ops/warehouses/%d/areas?%s", wid, query), c.admin, nil)
		if r.Status != http.StatusBadRequest || !contains(r.Body, `"field":"`+field+`"`) {
			t.Errorf("areas?%s: %d %s", query, r.Status, r.Body)
		}
	}

	// A service area around the city's points; a point far outside is refused.
	r = c.do("PUT", path, c.admin, map[string]any{"geojson": map[string]any{"type": "Polygon",
		"coordinates": [][][]float64{{{121.3, 31.0}, {121.5, 31.0}, {121.5, 31.2}, {121.3, 31.2}, {121.3, 31.0}}}}})
	if r.Status != http.StatusOK {
		t.Fatalf("put service area: %d %s", r.Status, r.Body)
	}
	var sa struct {
		Cells      []string `json:"cells"`
		Resolution int      `json:"resolution"`
		Outline    struct {
			Type string `json:"type"`
		} `json:"outline"`
	}
	r = c.do("GET", path, c.admin, nil)
	r.json(t, &sa)
	if r.Status != http.StatusOK || len(sa.Cells) < 50 || sa.Resolution != 7 || sa.Outline.Type != "MultiPolygon" {
		t.Fatalf("get service area: %d %s", r.Status, r.Body)
	}
	far := map[string]any{"code": "FAR", "warehouse_id": wid, "name": "远点", "lat": 32.0, "lng": 121.4,
		"opens": "08:00", "closes": "21:00", "leader": map[string]any{"name": "远团长", "phone": "13600000009"}}
	if r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, far); r.Status != http.StatusUnprocessableEntity || r.errorCode(t) != "outside_service_area" {
		t.Fatalf("point outside: %d %s", r.Status, r.Body)
	}
	far["lat"], far["warehouse_id"] = 31.15, nil
	if r := c.do("POST", "/api/v1/ops/pickup-points", c.admin, far); r.Status != http.StatusCreated || !contains(r.Body, fmt.Sprintf(`"warehouse_id":%d`, wid)) {
		t.Fatalf("point inside, no warehouse named: %d %s", r.Status, r.Body)
	}
	for body, field := range map[string]string{`{}`: "cells", `{"cells":["zz"]}`: "cells", `{"cells":[],"geojson":{}}`: "cells",
		`{"geojson":{"type":"Point","coordinates":[1,2]}}`:                                           "geojson",
		`{"geojson":{"type":"Polygon","coordinates":[[[0,-80],[170,-80],[170,80],[0,80],[0,-80]]]}}`: "geojson"} {
		if r := c.do("PUT", path, c.admin, body); r.Status != http.StatusBadRequest || !contains(r.Body, `"field":"`+field+`"`) {
			t.Errorf("put %s: %d %s", body, r.Status, r.Body)
		}
	}
	if r := c.do("PUT", path, c.leaders[0], `{"cells":[]}`); r.Status != http.StatusForbidden {
		t.Errorf("leader put: %d", r.Status)
	}
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }
