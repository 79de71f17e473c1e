package pagetest_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// screenshot writes the whole page the browser shows to path as a PNG,
// compressed harder than Chromium does, since the files are committed.
func screenshot(b context.Context, path string) error {
	ctx, cancel := context.WithTimeout(b, 30*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	var out bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, img); err != nil {
		return err
	}
	return os.WriteFile(path, out.Bytes(), 0o644)
}

// doc is the page that shows the screenshots, from the package's directory.
const doc = "../../docs/pages.md"

var shotRef = regexp.MustCompile(`pages/([a-z0-9-]+\.png)`)

// TestPagesDoc: docs/pages.md shows every screenshot in docs/pages, and
// only those. That it shows every state of the tour, TestPages checks.
// It sits in the file after TestPages's, so runs after it, and sees the
// screenshots that -update has just written.
func TestPagesDoc(t *testing.T) {
	text, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, m := range shotRef.FindAllStringSubmatch(string(text), -1) {
		shown = append(shown, m[1])
		if _, err := os.Stat(filepath.Join(shots, m[1])); err != nil {
			t.Errorf("docs/pages.md shows %s: %v", m[1], err)
		}
	}
	files, err := filepath.Glob(filepath.Join(shots, "*.png"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !slices.Contains(shown, filepath.Base(f)) {
			t.Errorf("docs/pages.md does not show %s", f)
		}
	}
}
