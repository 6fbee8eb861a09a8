package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/uber/h3-go/v4"
)

// square is a Polygon's coordinates: a side° square at (lat, lng), shifted
// east by shift°.
func square(lat, lng, side, shift float64) [][][]float64 {
	lng += shift
	return [][][]float64{{{lng, lat}, {lng + side, lat}, {lng + side, lat + side}, {lng, lat + side}, {lng, lat}}}
}

// multiPolygonOf fills about size bytes with copies of a polygon, each
// shifted by shift° more than the one before (0: identical copies).
func multiPolygonOf(poly func(shift float64) [][][]float64, shift float64, size int) (string, int) {
	var polys []string
	n := 0
	for total := 0; total < size; n++ {
		b, _ := json.Marshal(poly(float64(n) * shift))
		polys = append(polys, string(b))
		total += len(b) + 1
	}
	return `{"geojson":{"type":"MultiPolygon","coordinates":[` + strings.Join(polys, ",") + `]}}`, n
}

// TestServiceAreaWorkIsBounded: a MultiPolygon of a MiB of copies of one
// polygon is filled once, and copies that differ by a hair (the same cells,
// but not the same polygon) are refused by the work they would take before
// any is filled, naming the limit. Either answers long before the generous
// deadline, which is only a safety net: today each copy is filled.
func TestServiceAreaWorkIsBounded(t *testing.T) {
	c := newTestCity(t, 1)
	path := fmt.Sprintf("/api/v1/ops/warehouses/%d/service-area", c.warehous.ID)
	client := checked(t, &http.Client{Timeout: 10 * time.Second})
	put := func(body string) response {
		return doHTTP(t, client, "PUT", c.srv.URL+path, c.admin, body)
	}

	// One copy of a 1° square (about 2,400 cells) first, to compare with.
	one := func(shift float64) [][][]float64 { return square(30.6, 120.9, 1, shift) }
	b, _ := json.Marshal(map[string]any{"geojson": map[string]any{"type": "Polygon", "coordinates": one(0)}})
	r := put(string(b))
	var want, got struct{ Cells []string }
	r.json(t, &want)
	if r.Status != http.StatusOK || len(want.Cells) < 2000 {
		t.Fatalf("one square: %d %.300s", r.Status, r.Body)
	}
	body, copies := multiPolygonOf(one, 0, 1<<20-200)
	r = put(body)
	if r.Status != http.StatusOK {
		t.Fatalf("%d copies: %d %.300s", copies, r.Status, r.Body)
	}
	r.json(t, &got)
	if fmt.Sprint(got.Cells) != fmt.Sprint(want.Cells) {
		t.Fatalf("%d copies filled %d cells, one copy %d", copies, len(got.Cells), len(want.Cells))
	}

	// Copies of a 6° square (about 92,000 cells, under the service-area
	// limit) a nanodegree apart: the same cells each time, each a new fill.
	big := func(shift float64) [][][]float64 { return square(25, 112, 6, shift) }
	body, copies = multiPolygonOf(big, 1e-9, 1<<20-200)
	r = put(body)
	if code, field := envelopeOf(t, r); r.Status != http.StatusBadRequest || code != "invalid_field" || field != "geojson" ||
		!strings.Contains(string(r.Body), "too much work") {
		t.Fatalf("%d near copies: %d %.300s", copies, r.Status, r.Body)
	}

	// A MiB of one resolution-2 cell (16,807 service cells) is expanded once.
	cell, err := h3.LatLngToCell(h3.LatLng{Lat: 31.2, Lng: 121.4}, 2)
	if err != nil {
		t.Fatal(err)
	}
	quoted := `"` + cell.String() + `"`
	copies = (1<<20 - 200) / (len(quoted) + 1)
	r = put(`{"cells":[` + strings.Repeat(quoted+",", copies-1) + quoted + `]}`)
	if r.Status != http.StatusOK {
		t.Fatalf("%d copies of a cell: %d %.300s", copies, r.Status, r.Body)
	}
	if r.json(t, &got); len(got.Cells) != 16807 {
		t.Fatalf("%d copies of a cell: %d service cells", copies, len(got.Cells))
	}
}
