package printout

import (
	"bytes"
	"strings"

	"codeberg.org/go-pdf/fpdf"
)

// doc is a PDF being drawn, with text helpers that switch face by rune.
type doc struct {
	pdf     *fpdf.Fpdf
	fonts   *Fonts
	scratch []byte // drawQR's, reused from code to code
	qrGrids map[qrPlace]*qrGrid
	// pageHint is how long the last label page came out: the next one is
	// given that room at once.
	pageHint int
	// deflated is how many pages, from the first, hold their contents
	// compressed already.
	deflated int
	// runes, when not nil, collects the runes drawn in each face.
	runes map[string]map[rune]bool
}

// mmPerPt converts a font size to its height in mm.
const mmPerPt = 25.4 / 72

// Alignment of text inside a box.
type align int

const (
	left align = iota
	center
	right
)

// tofu stands in for a rune past U+FFFF (an emoji, CJK Extension B): the
// text rules admit them, and fpdf's font maps end at U+FFFF (it panics
// closing a document that uses one).
const tofu = '□'

// drawable is r as the faces draw it.
func drawable(r rune) rune {
	if r > 0xFFFF {
		return tofu
	}
	return r
}

// text draws s with its baseline at (x, y), switching face where the script
// changes.
func (d *doc) text(x, y float64, s string, size float64) {
	s = strings.Map(drawable, s)
	start, fam := 0, ""
	flush := func(end int) {
		if end > start {
			seg := s[start:end]
			d.pdf.SetFont(fam, "", size)
			d.pdf.Text(x, y, seg)
			if d.runes != nil {
				set := d.runes[fam]
				if set == nil {
					set = map[rune]bool{}
					d.runes[fam] = set
				}
				for _, r := range seg {
					set[r] = true
				}
			}
			x += d.fonts.width(seg, size)
		}
		start = end
	}
	for i, r := range s {
		if f := familyOf(r); f != fam {
			flush(i)
			fam = f
		}
	}
	flush(len(s))
}

// fit draws s inside the box (x, y, w, h) and never outside it: at size if it
// fits on one line, else shrunk down to minSize, else wrapped over as many
// lines as the box holds at minSize, the last one cut with "…". Labels and
// sheets are read at arm's length, so shrinking stops at a readable minimum.
func (d *doc) fit(x, y, w, h float64, s string, size, minSize float64, a align) {
	s = strings.Join(strings.Fields(s), " ")
	if s == "" {
		return
	}
	const pad = 0.8
	x, w = x+pad, w-2*pad
	for sz := size; sz >= minSize; sz -= 0.5 {
		if d.fonts.width(s, sz) <= w && sz*mmPerPt <= h {
			d.line(x, y, w, h, s, sz, a)
			return
		}
	}
	sz := minSize
	lh := sz * mmPerPt * 1.15
	n := max(1, int(h/lh))
	lines := d.wrap(s, w, sz)
	if len(lines) > n {
		lines = lines[:n]
		last := []rune(lines[n-1])
		for len(last) > 0 && d.fonts.width(string(last)+"…", sz) > w {
			last = last[:len(last)-1]
		}
		lines[n-1] = string(last) + "…"
	}
	top := y + (h-float64(len(lines))*lh)/2
	for i, l := range lines {
		d.line(x, top+float64(i)*lh, w, lh, l, sz, a)
	}
}

// line draws one line of text vertically centred in a box of height h.
func (d *doc) line(x, y, w, h float64, s string, size float64, a align) {
	tw := d.fonts.width(s, size)
	switch a {
	case center:
		x += (w - tw) / 2
	case right:
		x += w - tw
	}
	// The baseline sits about 0.35 em below the box's middle.
	d.text(x, y+h/2+size*mmPerPt*0.35, s, size)
}

// wrap breaks s into lines no wider than w: at spaces where it can, and
// between any two characters otherwise (Chinese has no spaces).
func (d *doc) wrap(s string, w, size float64) []string {
	var lines []string
	var cur []rune
	lastSpace := -1
	for _, r := range s {
		cur = append(cur, r)
		if r == ' ' {
			lastSpace = len(cur) - 1
		}
		if d.fonts.width(string(cur), size) <= w {
			continue
		}
		if lastSpace > 0 {
			lines = append(lines, string(cur[:lastSpace]))
			cur = append([]rune(nil), cur[lastSpace+1:]...)
		} else if len(cur) > 1 {
			lines = append(lines, string(cur[:len(cur)-1]))
			cur = []rune{r}
		}
		lastSpace = -1
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	return lines
}

// box draws a rectangle outline.
func (d *doc) box(x, y, w, h float64) { d.pdf.Rect(x, y, w, h, "D") }

// bytes finishes the document: fpdf writes its pages plain (newDoc turns
// its compression off), their contents already compressed here on every
// core (the first d.deflated pages by whoever drew them), and markDeflated
// marks them so: the bytes fpdf writes compressing them itself, page after
// page, with a new zlib writer for each. fpdf's buffer is sized first for
// what it is about to copy in, and read in place rather than copied out.
func (d *doc) bytes() ([]byte, error) {
	buf, pages := fpdfBuffer(d.pdf), fpdfPages(d.pdf)
	if buf == nil || len(pages) < 2 {
		var b bytes.Buffer
		if err := d.pdf.Output(&b); err != nil {
			return nil, err
		}
		return compressPages(b.Bytes())
	}
	if err := d.pdf.Error(); err != nil {
		return nil, err
	}
	if err := deflatePages(pages[1+d.deflated:]); err != nil {
		return nil, err
	}
	n := 1 << 20 // fonts, resources, cross-references
	for _, p := range pages[1:] {
		n += p.Len() + 256 // and each page's objects
	}
	buf.Grow(n)
	d.pdf.Close()
	if err := d.pdf.Error(); err != nil {
		return nil, err
	}
	return markDeflated(buf.Bytes())
}
