package notice

import (
	"github.com/gin-gonic/gin"
	"github.com/jmoiron/sqlx"
)

// Handlers are the notices' HTTP handlers. cmd/groupbuy's route table says
// who calls them.
type Handlers struct {
	db *sqlx.DB
}

// NewHandlers returns the handlers over db.
func NewHandlers(db *sqlx.DB) *Handlers {
	return &Handlers{db: db}
}

// NoticeStatsList is the outbox's notices by kind.
type NoticeStatsList struct {
	Kinds []NoticeStats `json:"kinds"`
}

// Notices answers the outbox's notices by kind and state.
func (h *Handlers) Notices(c *gin.Context, _ struct{}) (NoticeStatsList, error) {
	stats, err := OutboxStats(c.Request.Context(), h.db)
	return NoticeStatsList{Kinds: stats}, err
}
