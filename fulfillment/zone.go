package fulfillment

import "groupbuy/internal/apperr"

// Zone is a temperature zone; goods of different zones are picked and bagged apart.
type Zone string

// The temperature zones.
const (
	Ambient Zone = "ambient"
	Chilled Zone = "chilled"
	Frozen  Zone = "frozen"
)

// Valid reports whether z names a zone.
func (z Zone) Valid() bool { return z == Ambient || z == Chilled || z == Frozen }

// CheckZoneFilter refuses a zone query parameter that names no zone; "" is
// no filter.
func CheckZoneFilter(z Zone) error {
	if z != "" && !z.Valid() {
		return apperr.InvalidField("zone", "zone must be ambient, chilled or frozen")
	}
	return nil
}

// Limits on what one request may ask for; they keep sums far from overflow.
const (
	MaxPriceFen = 100_000_000 // 1,000,000 yuan per unit
	MaxStockCap = 10_000_000
	MaxWeightG  = 1_000_000 // one tonne per unit
	MaxVolumeML = 10_000_000
	MaxQuantity = 9_999 // units of one order line
)
