package routing

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
)

// compiled ties the solver-side core to the Problem it came from.
type compiled struct {
	c        *core
	m        *Matrix
	unserved []Unserved
}

func compile(ctx context.Context, p *Problem, granular int) (*compiled, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	m, err := p.TravelMatrix(ctx)
	if err != nil {
		return nil, err
	}
	c := &core{sym: true}
	for _, v := range p.Vehicles {
		c.dims = max(c.dims, len(v.Capacity))
	}
	for _, s := range p.Stops {
		c.dims = max(c.dims, len(s.Demand))
	}
	c.loadDims = c.dims
	if err := c.capabilities(p); err != nil {
		return nil, err
	}
	depotWin := [2]float64{0, bigTime}
	if !p.Depot.Window.IsZero() {
		depotWin = [2]float64{float64(p.Depot.Window.Start), float64(p.Depot.Window.End)}
		c.timed = true
	}
	if p.MaxRouteDuration > 0 {
		c.timed = true
	}
	for i, v := range p.Vehicles {
		k := class{vt: i, fixed: v.FixedCost, perDist: v.DistanceCost, start: depotWin[0], end: depotWin[1], unlimited: v.Count == 0,
			offers: v.Offers, name: v.Name, count: v.Count}
		if k.perDist == 0 {
			k.perDist = 1
		}
		for d := range maxDims {
			k.cap[d] = math.Inf(1)
			if d < len(v.Capacity) {
				k.cap[d] = float64(v.Capacity[d])
			}
		}
		for j, name := range c.capNames {
			if !slices.Contains(v.Offers, name) {
				k.cap[c.loadDims+j] = 0
			}
		}
		if !v.Shift.IsZero() {
			k.start, k.end = math.Max(k.start, float64(v.Shift.Start)), math.Min(k.end, float64(v.Shift.End))
			c.timed = true
		}
		md := v.MaxDuration
		if p.MaxRouteDuration > 0 && (md == 0 || p.MaxRouteDuration < md) {
			md = p.MaxRouteDuration
		}
		if md > 0 {
			k.maxDur = float64(md)
			c.timed = true
		}
		c.classes = append(c.classes, k)
	}
	for _, s := range p.Stops {
		if !s.Window.IsZero() {
			c.timed = true
		}
	}
	for d := range c.dims {
		c.capRef[d] = 0
		for _, k := range c.classes {
			if !math.IsInf(k.cap[d], 1) {
				c.capRef[d] = math.Max(c.capRef[d], k.cap[d])
			}
		}
		if c.capRef[d] <= 0 {
			c.capRef[d] = 1
		}
	}
	np := m.N
	// Screen the stops no vehicle could serve even alone.
	out := &compiled{m: m}
	c.stop = []int{-1}
	for i, s := range p.Stops {
		if cause, r := c.screen(m, i, s); cause != "" {
			out.unserved = append(out.unserved, Unserved{Stop: i, ID: s.ID, Cause: cause, Reason: r})
			continue
		}
		c.stop = append(c.stop, i)
	}
	c.nn = len(c.stop)
	c.n = c.nn - 1
	c.dist = make([]float64, c.nn*c.nn)
	c.tt = make([]float64, c.nn*c.nn)
	for a, sa := range c.stop {
		for b, sb := range c.stop {
			c.dist[a*c.nn+b] = m.Distance[(sa+1)*np+sb+1]
			c.tt[a*c.nn+b] = m.Duration[(sa+1)*np+sb+1]
			c.maxDist = math.Max(c.maxDist, c.dist[a*c.nn+b])
			if a > b && c.dist[a*c.nn+b] != c.dist[b*c.nn+a] {
				c.sym = false
			}
		}
	}
	c.node = make([]seg, c.nn)
	c.service = make([]float64, c.nn)
	c.x, c.y = make([]float64, c.nn), make([]float64, c.nn)
	c.x[0], c.y[0] = p.Depot.Location.Lon, p.Depot.Location.Lat
	for a := 1; a < c.nn; a++ {
		s := &p.Stops[c.stop[a]]
		g := seg{first: a, last: a, dur: float64(s.Service), e: 0, l: bigTime}
		if !s.Window.IsZero() {
			g.e, g.l = float64(s.Window.Start), float64(s.Window.End)
		}
		for d, q := range s.Demand {
			g.load[d] = float64(q)
		}
		for j, name := range c.capNames {
			if slices.Contains(s.Requires, name) {
				g.load[c.loadDims+j] = 1
			}
		}
		c.node[a] = g
		c.service[a] = float64(s.Service)
		c.x[a], c.y[a] = s.Location.Lon, s.Location.Lat
	}
	c.angle = make([]float64, c.nn)
	for a := 1; a < c.nn; a++ {
		c.angle[a] = posMod(math.Atan2(c.y[a]-c.y[0], c.x[a]-c.x[0]))
	}
	c.buildSlots(p)
	if c.n > 1 {
		c.buildNeighbours(granular)
	}
	out.c = c
	return out, nil
}

// capabilities gives a dimension to each capability some stop requires
// and some but not every vehicle type offers: one that no type offers
// screens its stops out, one that every type offers changes nothing.
func (c *core) capabilities(p *Problem) error {
	for _, s := range p.Stops {
		for _, name := range s.Requires {
			if slices.Contains(c.capNames, name) {
				continue
			}
			offered := 0
			for _, v := range p.Vehicles {
				if slices.Contains(v.Offers, name) {
					offered++
				}
			}
			if offered == 0 || offered == len(p.Vehicles) {
				continue
			}
			if len(c.capNames) == MaxCapabilities {
				return fmt.Errorf("routing: more than %d capabilities set the vehicle types apart (%s, %s)", MaxCapabilities, strings.Join(c.capNames, ", "), name)
			}
			c.capNames = append(c.capNames, name)
		}
	}
	c.dims = c.loadDims + len(c.capNames)
	return nil
}

// buildSlots lays out one route slot per available vehicle, larger vehicles
// first; a type with Count 0 gets as many as a generous estimate needs.
func (c *core) buildSlots(p *Problem) {
	var total [maxDims]float64
	for a := 1; a < c.nn; a++ {
		for d := range c.loadDims {
			total[d] += c.node[a].load[d]
		}
	}
	size := func(k *class) float64 {
		s := 0.0
		for d := range c.loadDims {
			if !math.IsInf(k.cap[d], 1) {
				s += k.cap[d] / c.capRef[d]
			} else {
				s += 1
			}
		}
		return s
	}
	order := make([]int, len(c.classes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return size(&c.classes[order[a]]) > size(&c.classes[order[b]]) })
	c.slots = c.slots[:0]
	for _, cl := range order {
		k := &c.classes[cl]
		cnt := p.Vehicles[k.vt].Count
		if cnt == 0 {
			need := 1.0
			for d := range c.loadDims {
				if !math.IsInf(k.cap[d], 1) && k.cap[d] > 0 {
					need = math.Max(need, total[d]/k.cap[d])
				}
			}
			cnt = int(math.Ceil(1.3*need)) + 3
			if c.timed {
				// Time windows can force any number of short routes.
				cnt = c.n
			}
			cnt = max(1, min(cnt, c.n))
		}
		for range cnt {
			c.slots = append(c.slots, cl)
		}
	}
}
