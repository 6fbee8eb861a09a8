// Package geotest makes the synthetic cities the pickup network's tests and
// benchmarks run on. It imports neither pickup nor geo, so both packages'
// own tests can use it.
package geotest

import (
	"math"
	"math/rand/v2"

	"github.com/uber/h3-go/v4"
)

// City scatters n locations around (lat, lng) within about spanKm, half of
// them in pairs close together as housing estates are; the same r gives the
// same city.
func City(r *rand.Rand, n int, lat, lng, spanKm float64) []h3.LatLng {
	dLat := spanKm / 111.0
	dLng := dLat / math.Cos(lat*math.Pi/180)
	out := make([]h3.LatLng, 0, n)
	var c h3.LatLng
	for i := range n {
		if i%20 == 0 || i%2 == 1 {
			c = h3.LatLng{Lat: lat + (r.Float64()-0.5)*dLat, Lng: lng + (r.Float64()-0.5)*dLng}
		}
		if i%2 == 1 {
			out = append(out, c)
		} else {
			out = append(out, h3.LatLng{Lat: c.Lat + r.NormFloat64()*0.002, Lng: c.Lng + r.NormFloat64()*0.002})
		}
	}
	return out
}

// Demand draws one pickup point's demand for a night: 5-60 kg and 10-80 l.
func Demand(r *rand.Rand) (weightG, volumeML int64) {
	return 5000 + r.Int64N(55_000), 10_000 + r.Int64N(70_000)
}
