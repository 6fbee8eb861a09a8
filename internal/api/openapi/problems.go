package openapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"

	"github.com/getkin/kin-openapi/openapi3"
)

// Problems validates an OpenAPI 3.0 document: kin-openapi checks its
// structure, references, schemas and examples; then the OpenAPI 3.0
// meta-schema's rules that kin-openapi accepts and swagger-cli refuses.
// No problems is an empty list.
func Problems(raw []byte) []string {
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(raw)
	if err != nil {
		return []string{"does not load: " + err.Error()}
	}
	ctx := openapi3.WithValidationOptions(context.Background(), openapi3.EnableMultiError(),
		openapi3.EnableSchemaFormatValidation(), openapi3.EnableSchemaPatternValidation(),
		openapi3.EnableSchemaDefaultsValidation(), openapi3.EnableExamplesValidation())
	var out []string
	if err := doc.Validate(ctx); err != nil {
		var many openapi3.MultiError
		if errors.As(err, &many) {
			for _, e := range many {
				out = append(out, e.Error())
			}
		} else {
			out = append(out, err.Error())
		}
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			for code := range op.Responses.Map() {
				if !responseCode.MatchString(code) {
					out = append(out, fmt.Sprintf("%s %s: response %q is not a status code (200, 4XX) or default", method, path, code))
				}
			}
		}
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return append(out, err.Error())
	}
	return append(out, strictSchemaKeywords("#", v)...)
}

// responseCode is what the OpenAPI 3.0 meta-schema allows as a key of a
// responses object.
var responseCode = regexp.MustCompile(`^([1-5](\d{2}|XX)|default|x-.*)$`)

// strictSchemaKeywords returns where v breaks the OpenAPI 3.0 meta-schema's
// rules on schema keywords: "required" (when a list, a schema's) names at
// least one property, each once; "enum" lists at least one value.
func strictSchemaKeywords(at string, v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if req, ok := x["required"].([]any); ok {
			if len(req) == 0 {
				out = append(out, at+`: "required" is empty; leave it out when no property is required`)
			}
			seen := map[any]bool{}
			for _, name := range req {
				if seen[name] {
					out = append(out, fmt.Sprintf(`%s: "required" names %v twice`, at, name))
				}
				seen[name] = true
			}
		}
		if enum, ok := x["enum"].([]any); ok && len(enum) == 0 {
			out = append(out, at+`: "enum" is empty`)
		}
		for k, e := range x {
			out = append(out, strictSchemaKeywords(at+"/"+k, e)...)
		}
	case []any:
		for i, e := range x {
			out = append(out, strictSchemaKeywords(fmt.Sprintf("%s/%d", at, i), e)...)
		}
	}
	return out
}
