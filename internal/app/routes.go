package app

import (
	"context"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/numbers"
	"github.com/linkbox/linkbox/internal/openapi"
	"github.com/linkbox/linkbox/internal/web"
)

// routes assembles every surface on one mux, behind the shared middleware.
// GET /metrics is there only with LINKBOX_METRICS_TOKEN, behind it; serve
// runs LINKBOX_METRICS_LISTEN's listener beside this one.
func (s *Server) routes(cfg config.Config) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		httpx.WriteJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /readyz", s.ready)
	mux.Handle("GET /openapi.json", openapi.Handler())
	if cfg.MetricsToken != "" {
		mux.Handle("GET /metrics", s.metrics.Handler(cfg.MetricsToken))
	}
	s.Accounts.Routes(mux)
	s.Connect.Routes(mux)
	s.DeviceLinks.Routes(mux)
	s.numbersRoutes(mux)
	s.Inbox.Routes(mux, inboxAuth{s.Accounts, s.Web})
	s.Web.Routes(mux)

	// What no route takes, under an API's prefix, is answered in that
	// API's error shape, not with the mux's text/plain.
	var h http.Handler = httpx.Fallback(mux,
		httpx.API{Prefix: "/v1/", Render: httpx.RenderNested},
		httpx.API{Prefix: "/.well-known/", Render: httpx.RenderNested},
		httpx.API{Prefix: "/api/", Render: connect.RenderError},
		httpx.API{Prefix: "/api/public/", Render: numbers.RenderError},
		httpx.API{Prefix: "/api/internal/", Render: numbers.RenderError},
		httpx.API{Prefix: "/api/user/", Render: numbers.RenderError},
		httpx.API{Prefix: "/api/webhooks/", Render: numbers.RenderError},
		httpx.API{Prefix: "/users/", Render: devicelinks.RenderError},
		httpx.API{Prefix: "/events", Render: devicelinks.RenderError},
		httpx.API{Prefix: "/device-sessions", Render: devicelinks.RenderError},
		httpx.API{Prefix: "/post-login-redirect", Render: devicelinks.RenderError},
	)
	// Browser apps on LINKBOX_CORS_ORIGINS may call the Accounts and inbox
	// APIs (and read the JWKS); Connect, Numbers and Device links are
	// server-to-server APIs with secret keys, never called from a page.
	h = httpx.WithCORS(cfg.CORSOrigins, "/v1/", "/.well-known/")(h)
	h = httpx.WithAccessLog(s.log, s.metrics.Served)(h)
	h = httpx.WithClientIP(cfg.TrustedProxies)(h)
	h = httpx.WithSecurityHeaders(cfg.PublicURL)(h)
	return httpx.WithRequestID(h)
}

// ready answers 200 when the store answers, so a load balancer only sends
// traffic to instances that can serve it. With Redis configured it names
// Redis's state, "up" or "down", and stays 200 either way: while Redis is
// down the instance still serves, with rate limits of its own.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.ErrorContext(ctx, "readiness check failed", "err", err)
		httpx.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	body := map[string]string{"status": "ok"}
	if s.shared != nil {
		body["redis"] = s.shared.Check(ctx)
	}
	httpx.WriteJSON(w, http.StatusOK, body)
}

// inboxAuth lets the inbox API take the Accounts API's access tokens and, for
// reading (GET, which EventSource uses and which cannot send headers), the
// hosted pages' session cookie. Writes need a token: a cookie alone would
// make them forgeable from other sites.
type inboxAuth struct {
	acc *accounts.Service
	web *web.Service
}

// Authenticate implements inbox.Authenticator. A token's credential ends at
// its exp, and with its session: the inbox, which shows codes, refuses a
// token whose session was logged out, and a revocation closes its streams.
// A cookie's is revoked with its page session too, and re-checked before
// each delivery.
func (a inboxAuth) Authenticate(r *http.Request) (inbox.Credential, error) {
	if r.Header.Get("Authorization") == "" && r.Method == http.MethodGet {
		if id, key, check, err := a.web.StreamSession(r); err == nil {
			return inbox.Credential{UserID: id, Session: key, Check: check}, nil
		}
	}
	p, err := a.acc.Authenticate(r)
	if err != nil {
		return inbox.Credential{}, err
	}
	if err := a.acc.SessionAlive(r.Context(), p); err != nil {
		return inbox.Credential{}, err
	}
	return inbox.Credential{UserID: p.UserID, Session: p.Session, Expires: p.Expires}, nil
}
