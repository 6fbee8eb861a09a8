package supplieraccount

import (
	"testing"

	"groupbuy/fulfillment/supply/supplytest"
	"groupbuy/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// fixture is the supply side's test night with the account service on it.
type fixture struct {
	*supplytest.Fixture
	acct *Service
}

func newFixture(t *testing.T) *fixture {
	f := supplytest.New(t)
	return &fixture{Fixture: f, acct: NewService(f.DB, f.Clock, f.Svc)}
}
