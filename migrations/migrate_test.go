package migrations_test

import (
	"context"
	"sync"
	"testing"

	"groupbuy/internal/pg"
	"groupbuy/internal/testenv"
	"groupbuy/migrations"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestProcessesMigratingTogether: processes starting together on a new
// database (two `groupbuy migrate`, migrate and token, serve and worker)
// take turns; neither fails on the other's half-applied migration.
func TestProcessesMigratingTogether(t *testing.T) {
	ctx := context.Background()
	for trial := range 2 {
		url := testenv.EmptyDatabase(t)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i := range errs {
			wg.Go(func() {
				db, err := pg.Open(ctx, url, 2)
				if err != nil {
					errs[i] = err
					return
				}
				defer db.Close()
				errs[i] = migrations.Up(ctx, db)
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("trial %d: process %d of 3 migrating together: %v", trial, i+1, err)
			}
		}
	}
}
