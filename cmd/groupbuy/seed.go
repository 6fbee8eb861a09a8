package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"time"

	"groupbuy/fulfillment"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// The demo city: one warehouse in Shanghai's Minhang district.
var demoWarehouse = pickup.Warehouse{
	Code: "SH-MH", Name: "上海闵行中心仓", Address: "上海市闵行区春申路 1 号",
	Lat: 31.1120, Lng: 121.3815, TimeZone: "Asia/Shanghai",
	CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0),
}

// Product names are built from a base list and pack sizes, giving ~300 SKUs.
var demoBases = []struct {
	name, unit string
	zone       fulfillment.Zone
	grams      int64
	priceFen   int64
}{
	{"东北大米", "袋", fulfillment.Ambient, 5000, 3990}, {"五常稻花香米", "袋", fulfillment.Ambient, 2500, 4590},
	{"土鸡蛋", "盒", fulfillment.Chilled, 900, 1890}, {"纯牛奶", "箱", fulfillment.Ambient, 3000, 5490},
	{"鲜牛奶", "瓶", fulfillment.Chilled, 950, 1290}, {"酸奶", "杯", fulfillment.Chilled, 200, 390},
	{"西红柿", "份", fulfillment.Chilled, 500, 490}, {"黄瓜", "份", fulfillment.Chilled, 500, 390},
	{"土豆", "份", fulfillment.Ambient, 1000, 390}, {"胡萝卜", "份", fulfillment.Ambient, 500, 290},
	{"上海青", "份", fulfillment.Chilled, 400, 350}, {"大白菜", "颗", fulfillment.Ambient, 2000, 590},
	{"红富士苹果", "份", fulfillment.Ambient, 1500, 1290}, {"赣南脐橙", "份", fulfillment.Ambient, 2500, 1990},
	{"香蕉", "把", fulfillment.Ambient, 1000, 790}, {"麒麟西瓜", "个", fulfillment.Ambient, 4000, 2490},
	{"猪五花肉", "份", fulfillment.Chilled, 500, 1890}, {"猪里脊", "份", fulfillment.Chilled, 400, 1690},
	{"鸡翅中", "袋", fulfillment.Frozen, 1000, 3290}, {"鸡胸肉", "袋", fulfillment.Frozen, 1000, 1990},
	{"牛腩", "份", fulfillment.Frozen, 500, 4590}, {"冻虾仁", "袋", fulfillment.Frozen, 250, 2990},
	{"带鱼段", "袋", fulfillment.Frozen, 500, 2590}, {"三全水饺", "袋", fulfillment.Frozen, 1000, 1590},
	{"汤圆", "袋", fulfillment.Frozen, 500, 1190}, {"老豆腐", "盒", fulfillment.Chilled, 400, 290},
	{"菜籽油", "桶", fulfillment.Ambient, 5000, 6990}, {"生抽酱油", "瓶", fulfillment.Ambient, 500, 990},
	{"挂面", "包", fulfillment.Ambient, 1000, 890}, {"抽纸", "提", fulfillment.Ambient, 1200, 2490},
}

var demoPacks = []struct {
	label  string
	factor float64
}{{"", 1}, {"家庭装", 2}, {"尝鲜装", 0.5}, {"精选", 1}, {"特惠", 1}, {"两份装", 2}, {"三份装", 3}, {"有机", 1}, {"臻选", 1.5}, {"小份", 0.3}}

// The demo fleet, sized for a night of the 200 demo points: each of the
// 07:00-10:00 window's routes serves fifteen to twenty points (five minutes
// at each, a few between), so about a dozen routes, each carrying up to a
// tonne and a half of groceries.
var demoFleet = []fulfillment.VehicleType{
	{Code: "VAN42", Name: "4.2米冷藏车", Count: 16, CapacityG: 1_500_000, CapacityML: 12_000_000,
		ShiftStart: clock.NewTimeOfDay(5, 0), ShiftEnd: clock.NewTimeOfDay(12, 0), FixedCostFen: 30000, CostPerKmFen: 150},
	{Code: "TRUCK76", Name: "7.6米冷藏车", Count: 6, CapacityG: 5_000_000, CapacityML: 35_000_000,
		ShiftStart: clock.NewTimeOfDay(5, 0), ShiftEnd: clock.NewTimeOfDay(12, 0), FixedCostFen: 60000, CostPerKmFen: 300},
}

var demoEstates = []string{"春申", "莘庄", "七宝", "古美", "梅陇", "颛桥", "吴泾", "虹桥", "华漕", "浦江", "马桥", "江川", "新虹", "龙柏", "田园", "银都", "锦江", "金都", "碧桂", "万科"}
var demoSuffixes = []string{"新村", "花园", "小区", "公寓", "家园", "苑", "名邸", "佳苑", "华庭", "雅居"}

// seedDemoCity fills an empty database with the demo city and its fleet,
// and publishes tomorrow's sale when there is none yet (a dev database
// outlives its day).
func seedDemoCity(ctx context.Context, a *app, log *slog.Logger) error {
	w, err := pickup.WarehouseByCode(ctx, a.db, demoWarehouse.Code)
	if errors.Is(err, pickup.ErrWarehouseNotFound) {
		if w, err = seedDemoNetwork(ctx, a); err == nil {
			log.Info("seeded demo city", "warehouse", w.Code, "pickup_points", 200, "products", len(demoBases)*len(demoPacks))
		}
	}
	if err != nil {
		return err
	}
	// Without trucks the route stage fails: a demo database seeded before
	// the fleet existed gets it too.
	fleet, err := fulfillment.ListVehicleTypes(ctx, a.db, w.ID)
	if err != nil {
		return err
	}
	if len(fleet) == 0 {
		if err := seedDemoFleet(ctx, a, w.ID); err != nil {
			return err
		}
		log.Info("seeded the demo fleet", "warehouse", w.Code, "vehicle_types", len(demoFleet))
	}
	date := tomorrowAtDemo(a.clock)
	items, err := fulfillment.ListSaleItems(ctx, a.db, w.ID, date)
	if err != nil || len(items) > 0 {
		return err
	}
	var products []fulfillment.Product
	for page := (fulfillment.ProductPage{HasMore: true}); page.HasMore; {
		if page, err = fulfillment.ListProducts(ctx, a.db, page.NextID, 1000); err != nil {
			return err
		}
		products = append(products, page.Products...)
	}
	rng := rand.New(rand.NewPCG(uint64(date.Unix()), 2))
	offers := make([]fulfillment.Offer, 0, len(products))
	for _, p := range products {
		var b, k int
		if _, err := fmt.Sscanf(p.SKU, "SKU%02d%02d", &b, &k); err != nil || b < 1 || b > len(demoBases) || k >= len(demoPacks) {
			continue // not a demo product
		}
		offers = append(offers, fulfillment.Offer{ProductID: p.ID,
			PriceFen: int64(float64(demoBases[b-1].priceFen) * demoPacks[k].factor),
			StockCap: int64(50 + rng.IntN(950))})
	}
	if len(offers) == 0 {
		return nil
	}
	_, err = a.orders.Publish(ctx, w.ID, date, offers)
	if err == nil {
		log.Info("published the demo sale", "delivery_date", date.String(), "items", len(offers))
	}
	return err
}

// seedDemoNetwork creates the demo warehouse, its 200 pickup points with
// leaders, and the demo products.
func seedDemoNetwork(ctx context.Context, a *app) (pickup.Warehouse, error) {
	rng := rand.New(rand.NewPCG(20261123, 1))
	w, err := a.pickup.CreateWarehouse(ctx, demoWarehouse)
	if err != nil {
		return w, err
	}
	for i := range 200 {
		// Points cluster around the warehouse, denser near it, within ~15 km.
		r := 15 * math.Sqrt(rng.Float64())
		theta := 2 * math.Pi * rng.Float64()
		lat := w.Lat + r*math.Cos(theta)/111.0
		lng := w.Lng + r*math.Sin(theta)/(111.0*math.Cos(w.Lat*math.Pi/180))
		estate := demoEstates[i%len(demoEstates)] + demoSuffixes[(i/len(demoEstates))%len(demoSuffixes)]
		_, err := a.pickup.SavePoint(ctx, pickup.PointInput{
			Point: pickup.Point{Code: fmt.Sprintf("MH%04d", i+1), WarehouseID: w.ID, Name: estate + "自提点",
				Address: fmt.Sprintf("闵行区%s路%d号", demoEstates[(i*7)%len(demoEstates)], 10+i), Lat: lat, Lng: lng,
				Opens: clock.NewTimeOfDay(8, 0), Closes: clock.NewTimeOfDay(21, 0)},
			LeaderName:  fmt.Sprintf("团长%03d", i+1),
			LeaderPhone: fmt.Sprintf("1390000%04d", i+1),
		})
		if err != nil {
			return w, err
		}
	}
	var products []fulfillment.Product
	for p, pack := range demoPacks {
		for b, base := range demoBases {
			grams := int64(math.Max(100, float64(base.grams)*pack.factor))
			products = append(products, fulfillment.Product{
				SKU: fmt.Sprintf("SKU%02d%02d", b+1, p), Name: pack.label + base.name, Unit: base.unit,
				WeightG: grams, VolumeML: grams * 12 / 10, Zone: base.zone,
				Bin: fmt.Sprintf("%s-%02d-%02d", zoneAisle(base.zone), b+1, p+1), Category: base.name,
			})
		}
	}
	_, err = a.orders.SaveProducts(ctx, products)
	return w, err
}

func seedDemoFleet(ctx context.Context, a *app, warehouseID int64) error {
	for _, v := range demoFleet {
		v.WarehouseID = warehouseID
		if _, err := a.orders.SaveVehicleType(ctx, v); err != nil {
			return err
		}
	}
	return nil
}

func zoneAisle(z fulfillment.Zone) string {
	switch z {
	case fulfillment.Chilled:
		return "C"
	case fulfillment.Frozen:
		return "F"
	}
	return "A"
}

// tomorrowAtDemo is tomorrow's date in the demo warehouse's time zone.
func tomorrowAtDemo(clock clock.Clock) fulfillment.Date {
	loc, _ := time.LoadLocation(demoWarehouse.TimeZone)
	t := clock.Now().In(loc).AddDate(0, 0, 1)
	return fulfillment.Date{Time: time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)}
}
