package httpx

import (
	"net/http"
	"strings"

	"github.com/rs/cors"
)

// WithCORS lets browser apps on origins call the paths under prefixes
// from their own pages: preflights are answered, and answers to listed
// origins name them in Access-Control-Allow-Origin (never "*") and expose
// the rate-limit and request-id headers. Credentials are never allowed:
// those APIs take bearer tokens, which need none, and the hosted pages'
// session cookie must not be spendable by another site's script. With no
// origins, or outside prefixes, requests pass untouched.
func WithCORS(origins []string, prefixes ...string) func(http.Handler) http.Handler {
	if len(origins) == 0 {
		return func(next http.Handler) http.Handler { return next }
	}
	c := cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{"Authorization", "Content-Type", "Last-Event-ID", "Idempotency-Key"},
		ExposedHeaders: []string{"X-Request-Id", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"},
		MaxAge:         600,
	})
	return func(next http.Handler) http.Handler {
		withCORS := c.Handler(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			for _, p := range prefixes {
				if strings.HasPrefix(r.URL.Path, p) {
					withCORS.ServeHTTP(w, r)
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}
