package main

import (
	"testing"

	"groupbuy/internal/api/openapi"
	"groupbuy/internal/api/openapi/openapitest"
)

// TestOpenAPIValidates checks openapi.json with a real validator and the
// strict OpenAPI 3.0 rules it lets through (openapi.Problems).
func TestOpenAPIValidates(t *testing.T) {
	t.Parallel()
	for _, p := range openapi.Problems(openAPIJSON) {
		t.Errorf("openapi.json: %s", p)
	}
}

// TestOpenAPIValidationCatches breaks the document in ways strict tools
// (swagger-cli validate) refuse, and expects openapi.Problems to say so:
// the check above can fail.
func TestOpenAPIValidationCatches(t *testing.T) {
	t.Parallel()
	openapitest.ProblemsCatch(t, openAPIJSON, "PickupCodeRequest")
}
