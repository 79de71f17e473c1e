package devicelinks

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Routes registers the supplier API on mux. Every route authenticates the
// x-api-key header (any case), an IP past package clients' wrong-key limit
// refused first, and counts one request against the supplier's keyLimit.
func (s *Service) Routes(mux *http.ServeMux) {
	mux.Handle("POST /users/{supplier_user_id}/link", s.endpoint(s.handleLink))
	mux.Handle("GET /users/{supplier_user_id}", s.endpoint(s.handleGetUser))
	mux.Handle("DELETE /users/{supplier_user_id}/devices/{device_id}", s.endpoint(s.handleDeleteDevice))
	mux.Handle("GET /users/{supplier_user_id}/settings", s.endpoint(s.handleGetSettings))
	mux.Handle("PUT /users/{supplier_user_id}/settings", s.endpoint(s.handlePutSettings))
	mux.Handle("GET /events", s.endpoint(s.handleEvents))
}

type handler func(w http.ResponseWriter, r *http.Request, sup Supplier) error

func (s *Service) endpoint(h handler) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		sup, err := s.suppliers.Authenticate(r.Context(), httpx.ClientIP(r), r.Header.Get("X-Api-Key"))
		var e *errs.Error
		switch {
		case err == nil:
		case errors.As(err, &e) && e.Kind == errs.Unauthorized:
			return errInvalidAPIKey
		case errors.As(err, &e) && e.Kind == errs.TooMany:
			return rateLimited(e.RetryAfter)
		default:
			return err
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "devicelinks:supplier:"+sup.ID, keyLimit); err != nil {
			return err
		}
		return h(w, r, sup)
	})
}
