package api

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"groupbuy/internal/auth"
)

// The markers between which a README holds the generated access table.
const (
	TableBegin = "<!-- access-table:begin -->"
	TableEnd   = "<!-- access-table:end -->"
)

// AccessTable renders the routes' access as a markdown table: one row per
// route ("`METHOD /path/{param}`"), a column "none" (no token) and one per
// role in roles, ✓ where the route admits it and — where not; a bold row
// heads each new Section.
func AccessTable(routes []Route, roles []auth.Role) string {
	var b strings.Builder
	b.WriteString("| route | none")
	for _, r := range roles {
		b.WriteString(" | " + string(r))
	}
	b.WriteString(" |\n| ---" + strings.Repeat(" | :-:", len(roles)+1) + " |\n")
	empty := strings.Repeat(" |", len(roles)+1)
	section := ""
	for _, rt := range routes {
		if rt.Section != "" && rt.Section != section {
			section = rt.Section
			fmt.Fprintf(&b, "| **%s** |%s\n", section, empty)
		}
		fmt.Fprintf(&b, "| `%s %s` | %s", rt.Method, DocPath(rt.Path), mark(rt.Access.Public()))
		for _, r := range roles {
			b.WriteString(" | " + mark(rt.Access.Admits(r)))
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

func mark(ok bool) string {
	if ok {
		return "✓"
	}
	return "—"
}

// DocPath writes a gin path as OpenAPI does: /waves/:id is /waves/{id}.
func DocPath(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// ErrNoTableMarkers is returned for a README without the table's markers.
var ErrNoTableMarkers = errors.New("no " + TableBegin + " … " + TableEnd + " markers")

// WriteAccessTable returns readme with table between its markers.
func WriteAccessTable(readme []byte, table string) ([]byte, error) {
	before, rest, ok := bytes.Cut(readme, []byte(TableBegin))
	if !ok {
		return nil, ErrNoTableMarkers
	}
	_, after, ok := bytes.Cut(rest, []byte(TableEnd))
	if !ok {
		return nil, ErrNoTableMarkers
	}
	var out bytes.Buffer
	out.Write(before)
	out.WriteString(TableBegin + "\n" + table + TableEnd)
	out.Write(after)
	return out.Bytes(), nil
}

// CheckAccessTable reports whether readme holds the table the routes give,
// so a test fails when the README is stale.
func CheckAccessTable(readme []byte, routes []Route, roles []auth.Role) error {
	want, err := WriteAccessTable(readme, AccessTable(routes, roles))
	if err != nil {
		return err
	}
	if !bytes.Equal(want, readme) {
		return errors.New("the README's access table is stale: regenerate it from the route table")
	}
	return nil
}
