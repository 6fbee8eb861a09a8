// Package printout renders the warehouse's paper: total pick lists, sorting
// sheets, bag labels and driver route sheets, as PDF and CSV. It is pure: the
// caller gathers the plan from the database and stores the bytes.
package printout

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"codeberg.org/go-pdf/fpdf"
)

// Default font files on Debian, and the packages that install them.
const (
	DefaultCJKFont   = "/usr/share/fonts/truetype/arphic-gbsn00lp/gbsn00lp.ttf"
	DefaultLatinFont = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
	cjkPackage       = "fonts-arphic-gbsn00lp"
	latinPackage     = "fonts-dejavu-core"
)

// Font families inside a document.
const (
	famCJK   = "cjk"
	famLatin = "latin"
)

// ErrFontMissing is returned when a font file cannot be read.
var ErrFontMissing = errors.New("printout: font missing")

// Fonts are the two TrueType faces every printout uses, with their glyph
// widths measured once: a CJK face for Chinese and a Latin one (which also has
// "¥", absent from the CJK face). Safe for concurrent use: it is read-only.
type Fonts struct {
	cjk, latin []byte
	widths     []uint16 // per BMP rune, in 1/1000 em of the face that draws it
}

// LoadFonts reads the fonts from the given .ttf paths, or from the usual
// Debian paths when empty (GROUPBUY_FONT_CJK / GROUPBUY_FONT_LATIN in the
// configuration); the error names the package to install.
func LoadFonts(cjkPath, latinPath string) (*Fonts, error) {
	read := func(path, def, pkg, env string) ([]byte, error) {
		if path == "" {
			path = def
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("%w: %s (install the Debian package %s or set %s to a .ttf file): %v", ErrFontMissing, path, pkg, env, err)
		}
		return b, nil
	}
	cjk, err := read(cjkPath, DefaultCJKFont, cjkPackage, "GROUPBUY_FONT_CJK")
	if err != nil {
		return nil, err
	}
	latin, err := read(latinPath, DefaultLatinFont, latinPackage, "GROUPBUY_FONT_LATIN")
	if err != nil {
		return nil, err
	}
	return NewFonts(cjk, latin)
}

// NewFonts builds Fonts from the bytes of a CJK and a Latin TrueType font.
func NewFonts(cjk, latin []byte) (*Fonts, error) {
	f := &Fonts{cjk: cjk, latin: latin, widths: make([]uint16, 0x10000)}
	// A document without pages measures without writing anything.
	m := fpdf.New("P", "mm", "A4", "")
	m.AddUTF8FontFromBytes(famCJK, "", cjk)
	m.AddUTF8FontFromBytes(famLatin, "", latin)
	if err := m.Error(); err != nil {
		return nil, fmt.Errorf("printout: load fonts: %w", err)
	}
	for _, fam := range []string{famLatin, famCJK} {
		m.SetFont(fam, "", 10)
		for r := rune(0); r < 0x10000; r++ {
			if familyOf(r) == fam {
				f.widths[r] = uint16(m.GetStringSymbolWidth(string(r)))
			}
		}
	}
	return f, m.Error()
}

// familyOf picks the face that draws r: the Latin face below the CJK blocks,
// the CJK face from U+2E80 on (ideographs, CJK punctuation, full-width forms).
func familyOf(r rune) string {
	if r < 0x2E80 {
		return famLatin
	}
	return famCJK
}

// width is the width of s in mm at size pt.
func (f *Fonts) width(s string, size float64) float64 {
	var w int
	for _, r := range s {
		w += int(f.widths[drawable(r)])
	}
	return float64(w) * size / 1000 * 25.4 / 72
}

// newDoc starts a document with both faces; at stamps it, so the same input
// gives the same bytes.
func (f *Fonts) newDoc(orientation string, size fpdf.SizeType, at time.Time, title string) *doc {
	p := fpdf.NewCustom(&fpdf.InitType{OrientationStr: orientation, UnitStr: "mm", Size: size})
	p.AddUTF8FontFromBytes(famCJK, "", f.cjk)
	p.AddUTF8FontFromBytes(famLatin, "", f.latin)
	p.SetCreationDate(at)
	p.SetModificationDate(at)
	p.SetCatalogSort(true)
	p.SetProducer("groupbuy", false)
	p.SetTitle(title, true)
	p.SetAutoPageBreak(false, 0)
	p.SetMargins(0, 0, 0)
	p.SetCompression(false) // see compressPages
	return &doc{pdf: p, fonts: f}
}

// LazyFonts returns a loader of LoadFonts(cjkPath, latinPath) that reads the
// files on its first call and answers the same after: a process without the
// fonts still runs, and says what to install when a printout is asked for.
func LazyFonts(cjkPath, latinPath string) func() (*Fonts, error) {
	return sync.OnceValues(func() (*Fonts, error) { return LoadFonts(cjkPath, latinPath) })
}
