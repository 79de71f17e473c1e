package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
)

// assetFiles maps each file under assets/ to a digest of its content, put in
// its URL: the files can then be cached for a year, and a new release still
// reaches every browser at once.
type assetFiles map[string]string

func loadAssets() (assetFiles, error) {
	a := assetFiles{}
	err := fs.WalkDir(files, "assets", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		a[strings.TrimPrefix(path, "assets/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read assets: %w", err)
	}
	return a, nil
}

// url is the versioned URL of an asset; rendering fails on an unknown name.
func (a assetFiles) url(name string) (string, error) {
	v, ok := a[name]
	if !ok {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/assets/" + name + "?v=" + v, nil
}

// handler serves the embedded files under /assets/. The URLs carry a
// digest of the content, so they are immutable.
func (a assetFiles) handler() (http.Handler, error) {
	sub, err := fs.Sub(files, "assets")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	files := http.StripPrefix("/assets/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := a[strings.TrimPrefix(r.URL.Path, "/assets/")]; !ok {
			http.NotFound(w, r) // no directory listings
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		files.ServeHTTP(w, r)
	}), nil
}
