package routing

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// CityCase describes a generated group-buy morning: one warehouse at the
// edge of a city, pickup points in neighbourhood clusters.
type CityCase struct {
	Stops    int     // pickup points, e.g. 1000
	RadiusM  float64 // city radius in metres, e.g. 15000 for a 30 km city
	Clusters int
	Seed     uint64
}

// GenerateCity builds a realistic next-morning delivery problem: windows
// 07:00-10:00, 5-minute stops, 5-60 kg and matching volume per pickup
// point, a fleet of 1.5 t / 8 m³ vans and 3 t / 16 m³ trucks, haversine
// distances at 25 km/h with a 1.3 road factor.
func GenerateCity(cc CityCase) *Problem {
	if cc.Stops <= 0 {
		cc.Stops = 1000
	}
	if cc.RadiusM <= 0 {
		cc.RadiusM = 15000
	}
	if cc.Clusters <= 0 {
		cc.Clusters = 30
	}
	rng := rand.New(rand.NewPCG(cc.Seed, 0x51ed))
	centre := Location{Lat: 30.60, Lon: 114.30}
	const mPerDegLat = 111320.0
	mPerDegLon := mPerDegLat * math.Cos(centre.Lat*math.Pi/180)
	at := func(dx, dy float64) Location {
		return Location{Lat: centre.Lat + dy/mPerDegLat, Lon: centre.Lon + dx/mPerDegLon}
	}
	inDisc := func(r float64) (float64, float64) {
		a := rng.Float64() * 2 * math.Pi
		d := r * math.Sqrt(rng.Float64())
		return d * math.Cos(a), d * math.Sin(a)
	}
	type ctr struct{ x, y, sd float64 }
	ctrs := make([]ctr, cc.Clusters)
	for i := range ctrs {
		x, y := inDisc(cc.RadiusM * 0.9)
		ctrs[i] = ctr{x, y, 400 + rng.Float64()*1200}
	}
	p := &Problem{
		Depot: Depot{Location: at(cc.RadiusM*0.8, -cc.RadiusM*0.3), Window: TimeWindow{5 * 3600, 12 * 3600}},
		Vehicles: []VehicleType{
			{Name: "van 1.5t 8m3", Count: 45, Capacity: Load{1500_000, 8_000_000}, Shift: TimeWindow{6 * 3600, 11 * 3600}, FixedCost: 120, DistanceCost: 0.0015},
			{Name: "truck 3t 16m3", Count: 20, Capacity: Load{3000_000, 16_000_000}, Shift: TimeWindow{6 * 3600, 11 * 3600}, FixedCost: 200, DistanceCost: 0.0025},
		},
		Matrix: Haversine{RoadFactor: 1.3, SpeedMPS: 25 / 3.6},
	}
	for i := range cc.Stops {
		var x, y float64
		if rng.Float64() < 0.15 {
			x, y = inDisc(cc.RadiusM)
		} else {
			c := ctrs[rng.IntN(len(ctrs))]
			x, y = c.x+rng.NormFloat64()*c.sd, c.y+rng.NormFloat64()*c.sd
		}
		kg := 5 + rng.Float64()*55
		// Group-buy parcels: fresh produce and groceries, about 4-6 l per kg.
		litres := kg * (4 + 2*rng.Float64())
		p.Stops = append(p.Stops, Stop{
			ID:       StringID(fmt.Sprintf("P%04d", i+1)),
			Location: at(x, y),
			Demand:   Load{int64(kg * 1000), int64(litres * 1000)},
			Window:   TimeWindow{7 * 3600, 10 * 3600},
			Service:  300,
		})
	}
	return p
}
