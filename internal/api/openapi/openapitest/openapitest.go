// Package openapitest checks that the strict rules of openapi.Problems can
// fail, for the tests of the generator and of the served document alike.
package openapitest

import (
	"encoding/json"
	"testing"

	"groupbuy/internal/api/openapi"
)

// ProblemsCatch breaks raw, a document with a GET /healthz and a schema
// named schema, in the ways strict tools (swagger-cli validate) refuse, and
// fails t for each break that openapi.Problems lets through.
func ProblemsCatch(t testing.TB, raw []byte, schema string) {
	t.Helper()
	schemaOf := func(d map[string]any) map[string]any {
		return d["components"].(map[string]any)["schemas"].(map[string]any)[schema].(map[string]any)
	}
	healthz := func(d map[string]any) map[string]any {
		return d["paths"].(map[string]any)["/healthz"].(map[string]any)["get"].(map[string]any)
	}
	for name, breakIt := range map[string]func(d map[string]any){
		"an empty required": func(d map[string]any) { schemaOf(d)["required"] = []any{} },
		"an empty enum":     func(d map[string]any) { schemaOf(d)["enum"] = []any{} },
		"a response code 2000": func(d map[string]any) {
			healthz(d)["responses"].(map[string]any)["2000"] = map[string]any{"description": "x"}
		},
		"a keyword of JSON Schema": func(d map[string]any) { schemaOf(d)["const"] = "x" },
		"a dangling $ref": func(d map[string]any) {
			schemaOf(d)["properties"] = map[string]any{"code": map[string]any{"$ref": "#/components/schemas/Nothing"}}
		},
		"a response without description": func(d map[string]any) {
			for _, r := range healthz(d)["responses"].(map[string]any) {
				delete(r.(map[string]any), "description")
			}
		},
	} {
		var d map[string]any
		if err := json.Unmarshal(raw, &d); err != nil {
			t.Fatal(err)
		}
		breakIt(d)
		broken, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		if ps := openapi.Problems(broken); len(ps) == 0 {
			t.Errorf("%s: no problem found", name)
		}
	}
}
