package printout

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"groupbuy/fulfillment/printout/qrcode"
)

// payloadVersion starts every label payload, so the format can change.
const payloadVersion = "GB1"

// zoneCodes are the zones as one letter in the payload. The whole payload
// keeps to the QR alphanumeric set (digits, A-Z, ":"), which packs it into
// a smaller code with larger modules: faster to make, easier to scan.
var zoneCodes = map[string]string{"ambient": "A", "chilled": "C", "frozen": "F"}

// ErrBadPayload is returned for a scanned payload that is malformed or whose
// check does not match.
var ErrBadPayload = errors.New("printout: bag label does not verify")

// BagRef is what a bag label's QR code says: which bag, of which wave, for
// which stop of which route.
type BagRef struct {
	WaveID int64
	BagID  int64
	Route  string
	Stop   int
	Zone   string
}

// Payload is the QR text of a bag label,
// "GB1:wave:bag:route:stop:zone letter:check", the check being a truncated
// HMAC-SHA256 of the rest in base32, so a scanner with the key can tell a
// genuine label from a copied or typed one.
func (b BagRef) Payload(key []byte) string {
	zone := zoneCodes[b.Zone]
	if zone == "" {
		zone = strings.ToUpper(b.Zone)
	}
	body := strings.Join([]string{payloadVersion, strconv.FormatInt(b.WaveID, 10), strconv.FormatInt(b.BagID, 10),
		b.Route, strconv.Itoa(b.Stop), zone}, ":")
	return body + ":" + mac(key, body)
}

func mac(key []byte, body string) string {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(body))
	// 80 bits keep the code small (a denser QR is harder to scan in a cold room).
	return base32.StdEncoding.EncodeToString(h.Sum(nil)[:10])
}

// Verify parses a scanned payload and checks its HMAC with key.
func Verify(payload string, key []byte) (BagRef, error) {
	i := strings.LastIndexByte(payload, ':')
	if i < 0 {
		return BagRef{}, ErrBadPayload
	}
	body, sum := payload[:i], payload[i+1:]
	if !hmac.Equal([]byte(sum), []byte(mac(key, body))) {
		return BagRef{}, ErrBadPayload
	}
	f := strings.Split(body, ":")
	if len(f) != 6 || f[0] != payloadVersion {
		return BagRef{}, ErrBadPayload
	}
	wave, err1 := strconv.ParseInt(f[1], 10, 64)
	bag, err2 := strconv.ParseInt(f[2], 10, 64)
	stop, err3 := strconv.Atoi(f[4])
	if err := errors.Join(err1, err2, err3); err != nil {
		return BagRef{}, fmt.Errorf("%w: %v", ErrBadPayload, err)
	}
	zone := f[5]
	for name, code := range zoneCodes {
		if code == f[5] {
			zone = name
		}
	}
	return BagRef{WaveID: wave, BagID: bag, Route: f[3], Stop: stop, Zone: zone}, nil
}

// drawQR draws text as a QR code in the square (x, y, size), with the four
// module quiet zone scanners need. It draws vector squares, merged along
// rows, rather than an image: they stay sharp on any printer, and fpdf orders
// same-sized images by map iteration, which would make reprints differ.
//
// The squares are the bytes fpdf's Rect(…, "F") writes for each, appended
// here and handed to fpdf in one piece: a code is some hundred squares, and
// fpdf formats each number into a string of its own. Every label puts its
// code at the same place and size, so the numbers (a column's x, a row's y,
// a run's width) are formatted once per document and code size.
func (d *doc) drawQR(c *qrcode.Code, x, y, size float64) {
	d.pdf.SetFillColor(0, 0, 0)
	k := d.pdf.GetConversionRatio()
	_, pageH := d.pdf.GetPageSize()
	key := qrPlace{c.Size, x, y, size, k, pageH}
	g := d.qrGrids[key]
	if g == nil {
		g = newQRGrid(key)
		if d.qrGrids == nil {
			d.qrGrids = map[qrPlace]*qrGrid{}
		}
		d.qrGrids[key] = g
	}
	n := c.Size
	b := d.scratch[:0]
	for row := range n {
		for col, end := range c.Runs(row) {
			b = append(b, g.x[col]...)
			b = append(b, g.y[row]...)
			b = append(b, g.w[end-col]...)
			b = append(b, g.h...)
		}
	}
	if len(b) > 0 {
		d.pdf.RawWriteStr(string(b[:len(b)-1])) // which ends the line itself
	}
	d.scratch = b
}

// qrPlace is a code's size in modules, its square on the page, and the
// page's scale and height.
type qrPlace struct {
	n                    int
	x, y, size, k, pageH float64
}

// qrGrid holds the numbers of a code's squares as fpdf's Rect(x, y, w, h,
// "F") formats them, each with the separator after it: x by column, y by
// row, w by run length, and h with the operator.
type qrGrid struct {
	x, y, w [][]byte
	h       []byte
}

func newQRGrid(p qrPlace) *qrGrid {
	n := p.n
	m := p.size / float64(n+8)
	x, y := p.x+4*m, p.y+4*m
	num := func(v float64, sep string) []byte { return append(strconv.AppendFloat(nil, v, 'f', 2, 64), sep...) }
	g := &qrGrid{x: make([][]byte, n), y: make([][]byte, n), w: make([][]byte, n+1)}
	for i := range n {
		g.x[i] = num((x+float64(i)*m)*p.k, " ")
		g.y[i] = num((p.pageH-(y+float64(i)*m))*p.k, " ")
		g.w[i+1] = num(float64(i+1)*m*p.k, " ")
	}
	// A hair of overlap hides the seams some renderers leave between rows.
	g.h = num(-(m+0.02)*p.k, " re f\n")
	return g
}

// qrBatch is how many codes a worker encodes at a time.
const qrBatch = 64

// encodeQRs starts encoding texts as QR codes on every core and returns the
// i-th code, waiting for it if need be; codes are asked for in order.
func encodeQRs(texts []string) func(i int) (*qrcode.Code, error) {
	out := make([]*qrcode.Code, len(texts))
	errs := make([]error, len(texts))
	batches := (len(texts) + qrBatch - 1) / qrBatch
	done := make([]chan struct{}, batches)
	for b := range done {
		done[b] = make(chan struct{})
	}
	var next atomic.Int64
	for range runtime.GOMAXPROCS(0) {
		go func() {
			for b := int(next.Add(1) - 1); b < batches; b = int(next.Add(1) - 1) {
				for i := b * qrBatch; i < min(len(texts), (b+1)*qrBatch); i++ {
					out[i], errs[i] = qrcode.Encode(texts[i], qrcode.M)
				}
				close(done[b])
			}
		}()
	}
	return func(i int) (*qrcode.Code, error) {
		<-done[i/qrBatch]
		return out[i], errs[i]
	}
}
