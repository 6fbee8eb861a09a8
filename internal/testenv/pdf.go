package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// PDFText returns the text of a PDF as pdftotext (Debian package
// poppler-utils) reads it, layout kept: how the tests read printouts.
func PDFText(t testing.TB, pdf []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "p.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext (Debian package poppler-utils): %v", err)
	}
	return string(out)
}

// ScanQR rasterises page (from 1) of a PDF and returns the QR code that
// zbarimg (zbar-tools) reads there, as a scanner at the dock would.
func ScanQR(t testing.TB, pdf []byte, page int) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "l.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	p := fmt.Sprint(page)
	if out, err := exec.Command("pdftoppm", "-r", "150", "-f", p, "-l", p, "-png", "-singlefile", path, filepath.Join(dir, "l")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm (poppler-utils): %v %s", err, out)
	}
	out, err := exec.Command("zbarimg", "-q", "--raw", filepath.Join(dir, "l.png")).Output()
	if err != nil {
		t.Fatalf("zbarimg (zbar-tools): %v", err)
	}
	return strings.TrimSpace(string(out))
}

// Squash drops white space: pdftotext spaces text by its glyphs' gaps, so
// tests compare a page's words run together.
func Squash(s string) string { return strings.Join(strings.Fields(s), "") }
