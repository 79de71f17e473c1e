package accounts

import (
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Routes registers the Accounts API on mux. Beside the per-IP request limits
// below, the service enforces: login failures, 10 per phone and 100 per IP
// per 15 min; SMS, one per phone per minute and 5 per phone per hour; codes,
// 5 tries each, 10 min of life. The client IP comes from httpx.WithClientIP,
// which the app installs in front of every surface.
func (s *Service) Routes(mux *http.ServeMux) {
	h := s.api.H
	perIP := func(name string, events int, per time.Duration) func(http.Handler) http.Handler {
		return s.limitPerIP(name, ratelimit.Limit{Events: events, Per: per})
	}
	mux.Handle("POST /v1/auth/signup", perIP("signup", 20, time.Hour)(h(s.handleSignup)))
	mux.Handle("POST /v1/auth/verify", perIP("verify", 30, 15*time.Minute)(h(s.handleVerify)))
	mux.Handle("POST /v1/auth/resend", perIP("resend", 20, time.Hour)(h(s.handleResend)))
	mux.Handle("POST /v1/auth/login", perIP("login", 60, time.Minute)(h(s.handleLogin)))
	mux.Handle("POST /v1/auth/refresh", perIP("refresh", 120, time.Minute)(h(s.handleRefresh)))
	mux.Handle("POST /v1/auth/logout", perIP("logout", 120, time.Minute)(h(s.handleLogout)))
	mux.Handle("GET /v1/auth/me", perIP("me", 600, time.Minute)(h(s.handleMe)))
	mux.Handle("POST /v1/auth/password/forgot", perIP("forgot", 10, time.Hour)(h(s.handleForgot)))
	mux.Handle("POST /v1/auth/password/reset", perIP("reset", 30, 15*time.Minute)(h(s.handleReset)))
	mux.Handle("GET /.well-known/jwks.json", h(s.handleJWKS))
}

// limitPerIP limits a route per client IP, answering 429 in the API's error
// shape with the X-RateLimit-* and Retry-After headers.
func (s *Service) limitPerIP(route string, l ratelimit.Limit) func(http.Handler) http.Handler {
	key := func(r *http.Request) string { return "auth:" + route + ":ip:" + ipKey(httpx.ClientIP(r)) }
	deny := func(w http.ResponseWriter, r *http.Request, res ratelimit.Result) {
		httpx.RenderNested(w, r, http.StatusTooManyRequests, rateLimited(res.RetryAfter))
	}
	return ratelimit.Middleware(s.cfg.Limiter, l, key, deny, s.log)
}
