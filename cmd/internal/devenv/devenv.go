// Package devenv is the format of the dev.env file `groupbuy dev` writes
// for a shell to source: one export line a variable, its value in single
// quotes, as a URL's & or $ would otherwise end the line's command.
package devenv

import (
	"fmt"
	"os"
	"strings"
)

// Var is one variable of the file.
type Var struct{ Name, Value string }

// Format writes vars as export lines that a POSIX shell sources back to the
// same values: each in single quotes, a quote inside closed, escaped and
// opened again.
func Format(vars ...Var) string {
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s='%s'\n", v.Name, strings.ReplaceAll(v.Value, "'", `'\''`))
	}
	return b.String()
}

// Parse reads NAME=value lines, with or without "export ", their values
// quoted as Format writes them or bare (older files, a shell's env).
func Parse(text string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "export "), "="); ok {
			if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
				v = strings.ReplaceAll(v[1:len(v)-1], `'\''`, "'")
			}
			out[k] = v
		}
	}
	return out
}

// Read parses the file at path; one that cannot be read holds nothing.
func Read(path string) map[string]string {
	b, err := os.ReadFile(path)
	if err != nil {
		return map[string]string{}
	}
	return Parse(string(b))
}
