// Package csvio reads the CSV files groupbuy imports (rows addressed by
// header, errors naming their line and column) and writes the ones it hands
// out under the one rule against formula injection.
package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"groupbuy/internal/apperr"
)

// MaxBytes bounds a CSV upload.
const MaxBytes = 32 << 20

// Upload is the request of a route whose body is a CSV file (an import).
type Upload struct {
	Body io.Reader `content:"text/csv"`
}

// Limited returns the body, refused past MaxBytes.
func (u Upload) Limited(w http.ResponseWriter) io.Reader {
	return http.MaxBytesReader(w, io.NopCloser(u.Body), MaxBytes)
}

// Row is one data row of an import, addressed by header name.
type Row struct {
	Line   int // 1-based line number in the file, for error messages
	cols   map[string]int
	fields []string
}

// Get returns the trimmed value of column name.
func (r Row) Get(name string) string {
	i, ok := r.cols[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// Int parses column name as an integer.
func (r Row) Int(name string) (int64, error) {
	n, err := strconv.ParseInt(r.Get(name), 10, 64)
	if err != nil {
		return 0, r.Errorf(name, "%s must be an integer, got %q", name, r.Get(name))
	}
	return n, nil
}

// Float parses column name as a finite number.
func (r Row) Float(name string) (float64, error) {
	f, err := strconv.ParseFloat(r.Get(name), 64)
	if err != nil || f != f {
		return 0, r.Errorf(name, "%s must be a number, got %q", name, r.Get(name))
	}
	return f, nil
}

// Errorf returns an import error naming this row's line and the column.
func (r Row) Errorf(column, format string, args ...any) *apperr.Error {
	return LineError(r.Line, column, fmt.Sprintf(format, args...))
}

// LineError is the error for a bad row: 400 with its line and column.
func LineError(line int, column, msg string) *apperr.Error {
	e := apperr.Errorf(apperr.Invalid, "bad_csv_row", "line %d: %s; nothing was imported", line, msg)
	e.Field = column
	return e.With("line", line)
}

// AtLine re-labels a validation error from a row's fields with the row's
// line; an error that names its line already (LineError) passes as it is.
func AtLine(line int, err error) error {
	var e *apperr.Error
	if errors.As(err, &e) && e.Kind == apperr.Invalid {
		if _, labelled := e.Details["line"]; labelled {
			return err
		}
		return LineError(line, e.Field, e.Message)
	}
	return err
}

// Limits of an import beyond its bytes: encoding/csv holds a whole line,
// and every row is held until the import is checked, so a file of commas
// or of empty rows took a hundred times its size in memory.
const (
	MaxLineBytes = 64 << 10
	MaxColumns   = 100
	MaxRows      = 100_000
)

// Columns are the columns of an import. The header names every required
// one and may name the optional ones, in any order; any other name is
// refused: a misspelled optional column would import as empty, over what
// is stored. Empty header cells (a spreadsheet's padding) are allowed.
type Columns struct {
	Required []string
	Optional []string
}

func (c Columns) known(name string) bool {
	return slices.Contains(c.Required, name) || slices.Contains(c.Optional, name)
}

// Read reads a CSV with a header row naming columns by c. UTF-8 with or
// without BOM; rows whose every field is blank (as spreadsheets write them)
// are skipped. Any malformed line is an error naming it.
func Read(r io.Reader, c Columns) ([]Row, error) {
	br := bufio.NewReader(&limitedReader{r: r, left: MaxBytes, line: 1, lineLeft: MaxLineBytes})
	if bom, _ := br.Peek(3); string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, apperr.Errorf(apperr.Invalid, "bad_csv", "the CSV is empty; a header row is expected")
	}
	if err != nil {
		return nil, csvParseError(err)
	}
	if len(header) > MaxColumns {
		return nil, LineError(1, "", fmt.Sprintf("the header has %d columns, more than %d", len(header), MaxColumns))
	}
	cols := make(map[string]int, len(header))
	names := make([]string, len(header))
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if h == "" {
			names[i] = h
			continue
		}
		if _, dup := cols[h]; dup {
			// Which of the two would count is a guess; refuse rather than pick.
			return nil, LineError(1, h, fmt.Sprintf("the header names column %q twice", h))
		}
		if !c.known(h) {
			return nil, LineError(1, h, fmt.Sprintf("the header names column %q, which is not one of %s", h,
				strings.Join(append(slices.Clone(c.Required), c.Optional...), ",")))
		}
		cols[h], names[i] = i, h
	}
	for _, name := range c.Required {
		if _, ok := cols[name]; !ok {
			return nil, LineError(1, name, fmt.Sprintf("the header lacks column %q (required: %s)", name, strings.Join(c.Required, ",")))
		}
	}
	var rows []Row
	for {
		fields, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvParseError(err)
		}
		line, _ := cr.FieldPos(0)
		if blank(fields) {
			continue
		}
		if len(fields) != len(header) {
			return nil, LineError(line, "", fmt.Sprintf("%d fields, the header has %d", len(fields), len(header)))
		}
		// PostgreSQL text holds neither NUL nor bytes that are not UTF-8: a
		// file saved as GBK must be refused here, not fail as a 500 later.
		for i, f := range fields {
			if !utf8.ValidString(f) {
				line, _ := cr.FieldPos(i)
				return nil, LineError(line, names[i], fmt.Sprintf("column %s is not UTF-8 text (save the file as \"CSV UTF-8\")", names[i]))
			}
			if strings.IndexByte(f, 0) >= 0 {
				line, _ := cr.FieldPos(i)
				return nil, LineError(line, names[i], fmt.Sprintf("column %s contains a NUL character", names[i]))
			}
		}
		if len(rows) == MaxRows {
			return nil, apperr.Errorf(apperr.Invalid, "body_too_large", "the CSV has more than %d rows; split it", MaxRows)
		}
		rows = append(rows, Row{Line: line, cols: cols, fields: fields})
	}
	if len(rows) == 0 {
		return nil, apperr.Errorf(apperr.Invalid, "bad_csv", "the CSV has a header but no rows")
	}
	return rows, nil
}

// blank reports whether every field is empty but for white space.
func blank(fields []string) bool {
	for _, f := range fields {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// limitedReader fails, rather than stopping quietly, once more than left
// bytes were read (a file cut at the limit must not import as if whole),
// or a line runs past MaxLineBytes.
type limitedReader struct {
	r        io.Reader
	left     int64
	line     int   // the line being read, from 1
	lineLeft int64 // bytes the line may still take
}

var errCSVTooLarge = apperr.Errorf(apperr.Invalid, "body_too_large", "the CSV exceeds %d bytes; split it", MaxBytes)

func (l *limitedReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, errCSVTooLarge
	}
	for b := p[:n]; len(b) > 0; {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			l.lineLeft -= int64(len(b))
			break
		}
		if l.lineLeft -= int64(i); l.lineLeft < 0 {
			break
		}
		l.line++
		l.lineLeft = MaxLineBytes
		b = b[i+1:]
	}
	if l.lineLeft < 0 {
		return n, LineError(l.line, "", fmt.Sprintf("the line is longer than %d bytes", MaxLineBytes))
	}
	return n, err
}

// Writer writes the CSV files the system hands out: every cell passes
// Cell, so no text from a user runs as a formula in the spreadsheet that
// opens the file. Every CSV written goes through it; there is no other rule.
type Writer struct{ w *csv.Writer }

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer) *Writer { return &Writer{w: csv.NewWriter(w)} }

// Write writes one row.
func (w *Writer) Write(row []string) error {
	cells := make([]string, len(row))
	for i, c := range row {
		cells[i] = Cell(c)
	}
	return w.w.Write(cells)
}

// Flush writes any buffered rows and returns the first error of any write.
func (w *Writer) Flush() error {
	w.w.Flush()
	return w.w.Error()
}

// Cell is what a cell holds so a spreadsheet shows it rather than runs
// it (OWASP's rule against CSV injection): text starting with = + - @, a tab
// or a carriage return gets a leading apostrophe. A plain decimal number such
// as -12 or -0.5 is left alone: the spreadsheet reads it as the number it is.
func Cell(s string) string {
	if s == "" || !strings.ContainsRune("=+-@\t\r", rune(s[0])) || plainNumber(s) {
		return s
	}
	return "'" + s
}

// plainNumber reports whether s is -digits or -digits.digits.
func plainNumber(s string) bool {
	s = strings.TrimPrefix(s, "-")
	whole, frac, dot := strings.Cut(s, ".")
	return allDigits(whole) && (!dot || allDigits(frac))
}

func allDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

func csvParseError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.Is(err, errCSVTooLarge) || errors.As(err, &tooBig) {
		return errCSVTooLarge
	}
	var ae *apperr.Error
	if errors.As(err, &ae) {
		return ae
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return LineError(pe.Line, "", pe.Err.Error())
	}
	return apperr.Errorf(apperr.Invalid, "bad_csv", "cannot read CSV: %v", err)
}
