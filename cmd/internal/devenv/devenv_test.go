package devenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestASourcedFileGivesTheValuesBack: values with &, $, a blank and a quote
// come back the same from a shell sourcing the file and from Read.
func TestASourcedFileGivesTheValuesBack(t *testing.T) {
	vars := []Var{{"DATABASE_URL", "postgres://u@h/db?sslmode=disable&connect_timeout=10"}, {"A", "it's $HOME and a blank"}}
	path := filepath.Join(t.TempDir(), "dev.env")
	if err := os.WriteFile(path, []byte(Format(vars...)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("env", "-i", "sh", "-c", `. "$1" && env`, "sh", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	sourced, read := Parse(string(out)), Read(path)
	for _, v := range vars {
		if sourced[v.Name] != v.Value || read[v.Name] != v.Value {
			t.Errorf("%s: sourced %q, read %q, want %q", v.Name, sourced[v.Name], read[v.Name], v.Value)
		}
	}
}
