package printout

import (
	"bytes"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"codeberg.org/go-pdf/fpdf"

	"groupbuy/fulfillment/printout/qrcode"
)

// Label is one leader bag's thermal label.
type Label struct {
	BagRef
	Date, Warehouse string
	Point, Leader   string
	Phone           string
	Units, SKUs     int64
	WeightG         int64
	BagNo, Bags     int // this bag's number among the stop's bags (zones)
}

// labelSize is a 100 × 150 mm thermal label.
var labelSize = fpdf.SizeType{Wd: 100, Ht: 150}

// Labels renders one 100 × 150 mm page per bag, in the order given (route,
// stop, zone), each with a QR code of the bag's signed payload.
func Labels(f *Fonts, at time.Time, labels []Label, key []byte) ([]byte, error) {
	return labelsPDF(f, at, labels, key, len(labels) > labelChunk && fpdfFields.ok)
}

// labelChunk is how many labels a core draws at a time.
const labelChunk = 256

// labelsPDF renders the labels; inParallel draws their pages on every core
// (drawChunks) into the same bytes.
func labelsPDF(f *Fonts, at time.Time, labels []Label, key []byte, inParallel bool) ([]byte, error) {
	d := f.newDoc("P", labelSize, at, labelsTitle)
	if len(labels) == 0 {
		d.pdf.AddPageFormat("P", labelSize)
		d.fit(5, 60, 90, 20, "本波次没有袋", 20, 10, center)
	}
	payloads := make([]string, len(labels))
	for i, l := range labels {
		payloads[i] = l.Payload(key)
	}
	// The codes are encoded on the other cores while the pages are drawn,
	// each page as soon as its code is ready.
	codes := encodeQRs(payloads)
	if inParallel {
		if err := d.drawChunks(f, at, labels, payloads, codes); err != nil {
			return nil, err
		}
	}
	for i, l := range labels {
		if inParallel {
			break
		}
		code, err := codes(i)
		if err != nil {
			return nil, fmt.Errorf("printout: label QR: %w", err)
		}
		d.label(l, payloads[i], code)
	}
	if err := d.pdf.Error(); err != nil {
		return nil, err
	}
	return d.bytes()
}

const labelsTitle = "袋标签"

// drawChunks draws the label pages in chunks on every core, each core into
// a document of its own, and puts the pages into d in order, compressed:
// the same bytes as drawing them one after the other into d.
//
// A page's contents depend on the state the page before left (fpdf starts
// a page with the previous one's font, line width and colours, and writes a
// font change only when the font changes), and a label leaves the same
// state whatever it started from. So a chunk is drawn after the label
// before it, on a page that is dropped. d's own pages are added empty and
// their contents replaced; its fonts are shown every rune the pages use
// (fpdf embeds only those), on its last page before that is replaced.
func (d *doc) drawChunks(f *Fonts, at time.Time, labels []Label, payloads []string, codes func(int) (*qrcode.Code, error)) error {
	chunks := (len(labels) + labelChunk - 1) / labelChunk
	pages := make([]*bytes.Buffer, len(labels))
	workers := min(runtime.GOMAXPROCS(0), chunks)
	errs := make([]error, workers)
	used := make([][]*doc, workers) // each core's documents
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			var s *doc
			z, err := newDeflater()
			if err != nil {
				errs[w] = err
				return
			}
			for c := int(next.Add(1) - 1); c < chunks; c = int(next.Add(1) - 1) {
				start, end := c*labelChunk, min(len(labels), (c+1)*labelChunk)
				if s == nil || start == 0 { // the first chunk starts where a new document does
					s = f.newDoc("P", labelSize, at, labelsTitle)
					s.runes = map[string]map[rune]bool{}
					used[w] = append(used[w], s)
				}
				from := start
				if start > 0 {
					from-- // the label before, for its state
				}
				for i := from; i < end; i++ {
					code, err := codes(i)
					if err != nil {
						errs[w] = fmt.Errorf("printout: label QR: %w", err)
						return
					}
					s.label(labels[i], payloads[i], code)
				}
				if err := s.pdf.Error(); err != nil {
					errs[w] = err
					return
				}
				// The chunk's pages are compressed here, on this core, and
				// the plain ones let go.
				ps := fpdfPages(s.pdf)
				for k, p := range ps[len(ps)-(end-start):] {
					b, err := z.deflate(p.Bytes())
					if err != nil {
						errs[w] = err
						return
					}
					pages[start+k] = bytes.NewBuffer(b)
				}
				for k := 1; k < len(ps); k++ {
					ps[k] = new(bytes.Buffer)
				}
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for range labels {
		d.pdf.AddPageFormat("P", labelSize)
	}
	for _, fam := range []string{famCJK, famLatin} {
		var rs []rune
		for _, s := range slices.Concat(used...) {
			for r := range s.runes[fam] {
				rs = append(rs, r)
			}
		}
		if len(rs) > 0 {
			d.pdf.SetFont(fam, "", 10)
			d.pdf.Text(0, 10, string(rs))
		}
	}
	own := fpdfPages(d.pdf)
	if len(own) != len(pages)+1 {
		return fmt.Errorf("printout: %d label pages drawn, %d in the document", len(pages), len(own)-1)
	}
	copy(own[1:], pages)
	d.deflated = len(pages)
	return d.pdf.Error()
}

func (d *doc) label(l Label, payload string, code *qrcode.Code) {
	p := d.pdf
	p.AddPageFormat("P", labelSize)
	d.growPage(d.pageHint)
	defer func() { d.pageHint = d.pageLen() + 1024 }()
	p.SetLineWidth(0.6)
	// Route and stop are read from across the sorting floor: as large as fits.
	d.fit(3, 3, 56, 30, routeName(l.Route), 64, 24, left)
	d.box(60, 3, 37, 30)
	d.fit(60, 3, 37, 7, "站", 10, 8, center)
	d.fit(60, 9, 37, 24, fmt.Sprintf("%02d", l.Stop), 56, 20, center)
	// The zone on a black band: chilled and frozen bags must not wait on the dock.
	p.SetFillColor(0, 0, 0)
	p.Rect(3, 35, 94, 12, "F")
	p.SetTextColor(255, 255, 255)
	d.fit(3, 35, 94, 12, fmt.Sprintf("%s   袋 %d/%d", ZoneName(l.Zone), l.BagNo, l.Bags), 22, 12, center)
	p.SetTextColor(0, 0, 0)
	d.fit(3, 49, 94, 16, l.Point, 18, 10, left)
	d.fit(3, 65, 94, 9, "团长 "+l.Leader+"  "+l.Phone, 14, 8, left)
	d.fit(3, 75, 94, 10, fmt.Sprintf("%d 件  %d 种  %s kg", l.Units, l.SKUs, kg(l.WeightG)), 18, 10, left)
	p.SetLineWidth(0.2)
	p.Line(3, 87, 97, 87)
	d.drawQR(code, 3, 88, 52)
	d.fit(55, 92, 42, 7, "配送日 "+l.Date, 9, 6, left)
	d.fit(55, 100, 42, 7, fmt.Sprintf("波次 %d", l.WaveID), 9, 6, left)
	d.fit(55, 108, 42, 7, fmt.Sprintf("袋号 %d", l.BagID), 9, 6, left)
	d.fit(55, 116, 42, 12, l.Warehouse, 9, 6, left)
	d.fit(3, 141, 94, 6, payload, 7, 5, left)
}
