package main

import _ "embed"

// openAPIJSON describes the HTTP API; openapi_test.go fails when a route is
// registered but not described.
//
//go:embed openapi.json
var openAPIJSON []byte
