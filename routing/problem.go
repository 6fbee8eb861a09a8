// Package routing plans delivery routes: a capacitated vehicle routing
// problem with time windows, heterogeneous fleet and multi-dimensional
// loads, solved by a hybrid genetic search (Vidal 2012/2022).
//
// Units in the domain model: grams and millilitres for loads (any integer
// dimension works), metres for distances and seconds for times.
package routing

import (
	"errors"
	"fmt"
	"strconv"
)

// MaxDimensions is the number of load dimensions a Problem may use
// (for example weight, volume and pieces).
const MaxDimensions = 3

// MaxCapabilities is the number of distinct capabilities (Stop.Requires,
// VehicleType.Offers) that may set vehicle types apart in one Problem;
// a capability every type offers, or no stop requires, does not count.
const MaxCapabilities = 3

// StopID identifies a stop for the caller, either by a string or by an int64,
// so a caller can map a Solution back to its own records.
type StopID struct {
	Str   string
	Num   int64
	IsNum bool
}

// StringID returns a StopID holding s.
func StringID(s string) StopID { return StopID{Str: s} }

// IntID returns a StopID holding n.
func IntID(n int64) StopID { return StopID{Num: n, IsNum: true} }

// String renders the ID.
func (id StopID) String() string {
	if id.IsNum {
		return strconv.FormatInt(id.Num, 10)
	}
	return id.Str
}

// Location is a point on the earth in decimal degrees.
type Location struct {
	Lat, Lon float64
}

// TimeWindow bounds a time in seconds (for example seconds since midnight).
// The zero TimeWindow means "no constraint".
type TimeWindow struct {
	Start, End int64
}

// IsZero reports whether w is the unconstrained window.
func (w TimeWindow) IsZero() bool { return w.Start == 0 && w.End == 0 }

// Load is an amount per dimension; by convention index 0 is weight in grams
// and index 1 volume in millilitres.
type Load []int64

// Stop is a pickup point to be served once.
type Stop struct {
	ID       StopID
	Location Location
	Demand   Load
	Window   TimeWindow // when service may start; zero = any time
	Service  int64      // service duration in seconds
	// Requires names what a vehicle must offer to serve the stop (for
	// example "chilled" or "frozen" compartments); only vehicle types whose
	// Offers hold all of them may.
	Requires []string
}

// Depot is the warehouse where every route starts and ends.
type Depot struct {
	Location Location
	Window   TimeWindow // opening hours; zero = always open
}

// VehicleType describes a group of identical vehicles.
type VehicleType struct {
	Name string
	// Count is the number of vehicles available; 0 means as many as needed.
	Count    int
	Capacity Load
	// Shift bounds departure from and return to the depot; zero = the depot window.
	Shift TimeWindow
	// FixedCost is charged once per vehicle used.
	FixedCost float64
	// DistanceCost is the cost per metre; 0 means 1 so that a problem
	// without costs minimises distance.
	DistanceCost float64
	// MaxDuration caps the duration of each route in seconds; 0 = no cap
	// beyond Problem.MaxRouteDuration.
	MaxDuration int64
	// Offers names the capabilities the type's vehicles have (Stop.Requires).
	Offers []string
}

// Problem is one planning instance.
type Problem struct {
	Depot    Depot
	Stops    []Stop
	Vehicles []VehicleType
	// MaxRouteDuration caps every route's duration in seconds; 0 = none.
	MaxRouteDuration int64
	// Matrix provides travel distances and times; nil means Haversine{}
	// (great-circle distance times a road factor, at an average speed).
	Matrix MatrixProvider
}

// Validate reports structural errors (not infeasibility, which becomes
// unserved stops).
func (p *Problem) Validate() error {
	if p == nil {
		return errors.New("routing: nil problem")
	}
	if len(p.Vehicles) == 0 {
		return errors.New("routing: no vehicle type")
	}
	for i, v := range p.Vehicles {
		if len(v.Capacity) > MaxDimensions {
			return fmt.Errorf("routing: vehicle type %d has %d load dimensions, max %d", i, len(v.Capacity), MaxDimensions)
		}
		if v.Count < 0 {
			return fmt.Errorf("routing: vehicle type %d has negative count", i)
		}
	}
	for i, s := range p.Stops {
		if len(s.Demand) > MaxDimensions {
			return fmt.Errorf("routing: stop %d (%s) has %d load dimensions, max %d", i, s.ID, len(s.Demand), MaxDimensions)
		}
		for _, d := range s.Demand {
			if d < 0 {
				return fmt.Errorf("routing: stop %d (%s) has negative demand", i, s.ID)
			}
		}
		if s.Service < 0 {
			return fmt.Errorf("routing: stop %d (%s) has negative service time", i, s.ID)
		}
		if !s.Window.IsZero() && s.Window.End < s.Window.Start {
			return fmt.Errorf("routing: stop %d (%s) has an empty time window", i, s.ID)
		}
	}
	return nil
}
