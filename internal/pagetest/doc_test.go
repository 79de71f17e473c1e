package pagetest_test

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
)

// doc is the page that shows the screenshots, from the package's directory.
const doc = "../../docs/pages.md"

var shotRef = regexp.MustCompile(`pages/([a-z0-9-]+\.png)`)

// TestPagesDoc: docs/pages.md shows every screenshot in docs/pages, and
// only those. That it shows every state of the tour, TestPages checks.
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
