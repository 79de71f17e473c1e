package accounts

import (
	"net/http"
)

// Routes registers the Accounts API on mux. Each action is limited per
// client IP by the service itself (actionLimits), so the hosted pages count
// against the same buckets; beside those, the service enforces: login
// failures, 10 per phone and 100 per IP per 15 min; SMS, one per phone and
// purpose per minute and 5 per hour; codes, 5 tries each, 10 min of life.
// The client IP comes from httpx.WithClientIP, which the app installs in
// front of every surface.
func (s *Service) Routes(mux *http.ServeMux) {
	h := s.api.H
	mux.Handle("POST /v1/auth/signup", h(s.handleSignup))
	mux.Handle("POST /v1/auth/verify", h(s.handleVerify))
	mux.Handle("POST /v1/auth/resend", h(s.handleResend))
	mux.Handle("POST /v1/auth/login", h(s.handleLogin))
	mux.Handle("POST /v1/auth/refresh", h(s.handleRefresh))
	mux.Handle("POST /v1/auth/logout", h(s.handleLogout))
	mux.Handle("GET /v1/auth/me", h(s.handleMe))
	mux.Handle("POST /v1/auth/password/forgot", h(s.handleForgot))
	mux.Handle("POST /v1/auth/password/reset", h(s.handleReset))
	mux.Handle("GET /.well-known/jwks.json", h(s.handleJWKS))
}
