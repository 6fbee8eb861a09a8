// Package qrcode encodes text as a QR code, module for module the code
// github.com/boombuler/barcode/qr makes for the same text and level with its
// automatic mode: the same mode choice (numeric, else alphanumeric, else
// bytes), the same smallest version, the same placement and the same mask,
// chosen by the same penalty rules. Printed labels keep their bytes; only
// the time changes: the modules live in a byte grid and the masks are scored
// in a few passes over it, where that library reads one bit at a time (most
// of the time of a night's labels went into scoring its eight masks).
package qrcode

import (
	"errors"
	"fmt"
	"iter"
	"strconv"
	"sync"
)

// Level is the error correction level.
type Level byte

// The levels, recovering about 7, 15, 25 and 30 % of the code.
const (
	L Level = iota
	M
	Q
	H
)

// ErrTooLong is returned for a text no version of the level holds.
var ErrTooLong = errors.New("qrcode: text too long")

// Code is an encoded QR code: Size × Size modules, no quiet zone.
type Code struct {
	Size    int
	Version int
	Mask    int
	mods    []byte // 1 dark; x*Size + y, x the column and y the row
}

// Dark reports whether the module in column x, row y is dark.
func (c *Code) Dark(x, y int) bool { return c.mods[x*c.Size+y] == 1 }

// Runs yields each run of dark modules in row y, left to right, as the
// column it starts in and the column after its end: a printer draws a run
// as one rectangle.
func (c *Code) Runs(y int) iter.Seq2[int, int] {
	return func(yield func(start, end int) bool) {
		for x := 0; x < c.Size; {
			if !c.Dark(x, y) {
				x++
				continue
			}
			end := x
			for end < c.Size && c.Dark(end, y) {
				end++
			}
			if !yield(x, end) {
				return
			}
			x = end
		}
	}
}

// Encode encodes text at level.
func Encode(text string, level Level) (*Code, error) {
	if level > H {
		return nil, fmt.Errorf("qrcode: unknown level %d", level)
	}
	data, v, err := encodeData(text, level)
	if err != nil {
		return nil, err
	}
	return render(codewords(data, &versions[v-1][level]), v, level), nil
}

// blocks is a version's and level's split into error-correction blocks.
type blocks struct {
	ecc       byte // error correction codewords per block
	n1, data1 byte // blocks of group 1 and their data codewords
	n2, data2 byte // the same of group 2
}

func (b *blocks) dataBytes() int { return int(b.n1)*int(b.data1) + int(b.n2)*int(b.data2) }

// Modes, as their 4-bit indicators.
const (
	numeric      = 1
	alphanumeric = 2
	byteMode     = 4
)

// charCountBits is the width of the character count of mode in version v.
func charCountBits(v, mode int) int {
	switch mode {
	case numeric:
		return [3]int{10, 12, 14}[sizeClass(v)]
	case alphanumeric:
		return [3]int{9, 11, 13}[sizeClass(v)]
	}
	return [3]int{8, 16, 16}[sizeClass(v)]
}

func sizeClass(v int) int {
	switch {
	case v < 10:
		return 0
	case v < 27:
		return 1
	}
	return 2
}

// smallest is the smallest version of level holding dataBits in mode, or 0.
func smallest(level Level, mode, dataBits int) int {
	for v := 1; v <= 40; v++ {
		if versions[v-1][level].dataBytes()*8 >= dataBits+4+charCountBits(v, mode) {
			return v
		}
	}
	return 0
}

const alphaSet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

var alphaIndex = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := range len(alphaSet) {
		t[alphaSet[i]] = int8(i)
	}
	return t
}()

// bitWriter appends bits, most significant first.
type bitWriter struct {
	b []byte
	n int // bits written
}

func (w *bitWriter) add(v, count int) {
	for i := count - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		if v>>i&1 == 1 {
			w.b[w.n/8] |= 0x80 >> (w.n % 8)
		}
		w.n++
	}
}

// encodeData picks the mode as boombuler's automatic mode does (numeric,
// else alphanumeric, else the UTF-8 bytes) and returns the padded data
// codewords and the version.
func encodeData(text string, level Level) ([]byte, int, error) {
	if b, v, ok := encodeNumeric(text, level); ok {
		return b, v, nil
	}
	if b, v, ok := encodeAlphanumeric(text, level); ok {
		return b, v, nil
	}
	v := smallest(level, byteMode, len(text)*8)
	if v == 0 {
		return nil, 0, fmt.Errorf("%w: %d bytes at level %d", ErrTooLong, len(text), level)
	}
	w := &bitWriter{b: make([]byte, 0, versions[v-1][level].dataBytes())}
	w.add(byteMode, 4)
	w.add(len(text), charCountBits(v, byteMode))
	for i := range len(text) {
		w.add(int(text[i]), 8)
	}
	return pad(w, v, level), v, nil
}

// encodeNumeric encodes text in groups of three digits. Each group is read
// with strconv.Atoi, as boombuler does, so a group such as "+12" counts as
// a number too: the same texts take this mode.
func encodeNumeric(text string, level Level) ([]byte, int, bool) {
	bits := len(text) / 3 * 10
	switch len(text) % 3 {
	case 1:
		bits += 4
	case 2:
		bits += 7
	}
	v := smallest(level, numeric, bits)
	if v == 0 {
		return nil, 0, false
	}
	w := &bitWriter{b: make([]byte, 0, versions[v-1][level].dataBytes())}
	w.add(numeric, 4)
	w.add(len(text), charCountBits(v, numeric))
	for pos := 0; pos < len(text); pos += 3 {
		g := text[pos:min(pos+3, len(text))]
		n, err := strconv.Atoi(g)
		if err != nil || n < 0 {
			return nil, 0, false
		}
		w.add(n, [3]int{10, 4, 7}[len(g)%3])
	}
	return pad(w, v, level), v, true
}

func encodeAlphanumeric(text string, level Level) ([]byte, int, bool) {
	for i := range len(text) {
		if alphaIndex[text[i]] < 0 {
			return nil, 0, false
		}
	}
	bits := len(text) / 2 * 11
	if len(text)%2 == 1 {
		bits += 6
	}
	v := smallest(level, alphanumeric, bits)
	if v == 0 {
		return nil, 0, false
	}
	w := &bitWriter{b: make([]byte, 0, versions[v-1][level].dataBytes())}
	w.add(alphanumeric, 4)
	w.add(len(text), charCountBits(v, alphanumeric))
	for i := 0; i+1 < len(text); i += 2 {
		w.add(int(alphaIndex[text[i]])*45+int(alphaIndex[text[i+1]]), 11)
	}
	if len(text)%2 == 1 {
		w.add(int(alphaIndex[text[len(text)-1]]), 6)
	}
	return pad(w, v, level), v, true
}

// pad adds the terminator (up to four zero bits), zeros to a whole byte and
// the alternating pad bytes up to the version's data capacity.
func pad(w *bitWriter, v int, level Level) []byte {
	total := versions[v-1][level].dataBytes() * 8
	for i := 0; i < 4 && w.n < total; i++ {
		w.add(0, 1)
	}
	for w.n%8 != 0 {
		w.add(0, 1)
	}
	for i := 0; w.n < total; i++ {
		w.add([2]int{236, 17}[i%2], 8)
	}
	return w.b
}

// codewords splits the data into blocks, adds each block's Reed-Solomon
// codewords and interleaves them.
func codewords(data []byte, b *blocks) []byte {
	type blk struct{ data, ecc []byte }
	list := make([]blk, 0, int(b.n1)+int(b.n2))
	at := 0
	for g, n := range []byte{b.n1, b.n2} {
		size := int([]byte{b.data1, b.data2}[g])
		for range n {
			d := data[at : at+size]
			at += size
			list = append(list, blk{d, rsECC(d, int(b.ecc))})
		}
	}
	out := make([]byte, 0, len(data)+len(list)*int(b.ecc))
	for i := range int(max(b.data1, b.data2)) {
		for _, k := range list {
			if i < len(k.data) {
				out = append(out, k.data[i])
			}
		}
	}
	for i := range int(b.ecc) {
		for _, k := range list {
			out = append(out, k.ecc[i])
		}
	}
	return out
}

// GF(256) with the polynomial 0x11D, as QR codes use.
var gfExp, gfLog = func() (exp [512]byte, log [256]int) {
	x := 1
	for i := range 255 {
		exp[i], exp[i+255] = byte(x), byte(x)
		log[x] = i
		x <<= 1
		if x >= 256 {
			x ^= 0x11D
		}
	}
	return
}()

var generators sync.Map // degree → []byte, the leading 1 left out

// generator is ∏ (x + α^i) for i < n, its coefficients from x^(n-1) down.
func generator(n int) []byte {
	if g, ok := generators.Load(n); ok {
		return g.([]byte)
	}
	g := []byte{1}
	for i := range n {
		next := make([]byte, len(g)+1)
		for j, c := range g {
			next[j] ^= c
			if c != 0 {
				next[j+1] ^= gfExp[gfLog[c]+i]
			}
		}
		g = next
	}
	g = g[1:]
	generators.Store(n, g)
	return g
}

// rsECC is the remainder of data·x^n divided by the generator of degree n.
func rsECC(data []byte, n int) []byte {
	g := generator(n)
	r := make([]byte, n)
	for _, d := range data {
		f := d ^ r[0]
		copy(r, r[1:])
		r[n-1] = 0
		if f != 0 {
			lf := gfLog[f]
			for j, c := range g {
				if c != 0 {
					r[j] ^= gfExp[gfLog[c]+lf]
				}
			}
		}
	}
	return r
}
