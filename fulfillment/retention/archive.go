package retention

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// detail is one table's rows of one night: its partition, or, for a pruned
// table, the rows of the night that go (of, with the night as $1). Its part
// is 1 at the first archive of the night and one more at each later (rows of
// a pruned table that qualify later, or a night loaded back and archived
// again).
type detail struct {
	Partition
	of   string
	part int
}

// file is where the rows are archived, relative to the archive directory.
func (d detail) file() string {
	name := d.Name()
	if d.part > 1 {
		name += fmt.Sprintf("-%d", d.part)
	}
	return filepath.Join(d.Parent, name+".copy.gz")
}

func (d detail) pruned() bool { return d.of != "" }

// from is the FROM clause of the rows, as t, and its arguments.
func (d detail) from() (string, []any) {
	if d.pruned() {
		return pq.QuoteIdentifier(d.Parent) + " t WHERE " + d.of, []any{d.Night}
	}
	return pq.QuoteIdentifier(d.Name()) + " t", nil
}

// archiveFile is one night of one table written to its file.
type archiveFile struct {
	detail
	File    string // relative to the archive directory
	Columns []string
	Rows    int64
	Bytes   int64
	SHA256  string
	sum     string // rowsSum of the rows written, which the drop checks against
}

// rowsSum sums a hash of each row's text: what the drop compares with the
// archive's, so a row changed between the two (not only one added or gone)
// stops the drop. The order of the rows does not matter, so nothing sorts.
const rowsSum = `coalesce(sum(hashtextextended(t::text, 0)), 0)::text`

var errNoPartition = errors.New("no such partition, or no rows of the night")

// archive writes a night of a table to <dir>/<parent>/<partition>.copy.gz
// in PostgreSQL's COPY text format (tab-separated, \N for NULL, bytea as
// hex), so `COPY parent (columns) FROM PROGRAM 'gunzip -c file'` or psql's
// \copy loads it back. The rows are read in one repeatable-read snapshot,
// counted against count(*) in it, and counted again from the synced file
// before it takes its final name.
func (s *Service) archive(ctx context.Context, d detail) (archiveFile, error) {
	p := d.Partition
	f := archiveFile{detail: d, File: d.file()}
	tx, err := s.db.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return f, err
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	table := p.Parent
	if !d.pruned() {
		table = p.Name()
		var exists bool
		if err := tx.GetContext(ctx, &exists, `SELECT to_regclass($1) IS NOT NULL`, table); err != nil {
			return f, err
		}
		if !exists {
			return f, errNoPartition
		}
	}
	if err := tx.SelectContext(ctx, &f.Columns, `SELECT attname FROM pg_attribute
		WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, table); err != nil {
		return f, err
	}
	from, args := d.from()
	var got struct {
		Rows int64  `db:"rows"`
		Sum  string `db:"sum"`
	}
	if err := tx.GetContext(ctx, &got, `SELECT count(*) AS rows, `+rowsSum+` AS sum FROM `+from, args...); err != nil {
		return f, err
	}
	want := got.Rows
	f.sum = got.Sum
	if want == 0 && d.pruned() {
		return f, errNoPartition // nothing of the night to keep
	}
	final := filepath.Join(s.policy.Dir, f.File)
	if err := os.MkdirAll(filepath.Dir(final), 0o750); err != nil {
		return f, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(final), "."+p.Name()+".*.tmp")
	if err != nil {
		return f, err
	}
	defer os.Remove(tmp.Name()) //nolint:errcheck // gone after the rename
	defer tmp.Close()
	h := sha256.New()
	zw := gzip.NewWriter(io.MultiWriter(tmp, h))
	bw := bufio.NewWriterSize(zw, 1<<16)
	if f.Rows, err = copyRows(ctx, tx, from, args, f.Columns, bw); err != nil {
		return f, err
	}
	if err := bw.Flush(); err != nil {
		return f, err
	}
	if err := zw.Close(); err != nil {
		return f, err
	}
	if err := tmp.Sync(); err != nil {
		return f, err
	}
	if f.Rows != want {
		return f, fmt.Errorf("wrote %d rows of %d", f.Rows, want)
	}
	back, err := countLines(tmp.Name())
	if err != nil {
		return f, fmt.Errorf("read the archive back: %w", err)
	}
	if back != want {
		return f, fmt.Errorf("the archive holds %d rows, the partition %d", back, want)
	}
	st, err := tmp.Stat()
	if err != nil {
		return f, err
	}
	f.Bytes, f.SHA256 = st.Size(), hex.EncodeToString(h.Sum(nil))
	if err := tmp.Close(); err != nil {
		return f, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return f, err
	}
	return f, syncDir(filepath.Dir(final))
}

// copyRows writes the rows of from (a FROM clause naming them t), every
// column as PostgreSQL's text output, one COPY text line each, and returns
// how many it wrote.
func copyRows(ctx context.Context, q sqlx.QueryerContext, from string, args []any, columns []string, w io.Writer) (int64, error) {
	sel := make([]string, len(columns))
	for i, c := range columns {
		sel[i] = "t." + pq.QuoteIdentifier(c) + "::text"
	}
	rows, err := q.QueryContext(ctx, `SELECT `+strings.Join(sel, ", ")+` FROM `+from, args...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	vals := make([]sql.NullString, len(columns))
	ptrs := make([]any, len(columns))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	var line strings.Builder
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		line.Reset()
		for i, v := range vals {
			if i > 0 {
				line.WriteByte('\t')
			}
			if !v.Valid {
				line.WriteString(`\N`)
				continue
			}
			line.WriteString(copyEscaper.Replace(v.String))
		}
		line.WriteByte('\n')
		if _, err := io.WriteString(w, line.String()); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// copyEscaper escapes a value for COPY's text format.
var copyEscaper = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)

// countLines counts the lines of a gzip file.
func countLines(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return 0, err
	}
	var n int64
	buf := make([]byte, 1<<16)
	for {
		k, err := zr.Read(buf)
		for _, b := range buf[:k] {
			if b == '\n' {
				n++
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Restore loads an archived partition's rows into table (which has at least
// its columns) inside tx, after checking the file's digest, and returns how
// many rows it loaded.
func Restore(ctx context.Context, tx *sqlx.Tx, dir string, a Archived, table string) (int64, error) {
	path := filepath.Join(dir, a.File)
	raw, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	h := sha256.New()
	zr, err := gzip.NewReader(io.TeeReader(raw, h))
	if err != nil {
		return 0, err
	}
	cols := make([]string, len(a.Columns))
	for i, c := range a.Columns {
		cols[i] = pq.QuoteIdentifier(c)
	}
	st, err := tx.PrepareContext(ctx, `COPY `+pq.QuoteIdentifier(table)+` (`+strings.Join(cols, ", ")+`) FROM STDIN`)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var n int64
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != len(cols) {
			return n, fmt.Errorf("%s line %d: %d fields, want %d", a.File, n+1, len(fields), len(cols))
		}
		vals := make([]any, len(fields))
		for i, f := range fields {
			if f != `\N` {
				vals[i] = copyUnescape(f)
			}
		}
		if _, err := st.ExecContext(ctx, vals...); err != nil {
			return n, err
		}
		n++
	}
	if err := sc.Err(); err != nil {
		return n, err
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return n, err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
		return n, fmt.Errorf("%s: sha256 %s, recorded %s", a.File, got, a.SHA256)
	}
	if n != a.Rows {
		return n, fmt.Errorf("%s: %d rows, recorded %d", a.File, n, a.Rows)
	}
	if _, err := st.ExecContext(ctx); err != nil {
		return n, err
	}
	return n, nil
}

// copyUnescape reverses copyEscaper.
func copyUnescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 't':
			b.WriteByte('\t')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
