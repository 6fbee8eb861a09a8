package routing

import (
	"sort"
)

// HGS population parameters (Vidal 2022, table 1).
const (
	popMu      = 25
	popLambda  = 40
	popElite   = 4
	popClose   = 5
	targetFeas = 0.2
)

type subpop struct {
	inds []*individual
}

func (c *core) addTo(sp *subpop, ind *individual) {
	for _, o := range sp.inds {
		d := c.brokenPairs(ind, o)
		insertProx(o, proximity{d, ind})
		insertProx(ind, proximity{d, o})
	}
	i := sort.Search(len(sp.inds), func(i int) bool { return sp.inds[i].pen > ind.pen })
	sp.inds = append(sp.inds, nil)
	copy(sp.inds[i+1:], sp.inds[i:])
	sp.inds[i] = ind
	if len(sp.inds) > popMu+popLambda {
		for len(sp.inds) > popMu {
			c.removeWorst(sp)
		}
	}
}

func insertProx(a *individual, p proximity) {
	i := sort.Search(len(a.prox), func(i int) bool { return a.prox[i].d > p.d })
	a.prox = append(a.prox, proximity{})
	copy(a.prox[i+1:], a.prox[i:])
	a.prox[i] = p
}

func removeProx(a, gone *individual) {
	for i, p := range a.prox {
		if p.ind == gone {
			a.prox = append(a.prox[:i], a.prox[i+1:]...)
			return
		}
	}
}

func avgClose(a *individual) float64 {
	k := min(popClose, len(a.prox))
	if k == 0 {
		return 0
	}
	s := 0.0
	for _, p := range a.prox[:k] {
		s += p.d
	}
	return s / float64(k)
}

// updateBiased sets the biased fitness: rank by cost plus a weighted rank
// by contribution to diversity.
func updateBiased(sp *subpop) {
	n := len(sp.inds)
	if n == 1 {
		sp.inds[0].biased = 0
		return
	}
	type rk struct {
		div float64
		i   int
	}
	r := make([]rk, n)
	for i, ind := range sp.inds {
		r[i] = rk{-avgClose(ind), i}
	}
	sort.SliceStable(r, func(a, b int) bool { return r[a].div < r[b].div })
	for pos, x := range r {
		divRank := float64(pos) / float64(n-1)
		fitRank := float64(x.i) / float64(n-1)
		if n <= popElite {
			sp.inds[x.i].biased = fitRank
		} else {
			sp.inds[x.i].biased = fitRank + (1-float64(popElite)/float64(n))*divRank
		}
	}
}

func (c *core) removeWorst(sp *subpop) {
	updateBiased(sp)
	worst, worstClone := 1, false
	worstFit := -1.0
	for i := 1; i < len(sp.inds); i++ {
		ind := sp.inds[i]
		clone := avgClose(ind) < 1e-9
		if (clone && !worstClone) || (clone == worstClone && ind.biased > worstFit) {
			worst, worstClone, worstFit = i, clone, ind.biased
		}
	}
	gone := sp.inds[worst]
	sp.inds = append(sp.inds[:worst], sp.inds[worst+1:]...)
	for _, o := range sp.inds {
		removeProx(o, gone)
	}
}
