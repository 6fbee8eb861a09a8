// Package migrations embeds the SQL migrations (goose format) so the binary
// carries its schema. Each file names the package that owns its tables.
package migrations

import "embed"

// FS holds the migration files.
//
//go:embed *.sql
var FS embed.FS
