package routing

import (
	"math"
)

// srex is the selective route exchange crossover (Nagata and Kobayashi
// 2010), which the EURO Meets NeurIPS 2022 HGS baseline pairs with OX: a
// run of neighbouring routes of a, in polar order around the depot, gives
// way to the run of b's routes that shares most customers with it. Its
// children keep whole routes of both parents, so their education is short.
// It makes two children (whose routes keep the customers both runs share:
// b's or a's) and returns the one of lower penalised cost; nil when a
// parent has no route.
func (h *hgs) srex(a, b *individual) *individual {
	c := h.c
	ra, rb := c.polarOrder(a), c.polarOrder(b)
	na, nb := len(ra), len(rb)
	if na == 0 || nb == 0 {
		return nil
	}
	moved := 1
	if m := min(na, nb); m > 1 {
		moved = 1 + h.rng.IntN(m-1)
	}
	startA := h.rng.IntN(na)
	startB := 0
	if startA < nb {
		startB = startA
	}
	// inA/inB mark the customers of the selected runs.
	inA, inB := make([]bool, c.nn), make([]bool, c.nn)
	mark := func(set []bool, ind *individual, order []int, start int, on bool) {
		for r := range moved {
			for _, v := range ind.routes[order[(start+r)%len(order)]] {
				set[v] = on
			}
		}
	}
	mark(inA, a, ra, startA, true)
	mark(inB, b, rb, startB, true)
	// misfit counts the customers in one run and not the other.
	misfit := func() int {
		n := 0
		for v := 1; v <= c.n; v++ {
			if inA[v] != inB[v] {
				n++
			}
		}
		return n
	}
	// Slide either run by one route while that reduces the misfit.
	best := misfit()
	for range na + nb {
		bestMove := 0
		for mv := 1; mv <= 4; mv++ {
			set, ind, order, start := inA, a, ra, &startA
			if mv > 2 {
				set, ind, order, start = inB, b, rb, &startB
			}
			n := len(order)
			step := 1
			if mv%2 == 1 {
				step = n - 1
			}
			mark(set, ind, order, *start, false)
			mark(set, ind, order, (*start+step)%n, true)
			if m := misfit(); m < best {
				best, bestMove = m, mv
			}
			mark(set, ind, order, (*start+step)%n, false)
			mark(set, ind, order, *start, true)
		}
		if bestMove == 0 {
			break
		}
		set, ind, order, start := inA, a, ra, &startA
		if bestMove > 2 {
			set, ind, order, start = inB, b, rb, &startB
		}
		step := 1
		if bestMove%2 == 1 {
			step = len(order) - 1
		}
		mark(set, ind, order, *start, false)
		*start = (*start + step) % len(order)
		mark(set, ind, order, *start, true)
	}
	var out *individual
	for variant := range 2 {
		child := &individual{routes: make([][]int, len(c.slots))}
		taken := make([]bool, len(c.slots))
		selA := make([]bool, len(c.slots))
		for r := range moved {
			selA[ra[(startA+r)%na]] = true
		}
		// a's other routes, in their slots; without b's run's customers in
		// the first child.
		for s, rt := range a.routes {
			if len(rt) == 0 || selA[s] {
				continue
			}
			taken[s] = true
			for _, v := range rt {
				if variant == 1 || !inB[v] || inA[v] {
					child.routes[s] = append(child.routes[s], v)
				}
			}
		}
		placed := make([]bool, c.nn)
		for _, rt := range child.routes {
			for _, v := range rt {
				placed[v] = true
			}
		}
		// b's run, each route on a free vehicle of its type if any.
		for r := range moved {
			s := rb[(startB+r)%nb]
			var rt []int
			for _, v := range b.routes[s] {
				if !placed[v] {
					rt = append(rt, v)
					placed[v] = true
				}
			}
			if len(rt) == 0 {
				continue
			}
			slot := -1
			for t := range c.slots {
				if !taken[t] && (slot < 0 || (c.slots[t] == c.slots[s] && c.slots[slot] != c.slots[s])) {
					slot = t
					if c.slots[t] == c.slots[s] {
						break
					}
				}
			}
			if slot < 0 {
				break
			}
			taken[slot] = true
			child.routes[slot] = rt
		}
		var missing []int
		for v := 1; v <= c.n; v++ {
			if !placed[v] {
				missing = append(missing, v)
			}
		}
		c.insertCheapest(child.routes, missing, h.pc, h.ptw)
		c.evaluate(child)
		child.pen = child.parts.penalised(h.pc, h.ptw)
		if out == nil || child.pen < out.pen {
			out = child
		}
	}
	c.rebuildTour(out)
	return out
}

// insertCheapest inserts each customer where it raises the penalised cost
// least, in a route in use (or the first slot when none is).
func (c *core) insertCheapest(routes [][]int, us []int, pc, ptw float64) {
	bs := make([]*builder, len(routes))
	for _, u := range us {
		bestR, bestI, bestD := -1, 0, math.Inf(1)
		for r, rt := range routes {
			if len(rt) == 0 {
				continue
			}
			if bs[r] == nil {
				bs[r] = &builder{c: c}
				bs[r].reset(c.slots[r], rt)
			}
			b := bs[r]
			m := len(b.seq)
			old := c.parts(b.cl, &b.fwd[m-1], m-2).penalised(pc, ptw)
			for i := 0; i < m-1; i++ {
				x, y := b.seq[i], b.seq[i+1]
				// The distance alone already rules most places out.
				k := &c.classes[b.cl]
				if k.perDist*(c.dist[x*c.nn+u]+c.dist[u*c.nn+y]-c.dist[x*c.nn+y]) >= bestD {
					continue
				}
				s := c.join(&b.fwd[i], &c.node[u])
				s = c.join(&s, &b.bwd[i+1])
				if d := c.parts(b.cl, &s, m-1).penalised(pc, ptw) - old; d < bestD {
					bestR, bestI, bestD = r, i, d
				}
			}
		}
		if bestR < 0 {
			bestR = 0
			if bs[0] == nil {
				bs[0] = &builder{c: c}
				bs[0].reset(c.slots[0], routes[0])
			}
		}
		b := bs[bestR]
		b.insert(u, bestI)
		routes[bestR] = append(routes[bestR][:0:0], b.seq[1:len(b.seq)-1]...)
	}
}
