package openapi

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"
)

const head = `{"openapi":"3.0.3","tags":[{"name":"a"}],"paths":{"/a":{}},"components":{"schemas":{"A":{}}}}`

func TestMergeAddsFragments(t *testing.T) {
	b, err := merge(fstest.MapFS{
		"openapi.json":    {Data: []byte(head)},
		"surfaces/b.json": {Data: []byte(`{"tags":[{"name":"b"}],"paths":{"/b":{}},"components":{"schemas":{"B":{}},"headers":{"H":{}}}}`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI    string
		Tags       []map[string]string
		Paths      map[string]any
		Components map[string]map[string]any
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.0.3" || len(doc.Tags) != 2 || doc.Paths["/b"] == nil || doc.Paths["/a"] == nil ||
		doc.Components["schemas"]["B"] == nil || doc.Components["headers"]["H"] == nil {
		t.Errorf("merged = %s", b)
	}
}

func TestMergeRefusesADuplicate(t *testing.T) {
	for name, frag := range map[string]string{
		"path":      `{"paths":{"/a":{}}}`,
		"component": `{"components":{"schemas":{"A":{}}}}`,
	} {
		_, err := merge(fstest.MapFS{
			"openapi.json":    {Data: []byte(head)},
			"surfaces/x.json": {Data: []byte(frag)},
		})
		if err == nil || !strings.Contains(err.Error(), "defined twice") {
			t.Errorf("%s defined twice: err = %v", name, err)
		}
	}
}
