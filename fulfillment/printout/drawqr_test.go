package printout

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"codeberg.org/go-pdf/fpdf"

	"groupbuy/fulfillment/printout/qrcode"
)

// drawQRRects is drawQR as fpdf's own Rect draws it, square by square.
func (d *doc) drawQRRects(c *qrcode.Code, x, y, size float64) {
	n := c.Size
	m := size / float64(n+8)
	x, y = x+4*m, y+4*m
	d.pdf.SetFillColor(0, 0, 0)
	for row := range n {
		for col, end := range c.Runs(row) {
			d.pdf.Rect(x+float64(col)*m, y+float64(row)*m, float64(end-col)*m, m+0.02, "F")
		}
	}
}

// TestDrawQRAsFpdfRect: the squares drawQR writes in one piece are byte for
// byte those fpdf's Rect writes, on label and A4 pages, at the sizes and
// places labels and route sheets use and at odd ones.
func TestDrawQRAsFpdfRect(t *testing.T) {
	f := fonts(t)
	for _, page := range []struct {
		size       [2]float64
		x, y, side float64
	}{{[2]float64{100, 150}, 3, 88, 52}, {[2]float64{210, 297}, 167, 240, 31}, {[2]float64{210, 297}, 10.37, 3.1, 77.7}} {
		var docs [2]*doc
		for i := range docs {
			docs[i] = f.newDoc("P", labelSize, printed, "qr")
		}
		for i := range 60 {
			text := BagRef{WaveID: int64(i * 977), BagID: int64(1_000_000 + i*7919), Route: fmt.Sprintf("R%02d", i%40), Stop: i % 35, Zone: "chilled"}.Payload([]byte("k"))
			if i%5 == 0 {
				text = fmt.Sprintf("https://example.com/driver/%d?t=%x", i, i*104729)
			}
			c, err := qrcode.Encode(text, qrcode.M)
			if err != nil {
				t.Fatal(err)
			}
			for k, d := range docs {
				d.pdf.AddPageFormat("P", fpdf.SizeType{Wd: page.size[0], Ht: page.size[1]})
				d.fit(3, 3, 50, 10, "前", 12, 8, left)
				if k == 0 {
					d.drawQRRects(c, page.x, page.y, page.side)
				} else {
					d.drawQR(c, page.x, page.y, page.side)
				}
				d.fit(3, 140, 50, 6, "后", 9, 6, left)
			}
		}
		var out [2]bytes.Buffer
		for i, d := range docs {
			if err := d.pdf.Output(&out[i]); err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(out[0].Bytes(), out[1].Bytes()) {
			t.Errorf("page %v: drawQR's document differs from Rect's (%d bytes, %d)", page.size, out[1].Len(), out[0].Len())
		}
	}
}

// TestFpdfBuffersFound: the fpdf in use still has the private buffers the
// printouts size ahead (fpdfbuf.go); after an fpdf upgrade that renames
// them, the printouts stay right but slow.
func TestFpdfBuffersFound(t *testing.T) {
	d := fonts(t).newDoc("P", labelSize, printed, "buffers")
	d.pdf.AddPageFormat("P", labelSize)
	d.pdf.Rect(1, 1, 2, 2, "F")
	pages, buf := fpdfPages(d.pdf), fpdfBuffer(d.pdf)
	if !fpdfFields.ok || len(pages) != 2 || pages[1].Len() == 0 || buf == nil {
		t.Fatalf("fpdf's page and document buffers not found: %v, %d pages", fpdfFields.ok, len(pages))
	}
	if !bytes.HasSuffix(pages[1].Bytes(), []byte(" re f\n")) {
		t.Errorf("page buffer ends %q, not the rectangle just drawn", pages[1].Bytes())
	}
	got, err := d.bytes()
	if err != nil || !bytes.HasPrefix(got, []byte("%PDF-")) || buf.Len() < len(got)/2 {
		t.Errorf("document read from fpdf's buffer: %d bytes of %d, %v", len(got), buf.Len(), err)
	}
}

// TestLabelsInChunksAsInOrder: labels drawn in chunks on every core make
// the same document as drawn one after the other — with payloads of every
// length (their text shrinks to fit, so the font a page ends in varies), a
// chunk ending on the last label, and too few labels to split.
func TestLabelsInChunksAsInOrder(t *testing.T) {
	f := fonts(t)
	ls := benchLabels()[:3*labelChunk+17]
	for i := range ls {
		ls[i].Route = "R" + strings.Repeat("7", i%23)
		ls[i].BagID = int64(i) * int64(i) * 7919
		if i%11 == 0 {
			ls[i].Point = strings.Repeat("阳光花园北门 ¥ Ω ", i%5)
			ls[i].Zone = "dry"
		}
	}
	for _, n := range []int{len(ls), 3 * labelChunk, labelChunk + 1, 5} {
		want, err := labelsPDF(f, printed, ls[:n], []byte("k"), false)
		if err != nil {
			t.Fatal(err)
		}
		got, err := labelsPDF(f, printed, ls[:n], []byte("k"), true)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%d labels: in chunks %d bytes, in order %d", n, len(got), len(want))
		}
	}
}
