package printout

import (
	"bytes"
	"testing"
)

// TestCompressPagesAsFpdf: a document whose pages compressPages compressed
// is byte for byte the one fpdf writes compressing them itself — labels
// with their QR codes, and route sheets with maps and a driver's QR code.
func TestCompressPagesAsFpdf(t *testing.T) {
	f := fonts(t)
	routes := benchRoutes()[:3]
	routes[1].DriverURL = "https://example.com/driver/7?t=abc"
	for name, draw := range map[string]func(d *doc){
		"labels": func(d *doc) {
			ls := benchLabels()[:40]
			for _, l := range ls {
				p := l.Payload([]byte("k"))
				codes := encodeQRs([]string{p})
				c, err := codes(0)
				if err != nil {
					t.Fatal(err)
				}
				d.label(l, p, c)
			}
		},
		"route sheets": func(d *doc) {
			for _, r := range routes {
				r.draw(d)
			}
		},
	} {
		plain, own := f.newDoc("P", a4, printed, name), f.newDoc("P", a4, printed, name)
		draw(plain)
		draw(own)
		own.pdf.SetCompression(true)
		var want bytes.Buffer
		if err := own.pdf.Output(&want); err != nil {
			t.Fatal(err)
		}
		got, err := plain.bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s: %d bytes, fpdf's own are %d", name, len(got), want.Len())
		}
		if bytes.Contains(got, []byte("<</Length")) && !bytes.Contains(got, []byte("/FlateDecode /Length")) {
			t.Errorf("%s: pages left uncompressed", name)
		}
	}
}
