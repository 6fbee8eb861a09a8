package qrcode

import (
	"math"
	"math/bits"
	"sync"
)

// layout is what every code of a version shares: its function patterns
// (finders, alignment, timing, dark module, version information) and the
// order of the data modules.
type layout struct {
	size int
	base []byte  // function patterns, 0 elsewhere
	data []int32 // the data modules' indexes, in placement order
	// masks[m][k] is 1 where mask m inverts data module k.
	masks [8][]byte
	// format[k] is the index of the k-th format bit's two modules.
	format [15][2]int32
}

var layouts [41]struct {
	once sync.Once
	l    *layout
}

func layoutOf(v int) *layout {
	e := &layouts[v]
	e.once.Do(func() { e.l = newLayout(v) })
	return e.l
}

func newLayout(v int) *layout {
	n := (v-1)*4 + 21
	l := &layout{size: n, base: make([]byte, n*n)}
	occupied := make([]bool, n*n)
	set := func(x, y int, dark bool) {
		occupied[x*n+y] = true
		l.base[x*n+y] = b2i(dark)
	}
	finder := func(x0, y0 int) {
		for x := -1; x < 8; x++ {
			for y := -1; y < 8; y++ {
				in := x >= 0 && x <= 6 && y >= 0 && y <= 6
				dark := in && (x == 0 || x == 6 || y == 0 || y == 6 || (x > 1 && x < 5 && y > 1 && y < 5))
				if x+x0 >= 0 && x+x0 < n && y+y0 >= 0 && y+y0 < n {
					set(x+x0, y+y0, dark)
				}
			}
		}
	}
	finder(0, 0)
	finder(0, n-7)
	finder(n-7, 0)
	pos := alignmentPositions(v)
	for _, x := range pos {
		for _, y := range pos {
			if occupied[x*n+y] {
				continue
			}
			for dx := -2; dx <= 2; dx++ {
				for dy := -2; dy <= 2; dy++ {
					set(x+dx, y+dy, dx == -2 || dx == 2 || dy == -2 || dy == 2 || (dx == 0 && dy == 0))
				}
			}
		}
	}
	for i := range n {
		if !occupied[i*n+6] {
			set(i, 6, i%2 == 0)
		}
		if !occupied[6*n+i] {
			set(6, i, i%2 == 0)
		}
	}
	set(8, n-8, true) // the dark module
	if v >= 7 {
		bits := versionBits(v)
		for i := range 18 {
			x, y := n-11+i%3, i/3
			dark := bits>>i&1 == 1
			set(x, y, dark)
			set(y, x, dark)
		}
	}
	// The format modules, in the order of the format bits (most significant
	// first), each bit twice.
	first := [15][2]int{{0, 8}, {1, 8}, {2, 8}, {3, 8}, {4, 8}, {5, 8}, {7, 8}, {8, 8}, {8, 7}, {8, 5}, {8, 4}, {8, 3}, {8, 2}, {8, 1}, {8, 0}}
	for k := range 15 {
		second := [2]int{8, n - 1 - k}
		if k >= 7 {
			second = [2]int{n - 15 + k, 8}
		}
		l.format[k] = [2]int32{int32(first[k][0]*n + first[k][1]), int32(second[0]*n + second[1])}
		occupied[first[k][0]*n+first[k][1]] = true
		occupied[second[0]*n+second[1]] = true
	}
	// Data modules: two columns at a time from the right, up then down,
	// skipping the vertical timing column.
	for x, up := n-1, true; x >= 0; x -= 2 {
		if x == 6 {
			x--
		}
		for i := range n {
			y := i
			if up {
				y = n - 1 - i
			}
			for _, xx := range [2]int{x, x - 1} {
				if xx >= 0 && !occupied[xx*n+y] {
					l.data = append(l.data, int32(xx*n+y))
				}
			}
		}
		up = !up
	}
	for m := range l.masks {
		l.masks[m] = make([]byte, len(l.data))
		for k, i := range l.data {
			l.masks[m][k] = b2i(maskInverts(m, int(i)/n, int(i)%n))
		}
	}
	return l
}

// maskInverts reports whether mask m inverts the module at (x, y), with
// boombuler's coordinates (x the column, y the row).
func maskInverts(m, x, y int) bool {
	switch m {
	case 0:
		return (y+x)%2 == 0
	case 1:
		return y%2 == 0
	case 2:
		return x%3 == 0
	case 3:
		return (y+x)%3 == 0
	case 4:
		return (y/2+x/3)%2 == 0
	case 5:
		return (y*x)%2+(y*x)%3 == 0
	case 6:
		return ((y*x)%2+(y*x)%3)%2 == 0
	}
	return ((y+x)%2+(y*x)%3)%2 == 0
}

// alignmentPositions are the centres of the alignment patterns of version v
// as boombuler computes them.
func alignmentPositions(v int) []int {
	if v == 1 {
		return nil
	}
	first, last := 6, (v-1)*4+21-7
	count := int(math.Ceil(float64(last-first)/28)) + 1
	out := make([]int, count)
	out[0], out[count-1] = first, last
	if count > 2 {
		step := int(math.Ceil(float64(last-first) / float64(count-1)))
		if step%2 == 1 {
			frac := float64(last-first) / float64(count-1)
			if _, x := math.Modf(frac); x >= 0.5 {
				frac = math.Ceil(frac)
			} else {
				frac = math.Floor(frac)
			}
			if int(frac)%2 == 0 {
				step--
			} else {
				step++
			}
		}
		for i := 1; i <= count-2; i++ {
			out[i] = last - step*(count-1-i)
		}
	}
	return out
}

// versionBits is the 18-bit version information of v (BCH(18,6)).
func versionBits(v int) int {
	r := v << 12
	for i := 17; i >= 12; i-- {
		if r>>i&1 == 1 {
			r ^= 0x1F25 << (i - 12)
		}
	}
	return v<<12 | r
}

// formatBits is the 15-bit format information of level and mask (BCH(15,5),
// masked with 0x5412).
func formatBits(level Level, mask int) int {
	d := [4]int{1, 0, 3, 2}[level]<<3 | mask
	r := d << 10
	for i := 14; i >= 10; i-- {
		if r>>i&1 == 1 {
			r ^= 0x537 << (i - 10)
		}
	}
	return (d<<10 | r) ^ 0x5412
}

// render places the codewords under each of the eight masks and keeps the
// first with the lowest penalty.
func render(words []byte, v int, level Level) *Code {
	l := layoutOf(v)
	bits := make([]byte, len(l.data))
	for k := range bits {
		if k < len(words)*8 {
			bits[k] = words[k/8] >> (7 - k%8) & 1
		}
	}
	grid := make([]byte, len(l.base))
	best := make([]byte, len(l.base))
	var lines []uint64
	if l.size <= 64 {
		lines = make([]uint64, 2*l.size)
	}
	bestPenalty, bestMask := -1, 0
	for m := range 8 {
		copy(grid, l.base)
		for k, i := range l.data {
			grid[i] = bits[k] ^ l.masks[m][k]
		}
		f := formatBits(level, m)
		for k, at := range l.format {
			b := byte(f >> (14 - k) & 1)
			grid[at[0]], grid[at[1]] = b, b
		}
		if p := score(grid, l.size, lines); bestPenalty < 0 || p < bestPenalty {
			bestPenalty, bestMask = p, m
			grid, best = best, grid
		}
	}
	return &Code{Size: l.size, Version: v, Mask: bestMask, mods: best}
}

// score is penalty(g, n), by penaltyBits when a line fits in a word (lines
// has room for 2n words then).
func score(g []byte, n int, lines []uint64) int {
	if lines == nil {
		return penalty(g, n)
	}
	return penaltyBits(g, n, lines[:n], lines[n:2*n])
}

// Patterns of rule 3 as 11-bit windows, the first module the highest bit.
const (
	finderLike1 = 0b10111010000
	finderLike2 = 0b00001011101
)

// penalty scores a masked code by boombuler's four rules: runs of five or
// more modules of a colour in a line (length − 2 each), 2 × 2 blocks of a
// colour (3 each), 1:1:3:1:1 finder-like windows with four light modules on
// one side (40 each), and the dark share's distance from half.
func penalty(g []byte, n int) int {
	p := 0
	dark := 0
	for a := range n {
		var runX, runY int
		var colX, colY byte
		var winX, winY int
		for b := range n {
			vx := g[a*n+b] // along y in column a
			vy := g[b*n+a] // along x in row a
			dark += int(vx)
			if b > 0 && vx == colX {
				runX++
			} else {
				if runX >= 5 {
					p += runX - 2
				}
				colX, runX = vx, 1
			}
			if b > 0 && vy == colY {
				runY++
			} else {
				if runY >= 5 {
					p += runY - 2
				}
				colY, runY = vy, 1
			}
			winX = (winX<<1 | int(vx)) & 0x7FF
			winY = (winY<<1 | int(vy)) & 0x7FF
			if b >= 10 {
				if winX == finderLike1 || winX == finderLike2 {
					p += 40
				}
				if winY == finderLike1 || winY == finderLike2 {
					p += 40
				}
			}
		}
		if runX >= 5 {
			p += runX - 2
		}
		if runY >= 5 {
			p += runY - 2
		}
	}
	for x := 0; x < n-1; x++ {
		for y := 0; y < n-1; y++ {
			c := g[x*n+y]
			if g[x*n+y+1] == c && g[(x+1)*n+y] == c && g[(x+1)*n+y+1] == c {
				p += 3
			}
		}
	}
	perc := float64(dark) * 100 / float64(n*n)
	lo := math.Abs(math.Floor(perc/5) - 10)
	hi := math.Abs(math.Ceil(perc/5) - 10)
	return p + int(math.Min(lo, hi)*10)
}

// penaltyBits is penalty(g, n) for n ≤ 64, computed on each line as a
// word, bit i the line's i-th module: a run of five alike is where four
// neighbours in a row are equal, a finder-like window where eleven shifted
// copies of the line agree with the pattern.
func penaltyBits(g []byte, n int, cols, rows []uint64) int {
	clear(rows)
	for x := range n {
		var c uint64
		line := g[x*n : x*n+n]
		for y, v := range line {
			c |= uint64(v) << y
			rows[y] |= uint64(v) << x
		}
		cols[x] = c
	}
	full := uint64(1)<<n - 1
	p, dark := 0, 0
	lineScore := func(l uint64) int {
		eq := ^(l ^ l>>1) & (full >> 1) // bit y: modules y and y+1 alike
		five := eq & (eq >> 1) & (eq >> 2) & (eq >> 3)
		s := bits.OnesCount64(five) + 2*bits.OnesCount64(five&^(five<<1))
		m1, m2 := full>>10, full>>10
		for i := range 11 {
			sh := l >> i
			if finderLike1>>(10-i)&1 == 1 {
				m1 &= sh
			} else {
				m1 &^= sh
			}
			if finderLike2>>(10-i)&1 == 1 {
				m2 &= sh
			} else {
				m2 &^= sh
			}
		}
		return s + 40*bits.OnesCount64(m1|m2)
	}
	for i := range n {
		p += lineScore(cols[i]) + lineScore(rows[i])
		dark += bits.OnesCount64(cols[i])
	}
	for x := 0; x < n-1; x++ {
		a, b := cols[x], cols[x+1]
		p += 3 * bits.OnesCount64(^(a^b) & ^(a^a>>1) & ^(b^b>>1) & (full>>1))
	}
	perc := float64(dark) * 100 / float64(n*n)
	lo := math.Abs(math.Floor(perc/5) - 10)
	hi := math.Abs(math.Ceil(perc/5) - 10)
	return p + int(math.Min(lo, hi)*10)
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}
