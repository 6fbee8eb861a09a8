package pg

import (
	"sync"

	"github.com/jmoiron/sqlx"
)

// txHooks holds the after-commit hooks of the transactions InTx has open,
// by *sqlx.Tx; InTx removes a transaction's entry when it ends.
var txHooks sync.Map

type commitHooks struct {
	mu  sync.Mutex
	fns []func()
}

func (h *commitHooks) run() {
	h.mu.Lock()
	fns := h.fns
	h.fns = nil
	h.mu.Unlock()
	for _, f := range fns {
		f()
	}
}

// AfterCommit runs fn once tx has committed, if tx was begun by InTx; if tx
// rolls back (or is retried), fn never runs. It is for what must count only
// what was written, such as metrics. For a transaction begun elsewhere fn is
// dropped: nobody would know when it committed.
func AfterCommit(tx *sqlx.Tx, fn func()) {
	v, ok := txHooks.Load(tx)
	if !ok {
		return
	}
	h := v.(*commitHooks)
	h.mu.Lock()
	h.fns = append(h.fns, fn)
	h.mu.Unlock()
}
