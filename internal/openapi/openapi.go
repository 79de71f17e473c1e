// Package openapi serves the OpenAPI 3.0 document of every JSON path Linkbox
// serves. The document is written by hand, in openapi.json beside this file,
// and embedded in the binary; the app's tests hold it to the real routes and
// responses, so it cannot drift from them unnoticed.
package openapi

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

//go:embed openapi.json
var document []byte

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
