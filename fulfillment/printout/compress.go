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
// them); here the pages are compressed on every core, a writer each.
func compressPages(raw []byte) ([]byte, error) {
	objs, xref, err := pdfObjects(raw)
	if err != nil {
		return nil, err
	}
	// A page's contents are the object its page object names.
	var contents []int
	for _, o := range objs {
		seg := raw[o.start:o.end]
		if m := pageContents.FindSubmatch(seg); m != nil && bytes.Contains(seg, []byte("\n<</Type /Page\n")) {
			n, _ := strconv.Atoi(string(m[1]))
			contents = append(contents, n)
		}
	}
	byNum := make(map[int]int, len(objs)) // object number → index in objs
	for i, o := range objs {
		byNum[o.num] = i
	}
	streams := make([][]byte, len(contents)) // plain, then compressed
	for k, n := range contents {
		i, ok := byNum[n]
		if !ok {
			return nil, fmt.Errorf("printout: page contents %d missing", n)
		}
		o := objs[i]
		head := fmt.Sprintf("%d 0 obj\n<</Length ", n)
		seg := raw[o.start:o.end]
		if !bytes.HasPrefix(seg, []byte(head)) {
			return nil, fmt.Errorf("printout: page contents %d not a plain stream", n)
		}
		rest := seg[len(head):]
		j := bytes.Index(rest, []byte(">>\nstream\n"))
		l, err := strconv.Atoi(string(rest[:max(j, 0)]))
		if j < 0 || err != nil || len(rest) < j+len(">>\nstream\n")+l {
			return nil, fmt.Errorf("printout: page contents %d: bad length", n)
		}
		streams[k] = rest[j+len(">>\nstream\n"):][:l]
	}
	if err := deflateAll(streams); err != nil {
		return nil, err
	}
	isContent := make(map[int][]byte, len(contents))
	for k, n := range contents {
		isContent[n] = streams[k]
	}

	out := bytes.NewBuffer(make([]byte, 0, len(raw)/2))
	out.Write(raw[:objs[0].start])
	offsets := make(map[int]int, len(objs))
	for _, o := range objs {
		offsets[o.num] = out.Len()
		if z, ok := isContent[o.num]; ok {
			fmt.Fprintf(out, "%d 0 obj\n<</Filter /FlateDecode /Length %d>>\nstream\n", o.num, len(z))
			out.Write(z)
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
	return out.Bytes(), nil
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
			var buf bytes.Buffer
			zw, err := zlib.NewWriterLevel(&buf, zlib.BestSpeed)
			if err != nil {
				errs[w] = err
				return
			}
			for i := int(next.Add(1) - 1); i < len(streams); i = int(next.Add(1) - 1) {
				buf.Reset()
				zw.Reset(&buf)
				if _, err := zw.Write(streams[i]); err != nil {
					errs[w] = err
					return
				}
				if err := zw.Close(); err != nil {
					errs[w] = err
					return
				}
				streams[i] = bytes.Clone(buf.Bytes())
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
