package devicelinks

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Routes registers the API on mux: the suppliers' routes and, for section
// 2 of the seed, the manufacturers' POST /device-sessions. Every route
// authenticates the x-api-key header (any case) of its kind of client, an
// IP past package clients' wrong-key limit refused first, and counts one
// request against the client's keyLimit.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("POST /users/{supplier_user_id}/link", s.endpoint(s.handleLink))
	mux.Handle("GET /users/{supplier_user_id}", s.endpoint(s.handleGetUser))
	mux.Handle("DELETE /users/{supplier_user_id}/devices/{device_id}", s.endpoint(s.handleDeleteDevice))
	mux.Handle("GET /users/{supplier_user_id}/settings", s.endpoint(s.handleGetSettings))
	mux.Handle("PUT /users/{supplier_user_id}/settings", s.endpoint(s.handlePutSettings))
	mux.Handle("GET /events", s.endpoint(s.handleEvents))
	mux.Handle("POST /post-login-redirect", s.endpoint(s.handlePostLogin))
	mux.Handle("POST /device-sessions", s.manufacturerEndpoint(s.handleDeviceSession))
}

type handler func(w http.ResponseWriter, r *http.Request, sup Supplier) error

func (s *Service) endpoint(h handler) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		sup, err := s.suppliers.Authenticate(r.Context(), httpx.ClientIP(r), r.Header.Get("X-Api-Key"))
		if err != nil {
			return authError(err)
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "devicelinks:supplier:"+sup.ID, keyLimit); err != nil {
			return err
		}
		return h(w, r, sup)
	})
}

// authError is the API's answer to a key package clients refused.
func authError(err error) error {
	var e *errs.Error
	switch {
	case errors.As(err, &e) && e.Kind == errs.Unauthorized:
		return errInvalidAPIKey
	case errors.As(err, &e) && e.Kind == errs.TooMany:
		return rateLimited(e.RetryAfter)
	}
	return err
}
