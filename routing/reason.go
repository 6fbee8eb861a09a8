package routing

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// Cause is why a stop is left out of a plan.
type Cause string

// The causes of an unserved stop. Only CauseFleetFull depends on the rest
// of the plan: with more vehicles the stop could be served.
const (
	CauseCapacity   Cause = "capacity"      // more than any vehicle carries
	CauseWindow     Cause = "window"        // no vehicle reaches it within its window and back within its shift
	CauseDuration   Cause = "duration"      // a round trip to it alone outlasts every vehicle's maximum route duration
	CauseVehicle    Cause = "vehicle"       // the vehicle types that carry it cannot reach it in time, and the reverse
	CauseCompatible Cause = "compatibility" // no vehicle type offers everything it requires (Stop.Requires)
	CauseFleetFull  Cause = "fleet full"    // no route in use has room for it and no vehicle left can take it
)

// Unserved is a stop left out of the plan and why.
type Unserved struct {
	Stop   int // index in Problem.Stops
	ID     StopID
	Cause  Cause
	Reason string // for people: the cause with its numbers
}

// String renders the stop and its reason.
func (u Unserved) String() string { return fmt.Sprintf("%s: %s", u.ID, u.Reason) }

// The reasons below are made of fixed words and the numbers of the case;
// the console recognises them by those words to say them in Chinese
// (cmd/groupbuy/console/map.js).

// screen says why stop i cannot be served by any vehicle alone, or returns
// an empty cause.
func (c *core) screen(m *Matrix, i int, s Stop) (Cause, string) {
	np := m.N
	there, back, svc := m.Duration[i+1], m.Duration[(i+1)*np], float64(s.Service)
	e, l := 0.0, bigTime
	if !s.Window.IsZero() {
		e, l = float64(s.Window.Start), float64(s.Window.End)
	}
	// Only the vehicle types that offer what the stop requires count; the
	// reasons then say "among those offering …".
	among := ""
	if len(s.Requires) > 0 {
		among = " among those offering " + strings.Join(s.Requires, " and ")
	}
	compatible := make([]class, 0, len(c.classes))
	for _, k := range c.classes {
		if offersAll(k.offers, s.Requires) {
			compatible = append(compatible, k)
		}
	}
	if len(compatible) == 0 {
		return CauseCompatible, c.incompatible(s)
	}
	carries, onTime, inShift, both := false, false, false, false
	firstOut, lastIn, longest := math.Inf(1), math.Inf(-1), 0.0
	for _, k := range compatible {
		fits := true
		for d, q := range s.Demand {
			if float64(q) > k.cap[d] {
				fits = false
			}
		}
		start := math.Max(k.start+there, e)
		window := start <= l && start+svc+back <= k.end
		shift := k.maxDur == 0 || there+svc+back <= k.maxDur
		carries = carries || fits
		onTime = onTime || window
		inShift = inShift || (window && shift)
		both = both || (fits && window && shift)
		firstOut, lastIn = math.Min(firstOut, k.start), math.Max(lastIn, k.end)
		if window {
			longest = math.Max(longest, k.maxDur)
		}
	}
	switch {
	case both:
		return "", ""
	case !carries:
		for d, q := range s.Demand {
			largest := 0.0
			for _, k := range compatible {
				if !math.IsInf(k.cap[d], 1) {
					largest = math.Max(largest, k.cap[d])
				}
			}
			if float64(q) > largest {
				return CauseCapacity, fmt.Sprintf("demand %s exceeds every vehicle's capacity%s (largest %s)", amount(d, float64(q)), among, amount(d, largest))
			}
		}
		return CauseCapacity, fmt.Sprintf("demand %s fits no single vehicle type%s", demand(s.Demand), among)
	case !onTime:
		if arrive := firstOut + there; arrive > l {
			return CauseWindow, fmt.Sprintf("its window %s–%s closes before the earliest arrival %s (first departure %s%s, %s drive)",
				clock(e), clock(l), clock(arrive), clock(firstOut), among, span(there))
		}
		done := math.Max(firstOut+there, e) + svc
		return CauseWindow, fmt.Sprintf("served at the earliest from %s to %s, it is back at the depot at %s (%s drive), after every shift ends%s (latest %s)",
			clock(done-svc), clock(done), clock(done+back), span(back), among, clock(lastIn))
	case !inShift:
		return CauseDuration, fmt.Sprintf("a round trip to it alone takes %s (%s there, %s of service, %s back), longer than any vehicle may drive%s (longest %s)",
			span(there+svc+back), span(there), span(svc), span(back), among, span(longest))
	}
	return CauseVehicle, fmt.Sprintf("no vehicle type both carries its demand (%s) and reaches it in its window %s–%s within its shift%s",
		demand(s.Demand), clock(e), clock(l), among)
}

// offersAll reports whether offers holds every name of requires.
func offersAll(offers, requires []string) bool {
	for _, r := range requires {
		if !slices.Contains(offers, r) {
			return false
		}
	}
	return true
}

// incompatible is the reason for a stop no vehicle type offers everything
// it requires: what it requires, and what each type offers.
func (c *core) incompatible(s Stop) string {
	var parts []string
	vehicles := 0
	for _, k := range c.classes {
		what := "nothing"
		if len(k.offers) > 0 {
			what = strings.Join(k.offers, " and ")
		}
		parts = append(parts, fmt.Sprintf("%s offers %s", c.className(k), what))
		vehicles += k.count
	}
	fleet := fmt.Sprintf("%d vehicles", vehicles)
	if slices.ContainsFunc(c.classes, func(k class) bool { return k.unlimited }) {
		fleet = "vehicles without a count limit"
	}
	return fmt.Sprintf("no compatible vehicle: it requires %s, and none of the %d vehicle types (%s) offers all of it: %s",
		strings.Join(s.Requires, " and "), len(c.classes), fleet, strings.Join(parts, "; "))
}

// fleetFull explains why fill found no place for a customer in routes:
// what the fleet has in use.
func (c *core) fleetFull(p *Problem, routes [][]int) string {
	used := make([]int, len(c.classes))
	for r, rt := range routes {
		if len(rt) > 0 {
			used[c.slots[r]]++
		}
	}
	total, avail := 0, 0
	var inUse, left []string
	for cl, k := range c.classes {
		name := c.className(k)
		total += used[cl]
		inUse = append(inUse, fmt.Sprintf("%d × %s", used[cl], name))
		n := p.Vehicles[k.vt].Count
		avail += n
		if n > used[cl] {
			left = append(left, fmt.Sprintf("%d × %s", n-used[cl], name))
		}
	}
	if len(left) == 0 {
		return fmt.Sprintf("fleet full: all %d vehicles in use (%s) and no route has room for it", total, strings.Join(inUse, ", "))
	}
	return fmt.Sprintf("no route in use has room for it (%d of %d vehicles: %s) and the vehicles left (%s) cannot serve it alone",
		total, avail, strings.Join(inUse, ", "), strings.Join(left, ", "))
}

// className is how reasons name a vehicle type.
func (c *core) className(k class) string {
	if k.name == "" {
		return fmt.Sprintf("type %d", k.vt+1)
	}
	return k.name
}

// amount renders a quantity of load dimension d in its unit: grams as kg,
// millilitres as litres (the Load convention), else plain units.
func amount(d int, q float64) string {
	switch d {
	case 0:
		return decimal(q/1000) + " kg"
	case 1:
		return decimal(q/1000) + " l"
	}
	return decimal(q) + " units"
}

func demand(l Load) string {
	var parts []string
	for d, q := range l {
		parts = append(parts, amount(d, float64(q)))
	}
	return strings.Join(parts, ", ")
}

// decimal writes x to the thousandth it is known to (grams of a kg),
// without trailing zeros: 50.04 kg is not rounded to the 50 kg it exceeds.
func decimal(x float64) string {
	return strconv.FormatFloat(math.Round(x*1000)/1000, 'f', -1, 64)
}

// clock renders seconds since midnight as HH:MM, with seconds when not whole minutes.
func clock(sec float64) string {
	if sec >= bigTime/2 {
		return "never"
	}
	s := int64(math.Round(sec))
	if s%60 != 0 {
		return fmt.Sprintf("%02d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%02d:%02d", s/3600, s/60%60)
}

// span renders a duration in seconds.
func span(sec float64) string {
	s := int64(math.Round(sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%d s", s)
	case s < 3600 && s%60 == 0:
		return fmt.Sprintf("%d min", s/60)
	case s < 3600:
		return fmt.Sprintf("%d min %d s", s/60, s%60)
	}
	return fmt.Sprintf("%d h %02d min", s/3600, s/60%60)
}
