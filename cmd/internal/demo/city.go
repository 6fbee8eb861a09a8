package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"github.com/jmoiron/sqlx"

	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/intake"
	"groupbuy/fulfillment/lastmile"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/fulfillment/supply"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// Services are what the demo city is seeded through and its day runs on:
// the services the API's handlers call, over one database and clock.
type Services struct {
	DB         *sqlx.DB
	Clock      clock.Clock
	Log        *slog.Logger
	Pickup     *pickup.Service
	Catalog    *catalog.Service
	Fleet      *routeplan.Service
	Supply     *supply.Service
	Intake     *intake.Intake
	Deliveries *lastmile.Service
	Desk       *lastmile.Desk
}

// demoSuppliers is how many suppliers the demo city buys from.
const demoSuppliers = 12

// SeedCity fills an empty database with the demo city, its fleet and its
// suppliers, and publishes tomorrow's sale when there is none yet (a dev
// database outlives its day).
func SeedCity(ctx context.Context, a Services) error {
	w, err := pickup.WarehouseByCode(ctx, a.DB, Warehouse.Code)
	if errors.Is(err, pickup.ErrWarehouseNotFound) {
		if w, err = seedNetwork(ctx, a); err == nil {
			a.Log.Info("seeded demo city", "warehouse", w.Code, "pickup_points", 200, "products", len(Bases)*len(Packs))
		}
	}
	if err != nil {
		return err
	}
	// Without trucks the route stage fails: a demo database seeded before
	// the fleet existed gets it too.
	fleet, err := routeplan.ListVehicleTypes(ctx, a.DB, w.ID)
	if err != nil {
		return err
	}
	if len(fleet) == 0 {
		if err := SeedFleet(ctx, a.Fleet, w.ID); err != nil {
			return err
		}
		a.Log.Info("seeded the demo fleet", "warehouse", w.Code, "vehicle_types", len(Fleet))
	}
	date := Tomorrow(a.Clock)
	items, err := catalog.ListSaleItems(ctx, a.DB, w.ID, date)
	if err != nil {
		return err
	}
	if len(items) == 0 {
		if err := publishSale(ctx, a, w, date); err != nil {
			return err
		}
	}
	// Without suppliers a wave has no purchase orders and waits for typed
	// receipts or its receiving deadline: a demo database seeded before
	// they existed gets them too, for every product on sale.
	sups, err := supply.ListSuppliers(ctx, a.DB)
	if err != nil || len(sups) > 0 {
		return err
	}
	n, err := SimSuppliers(ctx, a.DB, a.Supply, w.ID, date, demoSuppliers, 1)
	if err == nil {
		a.Log.Info("seeded the demo suppliers", "suppliers", demoSuppliers, "products", n)
	}
	return err
}

// publishSale puts every demo product on sale for date, at its base's
// price times its pack's factor, with a stock cap of 50 to 950.
func publishSale(ctx context.Context, a Services, w pickup.Warehouse, date fulfillment.Date) error {
	var products []catalog.Product
	var err error
	for page := (catalog.ProductPage{HasMore: true}); page.HasMore; {
		if page, err = catalog.ListProducts(ctx, a.DB, page.NextID, 1000); err != nil {
			return err
		}
		products = append(products, page.Products...)
	}
	rng := rand.New(rand.NewPCG(uint64(date.Unix()), 2))
	offers := make([]catalog.Offer, 0, len(products))
	for _, p := range products {
		var b, k int
		if _, err := fmt.Sscanf(p.SKU, "SKU%02d%02d", &b, &k); err != nil || b < 1 || b > len(Bases) || k >= len(Packs) {
			continue // not a demo product
		}
		offers = append(offers, catalog.Offer{ProductID: p.ID,
			PriceFen: int64(float64(Bases[b-1].PriceFen) * Packs[k].Factor),
			StockCap: int64(50 + rng.IntN(950))})
	}
	if len(offers) == 0 {
		return nil
	}
	_, err = a.Catalog.Publish(ctx, w.ID, date, offers)
	if err == nil {
		a.Log.Info("published the demo sale", "delivery_date", date.String(), "items", len(offers))
	}
	return err
}

// seedNetwork creates the demo warehouse, its 200 pickup points with
// leaders, and the demo products.
func seedNetwork(ctx context.Context, a Services) (pickup.Warehouse, error) {
	rng := rand.New(rand.NewPCG(20261123, 1))
	w, err := a.Pickup.CreateWarehouse(ctx, Warehouse)
	if err != nil {
		return w, err
	}
	for i := range 200 {
		// Points cluster around the warehouse, denser near it, within ~15 km.
		r := 15 * math.Sqrt(rng.Float64())
		theta := 2 * math.Pi * rng.Float64()
		lat := w.Lat + r*math.Cos(theta)/111.0
		lng := w.Lng + r*math.Sin(theta)/(111.0*math.Cos(w.Lat*math.Pi/180))
		estate := Estates[i%len(Estates)] + Suffixes[(i/len(Estates))%len(Suffixes)]
		_, err := a.Pickup.SavePoint(ctx, pickup.PointInput{
			Point: pickup.Point{Code: fmt.Sprintf("MH%04d", i+1), WarehouseID: w.ID, Name: estate + "自提点",
				Address: fmt.Sprintf("闵行区%s路%d号", Estates[(i*7)%len(Estates)], 10+i), Lat: lat, Lng: lng,
				Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName:  fmt.Sprintf("团长%03d", i+1),
			LeaderPhone: fmt.Sprintf("1390000%04d", i+1),
		})
		if err != nil {
			return w, err
		}
	}
	var products []catalog.Product
	for p, pack := range Packs {
		for b, base := range Bases {
			grams := int64(math.Max(100, float64(base.Grams)*pack.Factor))
			products = append(products, catalog.Product{
				SKU: fmt.Sprintf("SKU%02d%02d", b+1, p), Name: pack.Label + base.Name, Unit: base.Unit,
				WeightG: grams, VolumeML: grams * 12 / 10, Zone: base.Zone,
				Bin: fmt.Sprintf("%s-%02d-%02d", ZoneAisle(base.Zone), b+1, p+1), Category: base.Name,
			})
		}
	}
	_, err = a.Catalog.SaveProducts(ctx, products)
	return w, err
}

// SeedFleet gives the warehouse the demo fleet.
func SeedFleet(ctx context.Context, fleet *routeplan.Service, warehouseID int64) error {
	for _, v := range Fleet {
		v.WarehouseID = warehouseID
		if _, err := fleet.SaveVehicleType(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// Tomorrow is tomorrow's date in the demo warehouse's time zone.
func Tomorrow(clk clock.Clock) fulfillment.Date {
	loc, _ := time.LoadLocation(Warehouse.TimeZone)
	t := clk.Now().In(loc).AddDate(0, 0, 1)
	return fulfillment.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}
