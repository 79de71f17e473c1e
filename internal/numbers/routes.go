package numbers

import (
	"errors"
	"net/http"

	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Middleware wraps the handler of one request of an authenticated account,
// scope being the account's id; package idempotency's Middleware is one.
type Middleware func(scope string, next http.Handler) http.Handler

// routeLimit is a route's rate limit, named in its limiter keys.
type routeLimit struct {
	name string
	ratelimit.Limit
}

// Routes registers the Numbers API on mux. Public routes count one request
// per client IP against publicLimit; the others authenticate the Bearer
// access token of the Accounts API and count against the account's limit of
// the route (a request without a valid token counts against anonLimit of
// its IP). Every response carries X-RateLimit-*. POST /api/internal/rent
// goes through idem, which answers a replayed Idempotency-Key.
func (s *Service) Routes(mux *http.ServeMux, idem Middleware) {
	mux.Handle("GET /api/public/prices", s.public(s.handlePrices))
	mux.Handle("GET /api/public/rent-prices", s.public(s.handleRentPrices))
	mux.Handle("GET /api/internal/balance", s.account(readLimit, s.handleBalance))
	mux.Handle("POST /api/internal/balance", s.account(readLimit, s.handleBalance))
	mux.Handle("GET /api/user/profile", s.account(readLimit, s.handleProfile))
	mux.Handle("GET /api/internal/transactions", s.account(readLimit, s.handleTransactions))
	mux.Handle("POST /api/internal/rent", s.accountThen(rentLimit, idem, s.handleRent))
	mux.Handle("GET /api/internal/rentals", s.account(readLimit, s.handleRentals))
	mux.Handle("GET /api/internal/rentals/{id}", s.account(readLimit, s.handleRental))
	mux.Handle("POST /api/internal/rentals/{id}/cancel", s.account(rentLimit, s.handleCancel))
	mux.Handle("POST /api/internal/rentals/{id}/finish", s.account(rentLimit, s.handleFinish))
	mux.Handle("POST /api/internal/rentals/{id}/report", s.account(rentLimit, s.handleReport))
	mux.Handle("POST /api/webhooks/smsgate/{gateway_id}", s.api.H(s.handleSMSGate))
}

// handler is an endpoint run for an authenticated account.
type handler func(w http.ResponseWriter, r *http.Request, userID string) error

func (s *Service) public(h httpx.HandlerFunc) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		if err := ratelimit.Take(w, r, s.limiter, s.log, "numbers:ip:"+httpx.IPKey(httpx.ClientIP(r)), publicLimit); err != nil {
			return err
		}
		return h(w, r)
	})
}

func (s *Service) account(l routeLimit, h handler) http.Handler {
	return s.accountThen(l, nil, h)
}

// accountThen authenticates the request and applies l before h, run
// through mw when given.
func (s *Service) accountThen(l routeLimit, mw Middleware, h handler) http.Handler {
	return s.api.H(func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.acc.Authenticate(r)
		if err != nil {
			var e *errs.Error
			if errors.As(err, &e) && e.Kind == errs.Internal {
				return err
			}
			if err := ratelimit.Take(w, r, s.limiter, s.log, "numbers:anon:"+httpx.IPKey(httpx.ClientIP(r)), anonLimit); err != nil {
				return err
			}
			return errUnauthorized
		}
		if err := ratelimit.Take(w, r, s.limiter, s.log, "numbers:"+l.name+":"+p.UserID, l.Limit); err != nil {
			return err
		}
		next := s.api.H(func(w http.ResponseWriter, r *http.Request) error { return h(w, r, p.UserID) })
		if mw != nil {
			next = mw(p.UserID, next)
		}
		next.ServeHTTP(w, r)
		return nil
	})
}
