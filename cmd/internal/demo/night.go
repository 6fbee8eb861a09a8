package demo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/intake"
	"groupbuy/internal/clock"
	"groupbuy/internal/pg"
	"groupbuy/pickup"
)

// Spec is the shape of a simulated city night.
type Spec struct {
	Warehouse string  // warehouse code, created when missing
	Points    int     // pickup points
	SKUs      int     // SKUs on sale (at least 3)
	Lines     int     // order lines
	Date      string  // delivery date YYYY-MM-DD ("": tomorrow in the warehouse's time zone)
	Seed      uint64  // random seed
	CityKm    float64 // city diameter in km
	Lat, Lng  float64 // city centre
}

// SimCity is the simulated night's usual shape, around Shanghai's centre;
// callers set the sizes (Points, SKUs, Lines) and, when they want, the date.
var SimCity = Spec{Warehouse: "SIM", Seed: 1, CityKm: 30, Lat: 31.2304, Lng: 121.4737}

// Summary is what a simulated night holds.
type Summary struct {
	Date                                   string
	Points, SKUs, Residents, Orders, Lines int
}

// ErrNightExists is returned by Simulate when the warehouse already has
// orders for the date: a second run would double the night.
var ErrNightExists = errors.New("a date with orders is not simulated again")

// Simulate fills db with a realistic day for one warehouse, in one
// transaction: clustered pickup points with leaders and residents, SKUs of
// three temperature zones with Zipf-like popularity, and placed orders loaded
// with COPY, so the night can be run and measured. The network and products
// are reused when they exist; a date that already has orders is refused
// (ErrNightExists).
func Simulate(ctx context.Context, db *sqlx.DB, clk clock.Clock, s Spec) (Summary, error) {
	if s.Points < 1 || s.SKUs < 3 || s.Lines < 1 {
		return Summary{}, errors.New("simulate: points, SKUs (at least 3) and lines must be positive")
	}
	var sum Summary
	rng := rand.New(rand.NewPCG(s.Seed, 0x5eed))
	now := clk.Now().Truncate(time.Microsecond)
	err := pg.InTx(ctx, db, func(tx *sqlx.Tx) error {
		w, err := pickup.WarehouseByCode(ctx, tx, s.Warehouse)
		if errors.Is(err, pickup.ErrWarehouseNotFound) {
			nw := pickup.Warehouse{Code: s.Warehouse, Name: "模拟城市中心仓", Address: "模拟路 1 号", Lat: s.Lat, Lng: s.Lng,
				TimeZone: "Asia/Shanghai", CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0)}
			w, err = pickup.CreateWarehouse(ctx, tx, nw, now)
		}
		if err != nil {
			return err
		}
		date, err := simDate(w, s.Date, now)
		if err != nil {
			return err
		}
		sum.Date = date.String()
		var existing int
		if err := tx.GetContext(ctx, &existing, `SELECT count(*) FROM orders WHERE warehouse_id = $1 AND delivery_date = $2`, w.ID, date); err != nil {
			return err
		}
		if existing > 0 {
			return fmt.Errorf("simulate: %s already has %d orders for %s: %w", w.Code, existing, date, ErrNightExists)
		}
		points, err := simPoints(ctx, tx, rng, w, s, now)
		if err != nil {
			return err
		}
		items, popularity, err := simCatalog(ctx, tx, rng, w, date, s, now)
		if err != nil {
			return err
		}
		residents, err := simResidents(ctx, tx, points, s, now)
		if err != nil {
			return err
		}
		orders := simOrders(rng, w, date, points, residents, items, popularity, s.Lines, now)
		for _, o := range orders {
			sum.Lines += len(o.Lines)
		}
		if _, _, err := intake.CopyOrders(ctx, tx, orders); err != nil {
			return err
		}
		sum.Points, sum.SKUs, sum.Orders = len(points), len(items), len(orders)
		for _, r := range residents {
			sum.Residents += len(r)
		}
		return nil
	})
	return sum, err
}

func simDate(w pickup.Warehouse, given string, now time.Time) (fulfillment.Date, error) {
	if given != "" {
		return fulfillment.ParseDate("date", given)
	}
	loc, err := w.Location()
	if err != nil {
		return fulfillment.Date{}, err
	}
	t := now.In(loc).AddDate(0, 0, 1)
	return fulfillment.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}, nil
}

// simPoints returns the warehouse's simulated points, creating those missing:
// neighbourhoods of about 100 points each, scattered over the city.
func simPoints(ctx context.Context, tx *sqlx.Tx, rng *rand.Rand, w pickup.Warehouse, s Spec, now time.Time) ([]pickup.Point, error) {
	have, err := pickup.ListPoints(ctx, tx, w.ID)
	if err != nil {
		return nil, err
	}
	byCode := make(map[string]pickup.Point, len(have))
	for _, p := range have {
		byCode[p.Code] = p
	}
	clusters := max(1, s.Points/100)
	type centre struct{ lat, lng float64 }
	centres := make([]centre, clusters)
	kmLat, kmLng := 1/111.0, 1/(111.0*math.Cos(s.Lat*math.Pi/180))
	for i := range centres {
		r, th := s.CityKm/2*math.Sqrt(rng.Float64()), 2*math.Pi*rng.Float64()
		centres[i] = centre{s.Lat + r*math.Cos(th)*kmLat, s.Lng + r*math.Sin(th)*kmLng}
	}
	var missing []pickup.BulkPoint
	codes := make([]string, s.Points)
	for i := range s.Points {
		c := centres[i%clusters]
		lat, lng := c.lat+rng.NormFloat64()*0.8*kmLat, c.lng+rng.NormFloat64()*0.8*kmLng
		codes[i] = fmt.Sprintf("%s-P%05d", w.Code, i+1)
		if _, ok := byCode[codes[i]]; ok {
			continue
		}
		missing = append(missing, pickup.BulkPoint{
			Point: pickup.Point{Code: codes[i], WarehouseID: w.ID, Name: fmt.Sprintf("%s%d号自提点", Estates[i%len(Estates)], i+1),
				Address: fmt.Sprintf("模拟区%s路%d号", Estates[(i/7)%len(Estates)], i%500+1), Lat: lat, Lng: lng, Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName: fmt.Sprintf("模拟团长%05d", i+1), LeaderPhone: fmt.Sprintf("1%03d%07d", 700+int(w.ID%300), i+1),
		})
	}
	created, err := pickup.CopyPoints(ctx, tx, missing, now)
	if err != nil {
		return nil, err
	}
	for _, p := range created {
		byCode[p.Code] = p
	}
	out := make([]pickup.Point, len(codes))
	for i, c := range codes {
		out[i] = byCode[c]
	}
	return out, nil
}

// simCatalog upserts the SKUs and publishes them for the date with caps above
// the demand to come. Popularity is Zipf-like: a few SKUs take most lines.
func simCatalog(ctx context.Context, tx *sqlx.Tx, rng *rand.Rand, w pickup.Warehouse, date fulfillment.Date, s Spec, now time.Time) ([]catalog.SaleItem, *rand.Zipf, error) {
	products := make([]catalog.Product, s.SKUs)
	for i := range products {
		base := Bases[i%len(Bases)]
		zone := fulfillment.Ambient
		switch f := float64(i) / float64(s.SKUs); {
		case f >= 0.85:
			zone = fulfillment.Frozen
		case f >= 0.60:
			zone = fulfillment.Chilled
		}
		aisle := i % 40
		// A community group-buy item weighs about half a kilo on average: the
		// demo's pack sizes divided by three.
		grams := max(100, base.Grams/3)
		products[i] = catalog.Product{SKU: fmt.Sprintf("%s-S%05d", w.Code, i+1), Name: fmt.Sprintf("%s %d号", base.Name, i+1),
			Unit: base.Unit, WeightG: grams, VolumeML: grams * 12 / 10, Zone: zone,
			Bin: fmt.Sprintf("%s-%02d-%03d", ZoneAisle(zone), aisle+1, i/40+1), Category: base.Name}
	}
	saved, err := catalog.SaveProductsTx(ctx, tx, products, now)
	if err != nil {
		return nil, nil, err
	}
	bySKU := map[string]int64{}
	for _, p := range saved {
		bySKU[p.SKU] = p.ID
	}
	offers := make([]catalog.Offer, s.SKUs)
	for i, p := range products {
		offers[i] = catalog.Offer{ProductID: bySKU[p.SKU], PriceFen: Bases[i%len(Bases)].PriceFen,
			StockCap: fulfillment.MaxStockCap}
	}
	items, err := catalog.PublishTx(ctx, tx, w.ID, date, offers, now)
	if err != nil {
		return nil, nil, err
	}
	byID := map[int64]catalog.SaleItem{}
	for _, it := range items {
		byID[it.ProductID] = it
	}
	ordered := make([]catalog.SaleItem, s.SKUs) // in SKU order, so rank i is SKU i
	for i, p := range products {
		ordered[i] = byID[bySKU[p.SKU]]
	}
	return ordered, rand.NewZipf(rng, 1.1, 8, uint64(s.SKUs-1)), nil
}

// simResidents registers about 60 residents per point.
func simResidents(ctx context.Context, tx *sqlx.Tx, points []pickup.Point, s Spec, now time.Time) ([][]int64, error) {
	per := max(5, min(60, s.Lines/(3*len(points))+1))
	var people []pickup.NewResident
	for i, p := range points {
		for r := range per {
			people = append(people, pickup.NewResident{Phone: fmt.Sprintf("s%d-%d-%d", p.WarehouseID, i+1, r+1), Name: "居民", PointID: p.ID})
		}
	}
	// Residents of an earlier simulated day are already there.
	var have int
	if err := tx.GetContext(ctx, &have, `SELECT count(*) FROM residents WHERE pickup_point_id = $1 AND phone = $2`,
		people[0].PointID, people[0].Phone); err != nil {
		return nil, err
	}
	var ids []int64
	var err error
	if have > 0 {
		byPhone, err2 := pickup.EnsureResidents(ctx, tx, people, now)
		if err2 != nil {
			return nil, err2
		}
		for _, p := range people {
			ids = append(ids, byPhone[pickup.ResidentKey{PointID: p.PointID, Phone: p.Phone}].ID)
		}
	} else if ids, err = pickup.CopyResidents(ctx, tx, people, now); err != nil {
		return nil, err
	}
	out := make([][]int64, len(points))
	for i := range points {
		out[i] = ids[i*per : (i+1)*per]
	}
	return out, nil
}

// simOrders draws orders of 1-6 lines until the line budget is spent. Points
// differ in size (log-normal), SKUs in popularity (Zipf).
func simOrders(rng *rand.Rand, w pickup.Warehouse, date fulfillment.Date, points []pickup.Point, residents [][]int64,
	items []catalog.SaleItem, popularity *rand.Zipf, lines int, now time.Time) []intake.BulkOrder {
	weights := make([]float64, len(points))
	var total float64
	for i := range weights {
		total += math.Exp(rng.NormFloat64() * 0.6)
		weights[i] = total
	}
	pick := func() int {
		x := rng.Float64() * total
		lo, hi := 0, len(weights)-1
		for lo < hi {
			mid := (lo + hi) / 2
			if weights[mid] < x {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	var orders []intake.BulkOrder
	for left := lines; left > 0; {
		n := min(left, 1+rng.IntN(3)+rng.IntN(3)) // 1-5 lines, mean 3
		left -= n
		p := pick()
		o := intake.BulkOrder{LeaderID: points[p].LeaderID, PointID: points[p].ID, WarehouseID: w.ID, Date: date,
			ResidentID: residents[p][rng.IntN(len(residents[p]))], CreatedAt: now}
		seen := map[int]bool{}
		for len(o.Lines) < n {
			k := int(popularity.Uint64())
			if seen[k] {
				k = rng.IntN(len(items))
				if seen[k] {
					continue
				}
			}
			seen[k] = true
			q := int64(1)
			if rng.IntN(4) == 0 {
				q = int64(2 + rng.IntN(3))
			}
			o.Lines = append(o.Lines, intake.BulkLine{SaleItemID: items[k].ID, Quantity: q, PriceFen: items[k].PriceFen})
		}
		orders = append(orders, o)
	}
	return orders
}
