package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
)

// TestFallback: under an API's prefix an unknown path is a 404 and a wrong
// method a 405 with Allow, both in that API's shape (the longest prefix
// wins); a routed request and a path outside every API are the mux's.
func TestFallback(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/otp", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	flat := func(w http.ResponseWriter, _ *http.Request, status int, e *errs.Error) {
		httpx.WriteJSON(w, status, map[string]any{"success": false, "error": e.Message})
	}
	h := httpx.Fallback(mux,
		httpx.API{Prefix: "/v1/", Render: httpx.RenderNested},
		httpx.API{Prefix: "/api/", Render: flat},
		httpx.API{Prefix: "/api/public/", Render: httpx.RenderNested},
	)
	for _, c := range []struct {
		method, path string
		status       int
		allow, body  string
	}{
		{"POST", "/api/otp", http.StatusTeapot, "", ""},
		{"GET", "/api/otp", http.StatusMethodNotAllowed, "POST", `{"error":"GET is not allowed here; allowed: POST","success":false}`},
		{"GET", "/api/nothing", http.StatusNotFound, "", `{"error":"No such endpoint: /api/nothing","success":false}`},
		{"GET", "/api/public/nothing", http.StatusNotFound, "", `{"error":{"code":"not_found","message":"No such endpoint: /api/public/nothing"}}`},
		{"DELETE", "/v1/auth/x", http.StatusNotFound, "", `{"error":{"code":"not_found","message":"No such endpoint: /v1/auth/x"}}`},
		{"GET", "/elsewhere", http.StatusNotFound, "", "404 page not found\n"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		body := w.Body.String()
		if len(body) > 0 && body[len(body)-1] == '\n' && c.body != "" && c.body[len(c.body)-1] != '\n' {
			body = body[:len(body)-1]
		}
		if w.Code != c.status || w.Header().Get("Allow") != c.allow || body != c.body {
			t.Errorf("%s %s = %d Allow %q %q; want %d Allow %q %q", c.method, c.path, w.Code, w.Header().Get("Allow"), body, c.status, c.allow, c.body)
		}
	}
}
