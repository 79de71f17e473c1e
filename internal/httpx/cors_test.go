package httpx_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/linkbox/linkbox/internal/httpx"
)

func TestCORS(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-RateLimit-Limit", "10")
		w.WriteHeader(http.StatusOK)
	})
	h := httpx.WithCORS([]string{"https://app.example.com"}, "/v1/")(ok)
	do := func(method, path, origin string, hdr ...string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	// Browsers send the request headers lower case, sorted, comma separated.
	pre := do("OPTIONS", "/v1/auth/login", "https://app.example.com",
		"Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "authorization,content-type")
	if pre.Code != http.StatusNoContent || pre.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		pre.Header().Get("Access-Control-Allow-Methods") != "POST" || pre.Header().Get("Access-Control-Max-Age") != "600" {
		t.Errorf("preflight: %d %v", pre.Code, pre.Header())
	}
	if pre.Header().Get("Access-Control-Allow-Credentials") != "" {
		t.Error("preflight allows credentials")
	}
	if w := do("OPTIONS", "/v1/auth/login", "https://app.example.com", "Access-Control-Request-Method", "DELETE"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight for DELETE allowed: %v", w.Header())
	}
	if w := do("OPTIONS", "/v1/auth/login", "https://app.example.com", "Access-Control-Request-Method", "POST",
		"Access-Control-Request-Headers", "x-custom"); w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight for an unlisted header allowed: %v", w.Header())
	}

	got := do("POST", "/v1/auth/login", "https://app.example.com")
	if got.Header().Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		got.Header().Get("Access-Control-Expose-Headers") == "" || got.Header().Get("Vary") == "" {
		t.Errorf("actual request: %v", got.Header())
	}
	for name, w := range map[string]*httptest.ResponseRecorder{
		"unlisted origin":      do("POST", "/v1/auth/login", "https://evil.example"),
		"unlisted preflight":   do("OPTIONS", "/v1/auth/login", "https://evil.example", "Access-Control-Request-Method", "POST"),
		"suffix of an origin":  do("POST", "/v1/auth/login", "https://app.example.com.evil.example"),
		"outside the prefixes": do("POST", "/api/otp", "https://app.example.com"),
		"null origin":          do("POST", "/v1/auth/login", "null"),
	} {
		if v := w.Header().Get("Access-Control-Allow-Origin"); v != "" {
			t.Errorf("%s: Access-Control-Allow-Origin %q", name, v)
		}
	}
	if w := do("OPTIONS", "/api/otp", "https://app.example.com", "Access-Control-Request-Method", "POST"); w.Code != http.StatusOK {
		t.Errorf("a preflight outside the prefixes was answered by CORS: %d", w.Code)
	}

	off := httpx.WithCORS(nil, "/v1/")(ok)
	r := httptest.NewRequest("POST", "/v1/auth/login", nil)
	r.Header.Set("Origin", "https://app.example.com")
	w := httptest.NewRecorder()
	off.ServeHTTP(w, r)
	if v := w.Header().Get("Access-Control-Allow-Origin"); v != "" || w.Header().Get("Vary") != "" {
		t.Errorf("off: Access-Control-Allow-Origin %q, Vary %q", v, w.Header().Get("Vary"))
	}
}
