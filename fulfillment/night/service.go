package night

import (
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/intake"
	"groupbuy/internal/clock"
)

// Service runs catalog and order commands, one transaction each.
type Service struct {
	db      *sqlx.DB
	clock   clock.Clock
	intake  *intake.Intake
	metrics Metrics
}

// NewService returns a Service; intake places the orders, and m counts the
// refunds and notices of receipts and after-sale refunds (nil fields:
// nothing).
func NewService(db *sqlx.DB, clock clock.Clock, intake *intake.Intake, m Metrics) *Service {
	return &Service{db: db, clock: clock, intake: intake, metrics: m.orNone()}
}
