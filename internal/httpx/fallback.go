package httpx

import (
	"net/http"
	"strings"

	"github.com/linkbox/linkbox/internal/errs"
)

// API is an API's path prefix and the way it renders errors.
type API struct {
	Prefix string // "/v1/auth/", "/api/"
	Render Render
}

// Fallback answers the requests mux has no route for — an unknown path, or
// a known one with the wrong method — in the error shape of the API whose
// prefix the path has (the longest such prefix), with the status and Allow
// header the mux chose. Paths outside every prefix get the mux's own
// answers (the pages' 404 is theirs).
func Fallback(mux *http.ServeMux, apis ...API) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		var api *API
		for i, a := range apis {
			if strings.HasPrefix(r.URL.Path, a.Prefix) && (api == nil || len(a.Prefix) > len(api.Prefix)) {
				api = &apis[i]
			}
		}
		if api == nil {
			h.ServeHTTP(w, r)
			return
		}
		rec := &statusOnly{header: http.Header{}}
		h.ServeHTTP(rec, r) // the mux's 404 or 405, and its Allow
		e := errs.E(errs.NotFound, "not_found", "No such endpoint: "+r.URL.Path)
		if rec.status == http.StatusMethodNotAllowed {
			e = errs.E(errs.Invalid, "method_not_allowed", r.Method+" is not allowed here; allowed: "+rec.header.Get("Allow"))
			w.Header().Set("Allow", rec.header.Get("Allow"))
		}
		api.Render(w, r, max(rec.status, http.StatusNotFound), e)
	})
}

// statusOnly keeps the status and headers a handler writes, and drops its
// body.
type statusOnly struct {
	header http.Header
	status int
}

func (s *statusOnly) Header() http.Header         { return s.header }
func (s *statusOnly) Write(b []byte) (int, error) { return len(b), nil }
func (s *statusOnly) WriteHeader(status int)      { s.status = status }
