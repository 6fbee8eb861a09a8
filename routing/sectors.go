package routing

import (
	"math"
	"slices"
	"sort"
)

// Sectors splits a large problem into sectors around the depot (cluster
// first, route second), each with a share of every vehicle type in
// proportion to its demand and its stops, the larger of the two. The stops
// run in the order of areas when given (the H3 delivery areas, which are
// grown in a sweep around the warehouse), else by bearing from the depot;
// sector boundaries fall between areas.
func Sectors(p *Problem, most int, areas [][]int64) []*Problem {
	n := len(p.Stops)
	if n <= most {
		return []*Problem{p}
	}
	k := (n + most - 1) / most
	stops, cuts := sweepOrder(p, areas)
	bounds := make([]int, k+1)
	for i := range bounds {
		bounds[i] = i * n / k
		if i > 0 && i < k && len(cuts) > 0 {
			// The area boundary nearest the even split.
			j := sort.SearchInts(cuts, bounds[i])
			if j == len(cuts) || (j > 0 && bounds[i]-cuts[j-1] < cuts[j]-bounds[i]) {
				j--
			}
			// Each sector keeps a stop at least: one area holding most
			// stops is cut inside rather than leaving sectors empty.
			bounds[i] = min(max(cuts[j], bounds[i-1]+1), n-(k-i))
		}
	}
	weight := func(s Stop) float64 {
		if len(s.Demand) == 0 {
			return 0
		}
		return float64(s.Demand[0])
	}
	var totalW float64
	for _, s := range stops {
		totalW += weight(s)
	}
	parts := make([][]Stop, k)
	shares := make([]float64, k)
	var sum float64
	for i := range k {
		parts[i] = stops[bounds[i]:bounds[i+1]]
		var w float64
		for _, s := range parts[i] {
			w += weight(s)
		}
		shares[i] = math.Max(w/math.Max(totalW, 1), float64(len(parts[i]))/float64(n))
		sum += shares[i]
	}
	out := make([]*Problem, k)
	for i := range k {
		sp := *p
		sp.Stops = parts[i]
		sp.Vehicles = append([]VehicleType(nil), p.Vehicles...)
		out[i] = &sp
	}
	// Apportion each vehicle type's count by largest remainder, so the
	// sectors together never use more vehicles than the fleet has; a type
	// with a capability stops require goes where those stops are.
	for j, v := range p.Vehicles {
		if v.Count == 0 { // unlimited stays unlimited
			continue
		}
		shares, sum := shares, sum
		if need, total := requiring(parts, v.Offers); total > 0 {
			shares, sum = need, total
		}
		type rem struct {
			i int
			r float64
		}
		rems := make([]rem, k)
		given := 0
		for i := range k {
			exact := float64(v.Count) * shares[i] / sum
			out[i].Vehicles[j].Count = int(exact)
			given += int(exact)
			rems[i] = rem{i, exact - math.Floor(exact)}
		}
		sort.SliceStable(rems, func(a, b int) bool { return rems[a].r > rems[b].r })
		for x := 0; given < v.Count; x++ {
			out[rems[x%k].i].Vehicles[j].Count++
			given++
		}
		for i := range k {
			if out[i].Vehicles[j].Count == 0 {
				// routing reads 0 as "as many as needed": a sector without this type drops it.
				out[i].Vehicles[j].Count = -1
			}
		}
	}
	for _, sp := range out {
		kept := sp.Vehicles[:0]
		for _, v := range sp.Vehicles {
			if v.Count != -1 {
				kept = append(kept, v)
			}
		}
		sp.Vehicles = kept
	}
	return out
}

// requiring counts per part the stops that require something of offers.
func requiring(parts [][]Stop, offers []string) ([]float64, float64) {
	out := make([]float64, len(parts))
	total := 0.0
	for i, part := range parts {
		for _, s := range part {
			if slices.ContainsFunc(s.Requires, func(r string) bool { return slices.Contains(offers, r) }) {
				out[i]++
			}
		}
		total += out[i]
	}
	return out, total
}

// sweepOrder returns the stops in sweep order and the indexes where one area
// ends and the next begins (none without areas).
func sweepOrder(p *Problem, areas [][]int64) ([]Stop, []int) {
	n := len(p.Stops)
	if len(areas) > 0 {
		byID := make(map[int64]Stop, n)
		for _, s := range p.Stops {
			byID[s.ID.Num] = s
		}
		stops := make([]Stop, 0, n)
		var cuts []int
		for _, a := range areas {
			for _, id := range a {
				if s, ok := byID[id]; ok {
					stops = append(stops, s)
					delete(byID, id)
				}
			}
			cuts = append(cuts, len(stops))
		}
		if len(stops) == n { // the areas cover every stop, as they must
			return stops, cuts
		}
	}
	stops := append([]Stop(nil), p.Stops...)
	angle := func(s Stop) float64 {
		return math.Atan2(s.Location.Lat-p.Depot.Location.Lat, (s.Location.Lon-p.Depot.Location.Lon)*math.Cos(p.Depot.Location.Lat*math.Pi/180))
	}
	sort.SliceStable(stops, func(a, b int) bool { return angle(stops[a]) < angle(stops[b]) })
	// Start the sweep at the widest gap between neighbouring stops, so no
	// sector straddles the depot's far side.
	gapAt, gap := 0, 0.0
	for i := range stops {
		next := angle(stops[(i+1)%n])
		if i == n-1 {
			next += 2 * math.Pi
		}
		if g := next - angle(stops[i]); g > gap {
			gapAt, gap = (i+1)%n, g
		}
	}
	return append(stops[gapAt:], stops[:gapAt]...), nil
}
