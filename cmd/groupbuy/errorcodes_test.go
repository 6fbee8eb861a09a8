package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// pageOnlyCodes are written only by the console's pages and its queue
// monitor, which are not part of the JSON API and so not of its document.
var pageOnlyCodes = []string{"bad_content_type", "cross_origin", "queue_not_found"}

// TestEveryErrorCodeIsDocumented reads the code of every error the server's
// sources make with a literal code (apperr.Errorf(kind, "code", …)) and
// fails for one that no operation of openapi.json lists in its
// x-error-codes: a client could meet it and find it nowhere. (The end-to-end
// tests check the codes they meet against their operation; this finds the
// ones no test meets.)
func TestEveryErrorCodeIsDocumented(t *testing.T) {
	t.Parallel()
	doc := errorCodesOf(t)
	documented := map[string]bool{}
	for _, methods := range doc.Paths {
		for _, op := range methods {
			for _, r := range op.Responses {
				for _, c := range r.Codes {
					documented[c] = true
				}
			}
		}
	}
	made := regexp.MustCompile(`apperr\.Errorf\(apperr\.[A-Za-z]+, "([a-z_]+)"`)
	found := 0
	err := filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") && path != "../.." || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range made.FindAllStringSubmatch(string(src), -1) {
			found++
			if code := m[1]; !documented[code] && !slices.Contains(pageOnlyCodes, code) {
				t.Errorf("%s makes error code %q, which no operation of openapi.json lists", path, code)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found < 50 {
		t.Fatalf("read only %d error codes in the sources: is the walk reading the tree?", found)
	}
}

// TestStatesAreEnumeratedInTheDocument: the refund and claim states and
// reasons the server answers are closed sets (CHECK constraints in the
// schema, enums in the listings' own filters), and the document must list
// them on the objects that carry them, as it does for orders, deliveries,
// parcels and purchase orders: a client generated from openapi.json
// otherwise types them as free strings.
func TestStatesAreEnumeratedInTheDocument(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `json:"enum"`
				} `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	refundStates := []string{"created", "submitted", "paid", "failed"}
	refundReasons := []string{"shortage", "missing", "damaged", "returned", "after_sale"}
	for _, c := range []struct {
		schema, prop string
		want         []string
	}{
		{"Refund", "state", refundStates},
		{"Refund", "reason", refundReasons},
		{"LineRefund", "state", refundStates},
		{"LineRefund", "reason", refundReasons},
		{"Claim", "state", []string{"pending", "approved", "rejected"}},
		{"Claim", "reason", []string{"quality", "damaged", "missing", "wrong_item", "expired"}},
	} {
		got := doc.Components.Schemas[c.schema].Properties[c.prop].Enum
		slices.Sort(got)
		want := slices.Clone(c.want)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s.%s: the document lists %v, the server answers one of %v", c.schema, c.prop, got, c.want)
		}
	}
}

// TestReadmeErrorTableListsTheDocumentsCodes: the README's Errors table
// names the codes a client meets under 409 and 422; each code openapi.json
// gives for one of those statuses should be in its row.
func TestReadmeErrorTableListsTheDocumentsCodes(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{}
	for _, l := range strings.Split(string(readme), "\n") {
		if m := regexp.MustCompile("^\\| (409|422) \\| (.*)\\|$").FindStringSubmatch(l); m != nil {
			rows[m[1]] = m[2]
		}
	}
	doc := errorCodesOf(t)
	for _, status := range []string{"409", "422"} {
		if rows[status] == "" {
			t.Fatalf("no %s row in the README's Errors table", status)
		}
		missing := map[string]bool{}
		for _, methods := range doc.Paths {
			for _, op := range methods {
				for _, c := range op.Responses[status].Codes {
					if c != "duplicate_code" && !strings.Contains(rows[status], "`"+c+"`") {
						missing[c] = true
					}
				}
			}
		}
		var ms []string
		for c := range missing {
			ms = append(ms, c)
		}
		sort.Strings(ms)
		if len(ms) > 0 {
			t.Errorf("README's %s row lacks %d codes of openapi.json: %s", status, len(ms), strings.Join(ms, ", "))
		}
	}
}

// errorCodesOf reads openapi.json's operations with their error codes by
// status.
func errorCodesOf(t *testing.T) (doc struct {
	Paths map[string]map[string]struct {
		Responses map[string]struct {
			Codes []string `json:"x-error-codes"`
		} `json:"responses"`
	} `json:"paths"`
}) {
	t.Helper()
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}
