package main

import (
	"encoding/json"
	"testing"

	"groupbuy/internal/api/openapi"
)

// TestOpenAPIValidates checks openapi.json with a real validator and the
// strict OpenAPI 3.0 rules it lets through (openapi.Problems).
func TestOpenAPIValidates(t *testing.T) {
	for _, p := range openapi.Problems(openAPIJSON) {
		t.Errorf("openapi.json: %s", p)
	}
}

// TestOpenAPIValidationCatches breaks the document in ways strict tools
// (swagger-cli validate) refuse, and expects openapi.Problems to say so:
// the check above can fail.
func TestOpenAPIValidationCatches(t *testing.T) {
	schema := func(d map[string]any, name string) map[string]any {
		return d["components"].(map[string]any)["schemas"].(map[string]any)[name].(map[string]any)
	}
	healthz := func(d map[string]any) map[string]any {
		return d["paths"].(map[string]any)["/healthz"].(map[string]any)["get"].(map[string]any)
	}
	for name, breakIt := range map[string]func(d map[string]any){
		"an empty required": func(d map[string]any) { schema(d, "PickupCodeRequest")["required"] = []any{} },
		"an empty enum":     func(d map[string]any) { schema(d, "PickupCodeRequest")["enum"] = []any{} },
		"a response code 2000": func(d map[string]any) {
			healthz(d)["responses"].(map[string]any)["2000"] = map[string]any{"description": "x"}
		},
		"a keyword of JSON Schema": func(d map[string]any) { schema(d, "PickupCodeRequest")["const"] = "x" },
		"a dangling $ref": func(d map[string]any) {
			schema(d, "PickupCodeRequest")["properties"] = map[string]any{"code": map[string]any{"$ref": "#/components/schemas/Nothing"}}
		},
		"a response without description": func(d map[string]any) {
			for _, r := range healthz(d)["responses"].(map[string]any) {
				delete(r.(map[string]any), "description")
			}
		},
	} {
		var d map[string]any
		if err := json.Unmarshal(openAPIJSON, &d); err != nil {
			t.Fatal(err)
		}
		breakIt(d)
		raw, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if ps := openapi.Problems(raw); len(ps) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}
