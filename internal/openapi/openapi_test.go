package openapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/linkbox/linkbox/internal/openapi"
)

// get serves GET /openapi.json with the If-None-Match values given.
func get(t *testing.T, ifNoneMatch ...string) (*http.Response, []byte) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "/openapi.json", nil)
	for _, v := range ifNoneMatch {
		r.Header.Add("If-None-Match", v)
	}
	w := httptest.NewRecorder()
	openapi.Handler().ServeHTTP(w, r)
	resp := w.Result()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

func TestDocumentIsValidOpenAPI(t *testing.T) {
	_, body := get(t)
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "/" {
		t.Errorf("servers = %v, want the relative /", doc.Servers)
	}
}

func TestHandlerHeaders(t *testing.T) {
	resp, body := get(t)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	for name, want := range map[string]string{
		"Content-Type":  "application/json",
		"Cache-Control": "public, max-age=300",
	} {
		if got := resp.Header.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if etag := resp.Header.Get("ETag"); len(etag) < 3 || etag[0] != '"' || etag[len(etag)-1] != '"' {
		t.Errorf("ETag = %q, want a quoted strong tag", etag)
	}
	if !bytes.HasPrefix(body, []byte("{")) {
		t.Errorf("body starts %q, want a JSON object", body[:min(len(body), 20)])
	}
}

func TestHandlerRevalidation(t *testing.T) {
	resp, body := get(t)
	etag := resp.Header.Get("ETag")
	for _, tc := range []struct {
		name        string
		ifNoneMatch []string
		want        int
	}{
		{"same tag", []string{etag}, http.StatusNotModified},
		{"weak form", []string{"W/" + etag}, http.StatusNotModified},
		{"in a list", []string{`"old", ` + etag}, http.StatusNotModified},
		{"on a second line", []string{`"old"`, etag}, http.StatusNotModified},
		{"any", []string{"*"}, http.StatusNotModified},
		{"another tag", []string{`"old"`}, http.StatusOK},
		{"unquoted", []string{etag[1 : len(etag)-1]}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, got := get(t, tc.ifNoneMatch...)
			if resp.StatusCode != tc.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.want)
			}
			if resp.Header.Get("ETag") != etag {
				t.Errorf("ETag = %q, want %q", resp.Header.Get("ETag"), etag)
			}
			if tc.want == http.StatusNotModified && len(got) != 0 {
				t.Errorf("304 with a body of %d bytes", len(got))
			}
			if tc.want == http.StatusOK && !bytes.Equal(got, body) {
				t.Error("200 with another body")
			}
		})
	}
}
