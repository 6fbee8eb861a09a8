package supplieraccount

import (
	"testing"

	"groupbuy/fulfillment/supply"
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

// linesBySupplier closes and purchases the night and returns the purchase
// order line of sku of each supplier that has one, by the supplier's code.
func (f *fixture) linesBySupplier(t *testing.T, sku string) map[string]supply.PurchaseOrderLine {
	f.Close()
	f.Purchase()
	out := map[string]supply.PurchaseOrderLine{}
	for _, o := range f.Orders().Orders {
		for name, s := range f.Sups {
			if o.SupplierID == s.ID {
				out[name] = supplytest.LineOf(t, o, sku)
			}
		}
	}
	return out
}
