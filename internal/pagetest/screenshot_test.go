package pagetest_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
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
