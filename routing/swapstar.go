package routing

import "math"

// SWAP* (Vidal 2022): exchange u of one route with v of another, each
// reinserted at its best place in the other route rather than in the
// other's position. Restricted to route pairs whose polar sectors around
// the depot overlap. Without time constraints insertion costs are distance
// deltas and the move's cost is exact; with them (as in the EURO Meets
// NeurIPS 2022 baseline) each insertion and removal also counts its change
// of penalised time warp, taken as independent, and the best move is
// evaluated exactly before it is applied.

type sector struct {
	start, end float64 // angles in [0, 2π); the arc from start to end, counter-clockwise
	ok         bool
}

func posMod(a float64) float64 {
	a = math.Mod(a, 2*math.Pi)
	if a < 0 {
		a += 2 * math.Pi
	}
	return a
}

func (s *sector) extend(a float64) {
	if !s.ok {
		s.start, s.end, s.ok = a, a, true
		return
	}
	if posMod(a-s.start) <= posMod(s.end-s.start) {
		return // inside
	}
	if posMod(a-s.end) <= posMod(s.start-a) {
		s.end = a
	} else {
		s.start = a
	}
}

func overlap(a, b *sector) bool {
	return posMod(b.start-a.start) <= posMod(a.end-a.start) || posMod(a.start-b.start) <= posMod(b.end-b.start)
}

// insertion is a place to insert a node: after node `after`, at cost.
type insertion struct {
	cost  float64
	after int
}

// best3 keeps the three cheapest insertions.
type best3 [3]insertion

func (b *best3) reset() {
	for i := range b {
		b[i] = insertion{math.Inf(1), -1}
	}
}

func (b *best3) add(c float64, after int) {
	if c >= b[2].cost {
		return
	}
	switch {
	case c < b[0].cost:
		b[2], b[1], b[0] = b[1], b[0], insertion{c, after}
	case c < b[1].cost:
		b[2], b[1] = b[1], insertion{c, after}
	default:
		b[2] = insertion{c, after}
	}
}

// loadPenalty is the capacity penalty of a route of class cl carrying load.
func (ls *localSearch) loadPenalty(cl int, load *[maxDims]float64) float64 {
	c := ls.c
	k := &c.classes[cl]
	p := 0.0
	for d := 0; d < c.dims; d++ {
		if load[d] > k.cap[d] {
			p += (load[d] - k.cap[d]) / c.capRef[d]
		}
	}
	return p * ls.pc
}

// preInsert fills, for every customer u of route from, its three best
// insertions into route to, in cost units.
func (ls *localSearch) preInsert(from, to int, out []best3) {
	c := ls.c
	F, T := &ls.routes[from], &ls.routes[to]
	k := &c.classes[T.cl]
	m := len(T.seq)
	for j, u := range F.seq[1 : len(F.seq)-1] {
		b := &out[j]
		b.reset()
		for p := 0; p < m-1; p++ {
			a, n := T.seq[p], T.seq[p+1]
			x := k.perDist * (c.dist[a*c.nn+u] + c.dist[u*c.nn+n] - c.dist[a*c.nn+n])
			if c.timed && x < b[2].cost {
				x += ls.ptw * (ls.warpWith(to, p, u, p+1) - T.parts.warp)
			}
			b.add(x, a)
		}
	}
}

// warpWith is the time warp of route r made of seq[..a], u (if u > 0) and
// seq[b..]: the route with u inserted or put in place of what lies between.
func (ls *localSearch) warpWith(r, a, u, b int) float64 {
	c := ls.c
	R := &ls.routes[r]
	s := R.fwd[a]
	if u > 0 {
		s = c.join(&s, &c.node[u])
	}
	s = c.join(&s, &R.bwd[b])
	return c.parts(R.cl, &s, len(R.seq)-2-(b-a-1)+min(u, 1)).warp
}

// removal is the cost change of taking the customer at position i out of route r.
func (ls *localSearch) removal(r, i int) float64 {
	c := ls.c
	R := &ls.routes[r]
	a, u, b := R.seq[i-1], R.seq[i], R.seq[i+1]
	x := c.classes[R.cl].perDist * (c.dist[a*c.nn+b] - c.dist[a*c.nn+u] - c.dist[u*c.nn+b])
	if c.timed {
		x += ls.ptw * (ls.warpWith(r, i-1, 0, i+1) - R.parts.warp)
	}
	return x
}

// cheapestWithout is the best insertion of u into route to when the
// customer v at position j of to is removed at the same time.
func (ls *localSearch) cheapestWithout(u int, ins *best3, to, j int) insertion {
	c := ls.c
	T := &ls.routes[to]
	v, pv, nv := T.seq[j], T.seq[j-1], T.seq[j+1]
	best := insertion{math.Inf(1), -1}
	for _, x := range ins {
		if x.after >= 0 && x.after != v && x.after != pv {
			best = x
			break
		}
	}
	// In place of v.
	d := c.classes[T.cl].perDist * (c.dist[pv*c.nn+u] + c.dist[u*c.nn+nv] - c.dist[pv*c.nn+nv])
	if c.timed && d < best.cost {
		d += ls.ptw * (ls.warpWith(to, j-1, u, j+1) - ls.warpWith(to, j-1, 0, j+1))
	}
	if d < best.cost {
		best = insertion{d, pv}
	}
	return best
}

// swapStar applies the best SWAP* move between routes r1 and r2, if improving.
func (ls *localSearch) swapStar(r1, r2 int) bool {
	c := ls.c
	R1, R2 := &ls.routes[r1], &ls.routes[r2]
	n1, n2 := len(R1.seq)-2, len(R2.seq)-2
	if n1 == 0 || n2 == 0 {
		return false
	}
	ls.ins1 = growBest3(ls.ins1, n1)
	ls.ins2 = growBest3(ls.ins2, n2)
	ls.preInsert(r1, r2, ls.ins1)
	ls.preInsert(r2, r1, ls.ins2)
	load1, load2 := R1.fwd[n1+1].load, R2.fwd[n2+1].load
	pen1, pen2 := ls.loadPenalty(R1.cl, &load1), ls.loadPenalty(R2.cl, &load2)
	ls.rem2 = growFloats(ls.rem2, n2+1)
	for j := 1; j <= n2; j++ {
		ls.rem2[j] = ls.removal(r2, j)
	}
	bestCost := -eps
	bi, bj := -1, -1
	var insU, insV insertion
	for i := 1; i <= n1; i++ {
		u := R1.seq[i]
		remU := ls.removal(r1, i)
		for j := 1; j <= n2; j++ {
			v := R2.seq[j]
			l1, l2 := load1, load2
			for d := 0; d < c.dims; d++ {
				l1[d] += c.node[v].load[d] - c.node[u].load[d]
				l2[d] += c.node[u].load[d] - c.node[v].load[d]
			}
			dp := ls.loadPenalty(R1.cl, &l1) - pen1 + ls.loadPenalty(R2.cl, &l2) - pen2
			// As HGS: only pairs whose removals and loads already pay off.
			if dp+remU+ls.rem2[j] > 0 {
				continue
			}
			iu := ls.cheapestWithout(u, &ls.ins1[i-1], r2, j)
			iv := ls.cheapestWithout(v, &ls.ins2[j-1], r1, i)
			if cost := dp + remU + ls.rem2[j] + iu.cost + iv.cost; cost < bestCost {
				bestCost, bi, bj, insU, insV = cost, i, j, iu, iv
			}
		}
	}
	if bi < 0 {
		return false
	}
	if c.timed {
		// The estimate took the time warps as independent: check exactly.
		ls.pbuf1 = ls.swapPieces(r1, bi, R2.seq[bj], insV.after, ls.pbuf1)
		ls.pbuf2 = ls.swapPieces(r2, bj, R1.seq[bi], insU.after, ls.pbuf2)
		return ls.try(r1, ls.pbuf1, r2, ls.pbuf2)
	}
	bu, bv := R1.seq[bi], R2.seq[bj]
	// Apply: u leaves r1 and goes after insU.after in r2; v the reverse.
	ls.buf1 = exchange(ls.buf1[:0], R1.seq, bu, bv, insV.after)
	ls.buf2 = exchange(ls.buf2[:0], R2.seq, bv, bu, insU.after)
	R1.seq = append(R1.seq[:0], ls.buf1...)
	R2.seq = append(R2.seq[:0], ls.buf2...)
	ls.update(r1)
	ls.update(r2)
	return true
}

// exchange appends seq to dst with out left out and in put after the
// customer after. "After 0" means after the start depot, never the end one.
func exchange(dst, seq []int, out, in, after int) []int {
	for idx, x := range seq {
		if x == out {
			continue
		}
		dst = append(dst, x)
		if x == after && (x != 0 || idx == 0) {
			dst = append(dst, in)
		}
	}
	return dst
}

// swapPieces describes route r with its customer at position i taken out
// and v inserted after node after (0: the start depot).
func (ls *localSearch) swapPieces(r, i, v, after int, buf []piece) []piece {
	p := 0
	if after != 0 {
		p = ls.posOf[after]
	}
	switch {
	case p == i-1:
		return append(buf[:0], pre(r, i-1), nd(v), suf(r, i+1))
	case p < i:
		return append(buf[:0], pre(r, p), nd(v), mid(r, p+1, i-1), suf(r, i+1))
	}
	return append(buf[:0], pre(r, i-1), mid(r, i+1, p), nd(v), suf(r, p+1))
}

func growFloats(b []float64, n int) []float64 {
	if cap(b) < n {
		return make([]float64, n, 2*n)
	}
	return b[:n]
}

func growBest3(b []best3, n int) []best3 {
	if cap(b) < n {
		return make([]best3, n, 2*n)
	}
	return b[:n]
}

// swapStarPass runs SWAP* on all overlapping route pairs changed since
// their last test.
func (ls *localSearch) swapStarPass(loop int) bool {
	improved := false
	for r1 := range ls.routes {
		if len(ls.routes[r1].seq) == 2 {
			continue
		}
		last := ls.routes[r1].lastSwap
		ls.routes[r1].lastSwap = ls.moves
		s1 := &ls.routes[r1].sector
		for r2 := r1 + 1; r2 < len(ls.routes); r2++ {
			if len(ls.routes[r2].seq) == 2 {
				continue
			}
			if loop > 0 && max(ls.routes[r1].modified, ls.routes[r2].modified) <= last {
				continue
			}
			if !overlap(s1, &ls.routes[r2].sector) {
				continue
			}
			if ls.swapStar(r1, r2) {
				improved = true
			}
		}
	}
	return improved
}
