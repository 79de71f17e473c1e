package connect

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Routes registers the Connect API on mux. Every route authenticates the
// X-Api-Key header (Header.Get ignores the name's case), an IP past package
// clients' wrong-key limit being refused first, and counts one request
// against the app's keyLimit; POST /api/otp also counts one send against
// otpLimit for the (app, user_id) it names.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("POST /api/link-account", s.endpoint(s.handleLinkAccount))
	mux.Handle("POST /api/link-account/unlink", s.endpoint(s.handleUnlink))
	mux.Handle("POST /api/otp", s.endpoint(s.handleSendOTP))
	mux.Handle("POST /api/otp/verify", s.endpoint(s.handleVerifyOTP))
	mux.Handle("POST /api/notification", s.endpoint(s.handleNotification))
}

// handler is a Connect endpoint, run for an authenticated app.
type handler func(w http.ResponseWriter, r *http.Request, app App) error

// endpoint authenticates the request and applies the app's rate limit
// before h.
func (s *Service) endpoint(h handler) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		app, err := s.apps.Authenticate(r.Context(), httpx.ClientIP(r), r.Header.Get("X-Api-Key"))
		if err != nil {
			return keyError(err)
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "connect:app:"+app.ID, keyLimit); err != nil {
			return err
		}
		return h(w, r, app)
	})
}

// keyError answers a refused key, or a client IP over the wrong-key limit,
// in the seed's words.
func keyError(err error) error {
	var e *errs.Error
	switch {
	case !errors.As(err, &e):
		return err
	case e.Kind == errs.Unauthorized:
		return errInvalidAPIKey
	case e.Kind == errs.TooMany:
		return rateLimited(e.RetryAfter)
	}
	return err
}
