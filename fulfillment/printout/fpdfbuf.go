package printout

import (
	"bytes"
	"reflect"
	"unsafe"

	"codeberg.org/go-pdf/fpdf"
)

// fpdf keeps a page's contents and the finished document in bytes.Buffers
// it grows by doubling, with no way to size them: a night's labels are
// fifteen thousand pages of some 20 kB each, written plain into a document
// of hundreds of MB, and growing that buffer step by step (allocating,
// zeroing and copying) took as long as writing it. Labels drawn on several
// cores are put into one document by their page buffers (drawChunks). The
// offsets of the two
// private fields are found once; if a version of fpdf renames them or
// changes their types, they are not found and the buffers grow as before
// (TestFpdfBuffersFound says so).
var fpdfFields = func() (f struct {
	buffer, pages uintptr
	ok            bool
}) {
	t := reflect.TypeFor[fpdf.Fpdf]()
	buf, ok1 := t.FieldByName("buffer")
	pages, ok2 := t.FieldByName("pages")
	if !ok1 || !ok2 || pages.Type != reflect.TypeFor[[]*bytes.Buffer]() ||
		buf.Type.Kind() != reflect.Struct || buf.Type.NumField() != 1 || !buf.Type.Field(0).Anonymous ||
		buf.Type.Field(0).Type != reflect.TypeFor[bytes.Buffer]() {
		return
	}
	f.buffer, f.pages, f.ok = buf.Offset, pages.Offset, true
	return
}()

// fpdfBuffer is the buffer p writes its document into, or nil.
func fpdfBuffer(p *fpdf.Fpdf) *bytes.Buffer {
	if !fpdfFields.ok {
		return nil
	}
	return (*bytes.Buffer)(unsafe.Add(unsafe.Pointer(p), fpdfFields.buffer))
}

// fpdfPages are p's page contents (the first is unused), or nil.
func fpdfPages(p *fpdf.Fpdf) []*bytes.Buffer {
	if !fpdfFields.ok {
		return nil
	}
	return *(*[]*bytes.Buffer)(unsafe.Add(unsafe.Pointer(p), fpdfFields.pages))
}

// growPage makes room for n more bytes on the page being drawn.
func (d *doc) growPage(n int) {
	if pages := fpdfPages(d.pdf); len(pages) > 1 {
		pages[len(pages)-1].Grow(n)
	}
}

// pageLen is the length of the page being drawn so far.
func (d *doc) pageLen() int {
	if pages := fpdfPages(d.pdf); len(pages) > 1 {
		return pages[len(pages)-1].Len()
	}
	return 0
}
