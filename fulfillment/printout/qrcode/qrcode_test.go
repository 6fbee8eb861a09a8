package qrcode

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/boombuler/barcode"
	bqr "github.com/boombuler/barcode/qr"
)

// same reports where c differs from boombuler's code for text at level.
func same(t *testing.T, text string, level Level) {
	t.Helper()
	want, werr := bqr.Encode(text, bqr.ErrorCorrectionLevel(level), bqr.Auto)
	got, gerr := Encode(text, level)
	if werr != nil || gerr != nil {
		if werr == nil || gerr == nil {
			t.Fatalf("%q at %d: error %v, boombuler's %v", text, level, gerr, werr)
		}
		return
	}
	if n := want.Bounds().Dx(); got.Size != n {
		t.Fatalf("%q at %d: %d modules a side, boombuler's %d", text, level, got.Size, n)
	}
	for x := range got.Size {
		for y := range got.Size {
			if got.Dark(x, y) != dark(want, x, y) {
				t.Fatalf("%q at %d (version %d, mask %d): module (%d, %d) differs from boombuler's", text, level, got.Version, got.Mask, x, y)
			}
		}
	}
}

func dark(c barcode.Barcode, x, y int) bool {
	r, _, _, _ := c.At(x, y).RGBA()
	return r < 0x8000
}

var levels = []Level{L, M, Q, H}

// TestSameAsBoombulerLabels: bag label payloads as printout.BagRef.Payload
// writes them ("GB1:wave:bag:route:stop:zone:check"), from small to large
// ids and long route names, at every level (labels use M).
func TestSameAsBoombulerLabels(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const b32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	for i := range 3000 {
		wave := r.Int64N([]int64{10, 1000, 1e6, 1e12}[i%4])
		bag := r.Int64N([]int64{100, 1e5, 1e8, 1e15}[i/4%4])
		route := fmt.Sprintf("R%0*d", 1+i%3, r.IntN(1000))
		if i%7 == 0 {
			route = "--"
		}
		mac := make([]byte, 16)
		for k := range mac {
			mac[k] = b32[r.IntN(len(b32))]
		}
		p := fmt.Sprintf("GB1:%d:%d:%s:%d:%s:%s", wave, bag, route, r.IntN(200), []string{"A", "C", "F"}[i%3], mac)
		same(t, p, M)
		if i%10 == 0 {
			same(t, p, levels[i/10%4])
		}
	}
}

// TestSameAsBoombulerRandom: random texts of each mode (digits, the
// alphanumeric set, bytes and UTF-8, driver links) over the versions, at
// every level, and texts too long for any version.
func TestSameAsBoombulerRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	alphabets := []string{"0123456789", alphaSet, "abcdefghijklmnopqrstuvwxyz0123456789/:?=&.-_", "团购袋标签上海闵行0123456789ABC"}
	gen := func(alphabet string, n int) string {
		rs := []rune(alphabet)
		var b strings.Builder
		for range n {
			b.WriteRune(rs[r.IntN(len(rs))])
		}
		return b.String()
	}
	for i := range 600 {
		a := alphabets[i%len(alphabets)]
		n := r.IntN([]int{40, 120, 400, 1200}[i/4%4]) + 1
		if i%60 == 0 {
			n = r.IntN(4000) + 1 // up to and past version 40
		}
		same(t, gen(a, n), levels[i/16%4])
	}
	for _, s := range []string{"", "0", "+12", "12+", "-1", "1-2", "https://example.com/driver/7?t=abc", strings.Repeat("9", 7089), strings.Repeat("9", 7090),
		strings.Repeat("A", 4296), strings.Repeat("A", 4297), strings.Repeat("a", 2953), strings.Repeat("a", 2954)} {
		for _, l := range levels {
			same(t, s, l)
		}
	}
	if _, err := Encode(strings.Repeat("a", 3000), L); !errors.Is(err, ErrTooLong) {
		t.Errorf("3,000 bytes: %v, want ErrTooLong", err)
	}
}

// TestSameAsBoombulerVersions: one text per version and level, at the
// largest length of the mode that fits it, so that every version's layout
// (alignment and version information) is checked.
func TestSameAsBoombulerVersions(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, l := range levels {
		for v := 1; v <= 40; v++ {
			capBits := versions[v-1][l].dataBytes()*8 - 4 - charCountBits(v, alphanumeric)
			n := capBits / 11 * 2
			if capBits%11 >= 6 {
				n++
			}
			var b strings.Builder
			for range n {
				b.WriteByte(alphaSet[10+r.IntN(26)])
			}
			c, err := Encode(b.String(), l)
			if err != nil || c.Version != v {
				t.Fatalf("version %d level %d: %d characters give version %v (%v)", v, l, n, c, err)
			}
			same(t, b.String(), l)
		}
	}
}

func BenchmarkEncodeLabel(b *testing.B) {
	const p = "GB1:12345:678901:R07:12:C:ABCDEFGHIJKLMNOP"
	for b.Loop() {
		if _, err := Encode(p, M); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeLabelBoombuler(b *testing.B) {
	const p = "GB1:12345:678901:R07:12:C:ABCDEFGHIJKLMNOP"
	for b.Loop() {
		if _, err := bqr.Encode(p, bqr.M, bqr.Auto); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPenaltyBitsAsBytes: the word-wise penalty equals the module-wise one
// on random grids of every size up to 64, and on sparse and dense ones.
func TestPenaltyBitsAsBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for i := range 3000 {
		n := 11 + r.IntN(54)
		g := make([]byte, n*n)
		dense := r.IntN(10)
		for k := range g {
			g[k] = b2i(r.IntN(10) < dense)
		}
		lines := make([]uint64, 2*n)
		if got, want := penaltyBits(g, n, lines[:n], lines[n:]), penalty(g, n); got != want {
			t.Fatalf("case %d, %d × %d: %d, module by module %d", i, n, n, got, want)
		}
	}
}

// TestRuns: each row's runs are maximal, in order, and cover exactly the
// row's dark modules; a consumer that stops early gets no more.
func TestRuns(t *testing.T) {
	c, err := Encode("GB1:977:1007919:R01:3:chilled:ab12", M)
	if err != nil {
		t.Fatal(err)
	}
	for y := range c.Size {
		covered := make([]bool, c.Size)
		last := -1
		for start, end := range c.Runs(y) {
			if start <= last || start >= end || end > c.Size {
				t.Fatalf("row %d: run [%d, %d) after %d", y, start, end, last)
			}
			if start > 0 && c.Dark(start-1, y) || end < c.Size && c.Dark(end, y) {
				t.Fatalf("row %d: run [%d, %d) is not maximal", y, start, end)
			}
			for x := start; x < end; x++ {
				covered[x] = true
			}
			last = end
		}
		for x := range c.Size {
			if covered[x] != c.Dark(x, y) {
				t.Fatalf("row %d, column %d: dark %v, covered %v", y, x, c.Dark(x, y), covered[x])
			}
		}
	}
	n := 0
	for range c.Runs(0) {
		n++
		break
	}
	if n != 1 {
		t.Fatalf("stopped after %d runs, want 1", n)
	}
}
