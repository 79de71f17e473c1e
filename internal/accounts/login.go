package accounts

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
)

// Login failures allowed before further attempts are refused: per phone
// they stop a guesser aiming at one account, per IP one spraying many.
// Successful logins cost nothing.
var (
	loginFailuresPerPhone = ratelimit.Limit{Events: 10, Per: 15 * time.Minute}
	loginFailuresPerIP    = ratelimit.Limit{Events: 100, Per: 15 * time.Minute}
)

// CheckPassword is the core of every login: it returns the account of phone
// if password is right and the account active. Unknown phones and wrong
// passwords get the same error after the same work — one argon2id
// verification, against a dummy hash for unknown phones — so login reveals
// nothing about who has an account. The status (403) is only told to those
// who know the password.
func (s *Service) CheckPassword(ctx context.Context, phone, password string, c Caller) (User, error) {
	if err := s.admit(ctx, actLogin, c); err != nil {
		return User{}, err
	}
	phone, err := normalizePhone("phone", phone)
	if err != nil {
		return User{}, err
	}
	if password == "" {
		return User{}, missingField("password")
	}
	keys := []string{"login:phone:" + phone, "login:ip:" + httpx.IPKey(c.IP)}
	if err := s.loginAllowed(ctx, keys); err != nil {
		return User{}, err
	}
	u, ok, err := s.matchPassword(ctx, phone, password)
	if err != nil {
		return User{}, err
	}
	if !ok {
		s.countFailure(ctx, keys)
		return User{}, errInvalidCredentials
	}
	return u, u.canLogIn()
}

// matchPassword looks phone up and verifies password, hashing even when
// there is nobody to match.
func (s *Service) matchPassword(ctx context.Context, phone, password string) (User, bool, error) {
	u, err := userByPhone(ctx, s.db, phone)
	hash := u.hash
	if errors.Is(err, db.ErrNotFound) {
		hash = s.dummy
	} else if err != nil {
		return User{}, false, err
	}
	ok, err := s.hasher.verify(ctx, hash, password)
	return u, ok && u.ID != "", err
}

// loginAllowed peeks at the failure limits of each key.
func (s *Service) loginAllowed(ctx context.Context, keys []string) error {
	limits := []ratelimit.Limit{loginFailuresPerPhone, loginFailuresPerIP}
	for i, key := range keys {
		res, err := s.cfg.Limiter.Take(ctx, key, limits[i], 0)
		if err != nil {
			s.log.ErrorContext(ctx, "login limiter failed; attempt allowed", "err", err)
			continue
		}
		if !res.Allowed {
			return rateLimited(res.RetryAfter)
		}
	}
	return nil
}

func (s *Service) countFailure(ctx context.Context, keys []string) {
	limits := []ratelimit.Limit{loginFailuresPerPhone, loginFailuresPerIP}
	for i, key := range keys {
		if _, err := s.cfg.Limiter.Take(ctx, key, limits[i], 1); err != nil {
			s.log.ErrorContext(ctx, "login limiter failed to count a failure", "err", err)
		}
	}
}

// sessionJSON is the seed's token object with its user: the answer of login
// and refresh.
type sessionJSON struct {
	TokenPair
	User loginUserJSON `json:"user"`
}

func writeSession(w http.ResponseWriter, pair TokenPair, u User) {
	// RFC 6749 §5.1: responses carrying tokens must not be cached.
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, sessionJSON{TokenPair: pair, User: u.loginJSON()})
}

func (s *Service) handleLogin(w http.ResponseWriter, r *http.Request) error {
	var req struct {
		Phone    string `json:"phone"`
		Password string `json:"password"`
	}
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	u, err := s.CheckPassword(r.Context(), req.Phone, req.Password, APICaller(w, r))
	if err != nil {
		return err
	}
	pair, err := s.issueSession(r.Context(), u)
	if err != nil {
		return err
	}
	writeSession(w, pair, u)
	return nil
}

// refreshRequest is the body of refresh and logout.
type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (s *Service) handleRefresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	pair, u, err := s.Refresh(r.Context(), req.RefreshToken, APICaller(w, r))
	if err != nil {
		return err
	}
	writeSession(w, pair, u)
	return nil
}

func (s *Service) handleLogout(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := httpx.Decode(w, r, &req); err != nil {
		return err
	}
	if err := s.Logout(r.Context(), req.RefreshToken, APICaller(w, r)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Service) handleMe(w http.ResponseWriter, r *http.Request) error {
	if err := s.admit(r.Context(), actMe, APICaller(w, r)); err != nil {
		return err
	}
	u, _, err := s.authenticate(r)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	httpx.WriteJSON(w, http.StatusOK, u.fullJSON())
	return nil
}

func (s *Service) handleJWKS(w http.ResponseWriter, r *http.Request) error {
	set, err := s.signing.current(r.Context())
	if err != nil {
		return err
	}
	// Short: right after a rotation a verifier holding a cached copy meets
	// an unknown kid, and this bounds how long it can keep failing.
	w.Header().Set("Cache-Control", "public, max-age=60")
	httpx.WriteJSON(w, http.StatusOK, map[string][]jwk{"keys": set.jwks()})
	return nil
}
