package routing

// Visit is one stop on a route, with its schedule in seconds.
type Visit struct {
	Stop    int // index in Problem.Stops
	ID      StopID
	Arrival float64
	Start   float64 // start of service (after any waiting)
	Depart  float64
	Load    Load // on board after this stop (pickups accumulate)
}

// Route is one vehicle's tour from the depot and back.
type Route struct {
	VehicleType int // index in Problem.Vehicles
	Vehicle     string
	Visits      []Visit
	Load        Load
	Departure   float64 // from the depot
	Return      float64 // to the depot
	Distance    float64 // metres
	Duration    float64 // seconds, depot to depot
	Cost        float64
}

// Solution is a plan.
type Solution struct {
	Routes   []Route
	Unserved []Unserved
	Cost     float64 // sum of route costs
	Distance float64
	// Feasible is false when the plan leaves out stops a vehicle could
	// serve alone, for want of room in the fleet (CauseFleetFull). A
	// returned Solution always meets every constraint for the stops it serves.
	Feasible   bool
	Iterations int
}
