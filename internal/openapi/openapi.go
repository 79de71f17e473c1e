// Package openapi serves the OpenAPI 3.0 document of every JSON path Linkbox
// serves. The document is written by hand and embedded in the binary:
// openapi.json beside this file holds its head and the surfaces built
// first, and each later surface adds a fragment of its own in surfaces/
// (its tags, paths and components), merged in at start-up. The app's tests
// hold the result to the real routes and responses, so it cannot drift from
// them unnoticed.
package openapi

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
)

//go:embed openapi.json surfaces
var files embed.FS

// document is the merged document, as served.
var document = func() []byte {
	b, err := merge(files)
	if err != nil {
		panic(err) // the embedded files are the binary's own: a test catches this
	}
	return b
}()

// fragment is what a surface's file may hold.
type fragment struct {
	Tags       []json.RawMessage                     `json:"tags"`
	Paths      map[string]json.RawMessage            `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

// merge reads openapi.json and adds every fragment of surfaces/ to it, in
// file name order. A path or component defined twice is an error: two
// surfaces must not claim one name.
func merge(fsys fs.FS) ([]byte, error) {
	base, err := fs.ReadFile(fsys, "openapi.json")
	if err != nil {
		return nil, err
	}
	var doc map[string]json.RawMessage
	var head fragment
	if err := json.Unmarshal(base, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	if err := json.Unmarshal(base, &head); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	names, err := fs.Glob(fsys, "surfaces/*.json")
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		var f fragment
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		head.Tags = append(head.Tags, f.Tags...)
		if err := add(head.Paths, f.Paths, name, "path"); err != nil {
			return nil, err
		}
		for kind, defs := range f.Components {
			if head.Components[kind] == nil {
				head.Components[kind] = map[string]json.RawMessage{}
			}
			if err := add(head.Components[kind], defs, name, kind); err != nil {
				return nil, err
			}
		}
	}
	for key, v := range map[string]any{"tags": head.Tags, "paths": head.Paths, "components": head.Components} {
		if doc[key], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return json.Marshal(doc)
}

// add copies src into dst, refusing a name dst already has.
func add(dst, src map[string]json.RawMessage, file, what string) error {
	for k, v := range src {
		if _, dup := dst[k]; dup {
			return fmt.Errorf("%s: %s %q is defined twice", file, what, k)
		}
		dst[k] = v
	}
	return nil
}

// etag names the document. It changes only with the binary, so a client
// revalidating after max-age mostly gets a 304.
var etag = func() string {
	sum := sha256.Sum256(document)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}()

// Handler serves the document (GET /openapi.json), with an ETag and a short
// max-age: a new release may change it, and clients revalidate cheaply.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("ETag", etag)
		h.Set("Cache-Control", "public, max-age=300")
		if matches(strings.Join(r.Header.Values("If-None-Match"), ","), etag) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(document)))
		w.Write(document) // the client may be gone; nothing to do then
	})
}

// matches reports whether an If-None-Match list names tag. The comparison is
// weak (RFC 9110 §13.1.2): a "W/" prefix is ignored.
func matches(list, tag string) bool {
	for _, t := range strings.Split(list, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == tag || t == "*" {
			return true
		}
	}
	return false
}
