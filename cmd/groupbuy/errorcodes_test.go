package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
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
	var doc struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Codes []string `json:"x-error-codes"`
			} `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openAPIJSON, &doc); err != nil {
		t.Fatal(err)
	}
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
