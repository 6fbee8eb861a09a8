package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"groupbuy/cmd/internal/demo"
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/catalog"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// seedDemoCity fills an empty database with the demo city and its fleet,
// and publishes tomorrow's sale when there is none yet (a dev database
// outlives its day).
func seedDemoCity(ctx context.Context, a *app, log *slog.Logger) error {
	w, err := pickup.WarehouseByCode(ctx, a.db, demo.Warehouse.Code)
	if errors.Is(err, pickup.ErrWarehouseNotFound) {
		if w, err = seedDemoNetwork(ctx, a); err == nil {
			log.Info("seeded demo city", "warehouse", w.Code, "pickup_points", 200, "products", len(demo.Bases)*len(demo.Packs))
		}
	}
	if err != nil {
		return err
	}
	// Without trucks the route stage fails: a demo database seeded before
	// the fleet existed gets it too.
	fleet, err := routeplan.ListVehicleTypes(ctx, a.db, w.ID)
	if err != nil {
		return err
	}
	if len(fleet) == 0 {
		if err := seedDemoFleet(ctx, a, w.ID); err != nil {
			return err
		}
		log.Info("seeded the demo fleet", "warehouse", w.Code, "vehicle_types", len(demo.Fleet))
	}
	date := tomorrowAtDemo(a.clock)
	items, err := catalog.ListSaleItems(ctx, a.db, w.ID, date)
	if err != nil || len(items) > 0 {
		return err
	}
	var products []catalog.Product
	for page := (catalog.ProductPage{HasMore: true}); page.HasMore; {
		if page, err = catalog.ListProducts(ctx, a.db, page.NextID, 1000); err != nil {
			return err
		}
		products = append(products, page.Products...)
	}
	rng := rand.New(rand.NewPCG(uint64(date.Unix()), 2))
	offers := make([]catalog.Offer, 0, len(products))
	for _, p := range products {
		var b, k int
		if _, err := fmt.Sscanf(p.SKU, "SKU%02d%02d", &b, &k); err != nil || b < 1 || b > len(demo.Bases) || k >= len(demo.Packs) {
			continue // not a demo product
		}
		offers = append(offers, catalog.Offer{ProductID: p.ID,
			PriceFen: int64(float64(demo.Bases[b-1].PriceFen) * demo.Packs[k].Factor),
			StockCap: int64(50 + rng.IntN(950))})
	}
	if len(offers) == 0 {
		return nil
	}
	_, err = a.catalog.Publish(ctx, w.ID, date, offers)
	if err == nil {
		log.Info("published the demo sale", "delivery_date", date.String(), "items", len(offers))
	}
	return err
}

// seedDemoNetwork creates the demo warehouse, its 200 pickup points with
// leaders, and the demo products.
func seedDemoNetwork(ctx context.Context, a *app) (pickup.Warehouse, error) {
	rng := rand.New(rand.NewPCG(20261123, 1))
	w, err := a.pickup.CreateWarehouse(ctx, demo.Warehouse)
	if err != nil {
		return w, err
	}
	for i := range 200 {
		// Points cluster around the warehouse, denser near it, within ~15 km.
		r := 15 * math.Sqrt(rng.Float64())
		theta := 2 * math.Pi * rng.Float64()
		lat := w.Lat + r*math.Cos(theta)/111.0
		lng := w.Lng + r*math.Sin(theta)/(111.0*math.Cos(w.Lat*math.Pi/180))
		estate := demo.Estates[i%len(demo.Estates)] + demo.Suffixes[(i/len(demo.Estates))%len(demo.Suffixes)]
		_, err := a.pickup.SavePoint(ctx, pickup.PointInput{
			Point: pickup.Point{Code: fmt.Sprintf("MH%04d", i+1), WarehouseID: w.ID, Name: estate + "自提点",
				Address: fmt.Sprintf("闵行区%s路%d号", demo.Estates[(i*7)%len(demo.Estates)], 10+i), Lat: lat, Lng: lng,
				Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName:  fmt.Sprintf("团长%03d", i+1),
			LeaderPhone: fmt.Sprintf("1390000%04d", i+1),
		})
		if err != nil {
			return w, err
		}
	}
	var products []catalog.Product
	for p, pack := range demo.Packs {
		for b, base := range demo.Bases {
			grams := int64(math.Max(100, float64(base.Grams)*pack.Factor))
			products = append(products, catalog.Product{
				SKU: fmt.Sprintf("SKU%02d%02d", b+1, p), Name: pack.Label + base.Name, Unit: base.Unit,
				WeightG: grams, VolumeML: grams * 12 / 10, Zone: base.Zone,
				Bin: fmt.Sprintf("%s-%02d-%02d", demo.ZoneAisle(base.Zone), b+1, p+1), Category: base.Name,
			})
		}
	}
	_, err = a.catalog.SaveProducts(ctx, products)
	return w, err
}

func seedDemoFleet(ctx context.Context, a *app, warehouseID int64) error {
	for _, v := range demo.Fleet {
		v.WarehouseID = warehouseID
		if _, err := a.fleet.SaveVehicleType(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

// tomorrowAtDemo is tomorrow's date in the demo warehouse's time zone.
func tomorrowAtDemo(clock clock.Clock) fulfillment.Date {
	loc, _ := time.LoadLocation(demo.Warehouse.TimeZone)
	t := clock.Now().In(loc).AddDate(0, 0, 1)
	return fulfillment.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}
