// Package supplieraccount keeps the warehouse's account with each supplier
// after the dock: goods going back to it (退供, one numbered document per
// supplier) and its statement for a period (对账单: accepted × price − stock
// returned). It builds on the supply side's purchase orders, receiving
// records and stock ledger, which package supply owns.
package supplieraccount

import (
	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment/supply"
	"groupbuy/internal/clock"
)

// Service runs the account's commands, each in one transaction.
type Service struct {
	db     *sqlx.DB
	clock  clock.Clock
	supply *supply.Service
}

// NewService returns the account service over the supply side's.
func NewService(db *sqlx.DB, clk clock.Clock, sup *supply.Service) *Service {
	return &Service{db: db, clock: clk, supply: sup}
}
