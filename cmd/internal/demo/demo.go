// Package demo makes the cities the commands run on: the demo city that
// `groupbuy dev` seeds, the simulated city nights of `groupbuy dev`, of the
// lab's simulate and bench-wave and of the end-to-end tests, and the city of
// queued arrival notices that bench-notify and the notice crash test send.
// It lives under cmd/ because only commands and their tests fill databases
// this way; the domain packages know nothing of it.
package demo

import (
	"groupbuy/fulfillment"
	"groupbuy/fulfillment/routeplan"
	"groupbuy/internal/clock"
	"groupbuy/pickup"
)

// Warehouse is the demo city's one warehouse, in Shanghai's Minhang district.
var Warehouse = pickup.Warehouse{
	Code: "SH-MH", Name: "上海闵行中心仓", Address: "上海市闵行区春申路 1 号",
	Lat: 31.1120, Lng: 121.3815, TimeZone: "Asia/Shanghai",
	CutoffLocal: clock.NewTimeOfDay(23, 0), DeliveryStart: clock.NewTimeOfDay(7, 0), DeliveryEnd: clock.NewTimeOfDay(10, 0),
}

// Base is a kind of grocery; the demo's products are bases in pack sizes.
type Base struct {
	Name, Unit string
	Zone       fulfillment.Zone
	Grams      int64
	PriceFen   int64
}

// Bases are the groceries of the demo and of the simulated cities.
var Bases = []Base{
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

// Pack is a pack size of a base: its label and its weight and price factor.
type Pack struct {
	Label  string
	Factor float64
}

// Packs are the demo's pack sizes: with Bases, about 300 SKUs.
var Packs = []Pack{{"", 1}, {"家庭装", 2}, {"尝鲜装", 0.5}, {"精选", 1}, {"特惠", 1}, {"两份装", 2}, {"三份装", 3}, {"有机", 1}, {"臻选", 1.5}, {"小份", 0.3}}

// Fleet is the demo fleet, sized for a night of the 200 demo points: each of
// the 07:00-10:00 window's routes serves fifteen to twenty points (five
// minutes at each, a few between), so about a dozen routes, each carrying up
// to a tonne and a half of groceries.
var Fleet = []routeplan.VehicleType{
	{Code: "VAN42", Name: "4.2米冷藏车", Count: 16, CapacityG: 1_500_000, CapacityML: 12_000_000,
		ShiftStart: clock.NewTimeOfDay(5, 0), ShiftEnd: clock.NewTimeOfDay(12, 0), FixedCostFen: 30000, CostPerKmFen: 150,
		Chilled: true, Frozen: true},
	{Code: "TRUCK76", Name: "7.6米冷藏车", Count: 6, CapacityG: 5_000_000, CapacityML: 35_000_000,
		ShiftStart: clock.NewTimeOfDay(5, 0), ShiftEnd: clock.NewTimeOfDay(12, 0), FixedCostFen: 60000, CostPerKmFen: 300,
		Chilled: true, Frozen: true},
}

// Estates and Suffixes name the pickup points (春申 + 新村 …).
var (
	Estates  = []string{"春申", "莘庄", "七宝", "古美", "梅陇", "颛桥", "吴泾", "虹桥", "华漕", "浦江", "马桥", "江川", "新虹", "龙柏", "田园", "银都", "锦江", "金都", "碧桂", "万科"}
	Suffixes = []string{"新村", "花园", "小区", "公寓", "家园", "苑", "名邸", "佳苑", "华庭", "雅居"}
)

// ZoneAisle is the letter of a temperature zone's aisles in bin codes
// (A-01-01 ambient, C chilled, F frozen).
func ZoneAisle(z fulfillment.Zone) string {
	switch z {
	case fulfillment.Chilled:
		return "C"
	case fulfillment.Frozen:
		return "F"
	}
	return "A"
}
