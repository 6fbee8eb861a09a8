package printout

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
)

// compressPages compresses the page contents of a PDF fpdf wrote without
// compression, into the bytes fpdf writes with it: each page's stream
// deflated at zlib's best speed under "<</Filter /FlateDecode /Length n>>",
// the objects after it moved and the cross-reference table and its offset
// rewritten. fpdf compresses page after page, each with a new zlib writer
// (most of the time of a document of thousands of labels is allocating
// them); here the pages are compressed on every core, a writer each. It is
// what doc.bytes does when it cannot reach fpdf's page buffers to compress
// them before fpdf copies them in (fpdfbuf.go).
func compressPages(raw []byte) ([]byte, error) {
	return withPageStreams(raw, deflateAll)
}

// markDeflated turns a PDF fpdf wrote without compression from pages whose
// contents were already compressed (deflatePages) into the bytes fpdf
// writes with compression: each page's stream gets its filter.
func markDeflated(raw []byte) ([]byte, error) {
	return withPageStreams(raw, func([][]byte) error { return nil })
}

// withPageStreams rewrites a PDF fpdf wrote without compression with its
// page contents passed through change and marked deflated.
func withPageStreams(raw []byte, change func(streams [][]byte) error) ([]byte, error) {
	objs, xref, err := pdfObjects(raw)
	if err != nil {
		return nil, err
	}
	contents, streams, err := pageStreams(raw, objs)
	if err != nil {
		return nil, err
	}
	if err := change(streams); err != nil {
		return nil, err
	}
	z := make(map[int][]byte, len(contents))
	for k, n := range contents {
		z[n] = streams[k]
	}
	return assemble(raw, objs, xref, z), nil
}

// pageStreams finds the page contents of a PDF as fpdf writes it without
// compression: the object numbers, and the stream of each.
func pageStreams(raw []byte, objs []pdfObject) ([]int, [][]byte, error) {
	// A page's contents are the object its page object names.
	var contents []int
	for _, o := range objs {
		seg := raw[o.start:o.end]
		if !bytes.HasPrefix(seg[bytes.IndexByte(seg, '\n')+1:], []byte("<</Type /Page\n")) {
			continue
		}
		if m := pageContents.FindSubmatch(seg); m != nil {
			n, _ := strconv.Atoi(string(m[1]))
			contents = append(contents, n)
		}
	}
	byNum := make(map[int]int, len(objs)) // object number → index in objs
	for i, o := range objs {
		byNum[o.num] = i
	}
	streams := make([][]byte, len(contents))
	for k, n := range contents {
		i, ok := byNum[n]
		if !ok {
			return nil, nil, fmt.Errorf("printout: page contents %d missing", n)
		}
		o := objs[i]
		head := fmt.Sprintf("%d 0 obj\n<</Length ", n)
		seg := raw[o.start:o.end]
		if !bytes.HasPrefix(seg, []byte(head)) {
			return nil, nil, fmt.Errorf("printout: page contents %d not a plain stream", n)
		}
		rest := seg[len(head):]
		j := bytes.Index(rest, []byte(">>\nstream\n"))
		l, err := strconv.Atoi(string(rest[:max(j, 0)]))
		if j < 0 || err != nil || len(rest) < j+len(">>\nstream\n")+l {
			return nil, nil, fmt.Errorf("printout: page contents %d: bad length", n)
		}
		streams[k] = rest[j+len(">>\nstream\n"):][:l]
	}
	return contents, streams, nil
}

// assemble writes raw with the objects numbered in z as compressed streams
// of z's bytes, the objects after them moved, and the cross-reference table
// and its offset rewritten.
func assemble(raw []byte, objs []pdfObject, xref xrefAt, z map[int][]byte) []byte {
	size := objs[0].start + 20*len(objs) + len(raw) - xref.tableEnd + 64
	for _, o := range objs {
		if b, ok := z[o.num]; ok {
			size += len(b) + 64
		} else {
			size += o.end - o.start
		}
	}
	out := bytes.NewBuffer(make([]byte, 0, size))
	out.Write(raw[:objs[0].start])
	offsets := make(map[int]int, len(objs))
	for _, o := range objs {
		offsets[o.num] = out.Len()
		if b, ok := z[o.num]; ok {
			fmt.Fprintf(out, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n", o.num, len(b))
			out.Write(b)
			out.WriteString("\nendstream\nendobj\n")
			continue
		}
		out.Write(raw[o.start:o.end])
	}
	at := out.Len()
	fmt.Fprintf(out, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for n := 1; n <= len(objs); n++ {
		fmt.Fprintf(out, "%010d 00000 n \n", offsets[n])
	}
	out.Write(raw[xref.tableEnd:xref.startxref])
	fmt.Fprintf(out, "startxref\n%d\n", at)
	out.Write(raw[xref.tail:])
	return out.Bytes()
}

var (
	pageContents = regexp.MustCompile(`\n/Contents (\d+) 0 R>>\n`)
	startXref    = regexp.MustCompile(`startxref\n(\d+)\n`)
)

// pdfObject is where an object of a PDF lies in it.
type pdfObject struct{ num, start, end int }

// xrefAt is where a PDF's cross-reference table ends (the trailer follows),
// where its "startxref" is, and the bytes after the offset it gives.
type xrefAt struct{ tableEnd, startxref, tail int }

// pdfObjects reads the cross-reference table of a PDF as fpdf writes it
// (one section, objects 1 to n) and returns the objects in file order.
func pdfObjects(raw []byte) ([]pdfObject, xrefAt, error) {
	bad := errors.New("printout: unexpected PDF layout")
	sx := bytes.LastIndex(raw, []byte("startxref\n"))
	if sx < 0 {
		return nil, xrefAt{}, bad
	}
	m := startXref.FindSubmatchIndex(raw[sx:])
	if m == nil {
		return nil, xrefAt{}, bad
	}
	at, _ := strconv.Atoi(string(raw[sx+m[2] : sx+m[3]]))
	tail := sx + m[1]
	var count int
	if _, err := fmt.Sscanf(string(raw[at:min(len(raw), at+40)]), "xref\n0 %d\n", &count); err != nil || count < 2 {
		return nil, xrefAt{}, bad
	}
	table := at + len(fmt.Sprintf("xref\n0 %d\n", count)) + 20 // past the free entry
	const entry = 20                                           // "0000000123 00000 n \n"
	if table+(count-1)*entry > sx {
		return nil, xrefAt{}, bad
	}
	objs := make([]pdfObject, 0, count-1)
	for n := 1; n < count; n++ {
		off, err := strconv.Atoi(string(raw[table+(n-1)*entry:][:10]))
		if err != nil || off <= 0 || off >= at {
			return nil, xrefAt{}, bad
		}
		objs = append(objs, pdfObject{num: n, start: off})
	}
	slices.SortFunc(objs, func(a, b pdfObject) int { return a.start - b.start })
	for i := range objs {
		objs[i].end = at
		if i+1 < len(objs) {
			objs[i].end = objs[i+1].start
		}
	}
	return objs, xrefAt{tableEnd: table + (count-1)*entry, startxref: sx, tail: tail}, nil
}

// deflateAll replaces each stream by its zlib compression at best speed, on
// every core.
func deflateAll(streams [][]byte) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make([]error, runtime.GOMAXPROCS(0))
	for w := range errs {
		wg.Go(func() {
			z, err := newDeflater()
			if err != nil {
				errs[w] = err
				return
			}
			for i := int(next.Add(1) - 1); i < len(streams); i = int(next.Add(1) - 1) {
				if streams[i], err = z.deflate(streams[i]); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// deflatePages replaces the contents of pages by their compression
// (deflateAll), which markDeflated then marks.
func deflatePages(pages []*bytes.Buffer) error {
	streams := make([][]byte, len(pages))
	for i, p := range pages {
		streams[i] = p.Bytes()
	}
	if err := deflateAll(streams); err != nil {
		return err
	}
	for i, z := range streams {
		pages[i] = bytes.NewBuffer(z)
	}
	return nil
}

// deflater compresses as fpdf does (zlib at best speed), one writer reused.
type deflater struct {
	buf bytes.Buffer
	zw  *zlib.Writer
}

func newDeflater() (*deflater, error) {
	z := &deflater{}
	zw, err := zlib.NewWriterLevel(&z.buf, zlib.BestSpeed)
	z.zw = zw
	return z, err
}

// deflate returns the compression of p, in a slice of its own.
func (z *deflater) deflate(p []byte) ([]byte, error) {
	z.buf.Reset()
	z.zw.Reset(&z.buf)
	if _, err := z.zw.Write(p); err != nil {
		return nil, err
	}
	if err := z.zw.Close(); err != nil {
		return nil, err
	}
	return bytes.Clone(z.buf.Bytes()), nil
}
