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
