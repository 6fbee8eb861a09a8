package routing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
)

// Matrix holds travel distances (metres) and durations (seconds) between
// points, row-major: Distance[i*N+j] is from point i to point j. In a Problem
// point 0 is the depot and point i+1 is Stops[i].
type Matrix struct {
	N        int
	Distance []float64
	Duration []float64
}

// Validate checks the sizes and values.
func (m *Matrix) Validate(n int) error {
	if m == nil {
		return errors.New("routing: nil matrix")
	}
	if m.N != n || len(m.Distance) != n*n || len(m.Duration) != n*n {
		return fmt.Errorf("routing: matrix is %d points (%d distances, %d durations), want %d", m.N, len(m.Distance), len(m.Duration), n)
	}
	for i := range m.Distance {
		if m.Distance[i] < 0 || math.IsNaN(m.Distance[i]) || m.Duration[i] < 0 || math.IsNaN(m.Duration[i]) {
			return fmt.Errorf("routing: matrix entry %d,%d is negative or NaN", i/n, i%n)
		}
	}
	return nil
}

// MatrixProvider computes a Matrix for a list of points (the depot first).
type MatrixProvider interface {
	Matrix(ctx context.Context, points []Location) (*Matrix, error)
}

// TravelMatrix computes the distances and durations between p's depot
// (point 0) and stops (point i+1 for Stops[i]) with p.Matrix.
func (p *Problem) TravelMatrix(ctx context.Context) (*Matrix, error) {
	pts := make([]Location, len(p.Stops)+1)
	pts[0] = p.Depot.Location
	for i, s := range p.Stops {
		pts[i+1] = s.Location
	}
	prov := p.Matrix
	if prov == nil {
		prov = Haversine{}
	}
	m, err := prov.Matrix(ctx, pts)
	if err != nil {
		return nil, err
	}
	if err := m.Validate(len(pts)); err != nil {
		return nil, err
	}
	return m, nil
}

// Haversine estimates road distance as the great-circle distance times
// RoadFactor, and travel time at SpeedMPS. Zero fields take the defaults
// 1.3 and 25 km/h, typical of urban delivery.
type Haversine struct {
	RoadFactor float64
	SpeedMPS   float64
}

const earthRadiusM = 6371008.8

// HaversineMetres returns the great-circle distance between a and b in metres.
func HaversineMetres(a, b Location) float64 {
	const rad = math.Pi / 180
	dLat := (b.Lat - a.Lat) * rad
	dLon := (b.Lon - a.Lon) * rad
	s := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(a.Lat*rad)*math.Cos(b.Lat*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadiusM * math.Asin(math.Min(1, math.Sqrt(s)))
}

// Matrix implements MatrixProvider.
func (h Haversine) Matrix(ctx context.Context, points []Location) (*Matrix, error) {
	f, v := h.RoadFactor, h.SpeedMPS
	if f <= 0 {
		f = 1.3
	}
	if v <= 0 {
		v = 25 / 3.6
	}
	n := len(points)
	m := &Matrix{N: n, Distance: make([]float64, n*n), Duration: make([]float64, n*n)}
	for i := range n {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		for j := i + 1; j < n; j++ {
			d := math.Round(HaversineMetres(points[i], points[j]) * f)
			t := math.Round(d / v)
			m.Distance[i*n+j], m.Distance[j*n+i] = d, d
			m.Duration[i*n+j], m.Duration[j*n+i] = t, t
		}
	}
	return m, nil
}

// FixedMatrix is a MatrixProvider returning a matrix supplied by the caller
// (for example read with ReadOSRMTable), whatever the points.
type FixedMatrix struct {
	M *Matrix
}

// Matrix implements MatrixProvider.
func (f FixedMatrix) Matrix(_ context.Context, points []Location) (*Matrix, error) {
	if err := f.M.Validate(len(points)); err != nil {
		return nil, err
	}
	return f.M, nil
}

// ReadOSRMTable reads the JSON response of an OSRM "table" service request
// made with annotations=duration,distance. Unreachable pairs (null) get
// +Inf-like huge values so the solver avoids them.
func ReadOSRMTable(r io.Reader) (*Matrix, error) {
	var resp struct {
		Code      string       `json:"code"`
		Message   string       `json:"message"`
		Durations [][]*float64 `json:"durations"`
		Distances [][]*float64 `json:"distances"`
	}
	if err := json.NewDecoder(r).Decode(&resp); err != nil {
		return nil, fmt.Errorf("routing: osrm table: %w", err)
	}
	if resp.Code != "" && resp.Code != "Ok" {
		return nil, fmt.Errorf("routing: osrm table: %s: %s", resp.Code, resp.Message)
	}
	n := len(resp.Durations)
	if n == 0 {
		return nil, errors.New("routing: osrm table: no durations")
	}
	if len(resp.Distances) != n {
		return nil, fmt.Errorf("routing: osrm table: %d distance rows for %d duration rows (request annotations=duration,distance)", len(resp.Distances), n)
	}
	const unreachable = 1e9
	m := &Matrix{N: n, Distance: make([]float64, n*n), Duration: make([]float64, n*n)}
	for i := range n {
		if len(resp.Durations[i]) != n || len(resp.Distances[i]) != n {
			return nil, fmt.Errorf("routing: osrm table: row %d is not %d long", i, n)
		}
		for j := range n {
			m.Duration[i*n+j], m.Distance[i*n+j] = unreachable, unreachable
			if p := resp.Durations[i][j]; p != nil {
				m.Duration[i*n+j] = *p
			}
			if p := resp.Distances[i][j]; p != nil {
				m.Distance[i*n+j] = *p
			}
		}
	}
	return m, m.Validate(n)
}
