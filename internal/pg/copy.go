package pg

import (
	"context"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// CopyIn writes n rows into table's columns with COPY, inside tx: one
// round trip for thousands of rows where an INSERT per row would take one
// each. row(i) gives row i's values in the columns' order; no rows cost no
// round trip.
func CopyIn(ctx context.Context, tx *sqlx.Tx, table string, columns []string, n int, row func(i int) []any) error {
	if n == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, pq.CopyIn(table, columns...))
	if err != nil {
		return err
	}
	defer stmt.Close()
	for i := 0; i < n; i++ {
		if _, err := stmt.ExecContext(ctx, row(i)...); err != nil {
			return err
		}
	}
	_, err = stmt.ExecContext(ctx)
	return err
}
