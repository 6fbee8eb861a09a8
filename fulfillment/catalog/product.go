package catalog

import (
	"context"

	"github.com/jmoiron/sqlx"

	"groupbuy/internal/pg"
)

// GetProduct returns one product.
func GetProduct(ctx context.Context, q sqlx.QueryerContext, id int64) (Product, error) {
	return pg.GetOne[Product](ctx, q, ErrProductNotFound, `SELECT `+productCols+` FROM products WHERE id = $1`, id)
}

// LockProduct holds a product's row until tx ends, so that commands that
// replace what hangs off it (its supply terms) take turns. NO KEY UPDATE:
// rows that merely reference the product are still written meanwhile.
func LockProduct(ctx context.Context, tx *sqlx.Tx, id int64) error {
	_, err := pg.GetOne[int64](ctx, tx, ErrProductNotFound, `SELECT id FROM products WHERE id = $1 FOR NO KEY UPDATE`, id)
	return err
}
