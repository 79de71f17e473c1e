package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// accessClaims are the claims of an access token: sub, role, status, iat,
// exp, iss and jti.
type accessClaims struct {
	Role   string `json:"role"`
	Status string `json:"status"`
	jwt.RegisteredClaims
}

// signAccess returns an access token for u, valid accessTTL from now, signed
// by the active key and naming it in the kid header.
func (s *Service) signAccess(ctx context.Context, u User, now time.Time) (string, error) {
	set, err := s.signing.current(ctx)
	if err != nil {
		return "", err
	}
	if set.active == nil {
		return "", fmt.Errorf("accounts: no active %s signing key", s.cfg.Algorithm)
	}
	claims := accessClaims{Role: u.Role, Status: u.Status, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   u.ID,
		Issuer:    s.cfg.Issuer,
		IssuedAt:  jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(accessTTL)),
		ID:        ids.Token("", 16),
	}}
	tok := jwt.NewWithClaims(jwt.GetSigningMethod(s.cfg.Algorithm), claims)
	tok.Header["kid"] = set.active.kid
	signed, err := tok.SignedString(set.active.sign)
	if err != nil {
		return "", fmt.Errorf("accounts: sign access token: %w", err)
	}
	return signed, nil
}

// parseAccess verifies raw's signature, algorithm, issuer and expiry, and
// returns its subject. Tokens verified once are remembered until they
// expire, by their SHA-256: only a token that verified can be remembered.
func (s *Service) parseAccess(ctx context.Context, raw string) (string, error) {
	sum := sha256.Sum256([]byte(raw))
	now := s.cfg.Now()
	if sub, ok := s.verified.Get(sum, now); ok {
		return sub, nil
	}
	var (
		claims   accessClaims
		storeErr error // a failure to read the keys: no verdict on the token
	)
	_, err := s.parser.ParseWithClaims(raw, &claims, func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		key, err := s.signing.lookup(ctx, kid)
		if err != nil {
			if !errors.Is(err, errInvalidToken) {
				storeErr = err
			}
			return nil, err
		}
		return key.verify, nil
	})
	switch {
	case storeErr != nil:
		return "", storeErr
	case err == nil && claims.Subject != "":
		s.verified.Put(sum, claims.Subject, claims.ExpiresAt.Time, now)
		return claims.Subject, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return "", errTokenExpired
	}
	return "", errInvalidToken
}

// Authenticate checks the request's bearer access token and that its account
// still exists and is active. Errors are *errs.Error: 401 for a missing,
// invalid or expired token, 403 for a blocked, suspended or pending account.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	u, err := s.authenticate(r)
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Role: u.Role, Status: u.Status}, nil
}

func (s *Service) authenticate(r *http.Request) (User, error) {
	raw, ok := bearer(r)
	if !ok {
		return User{}, errMissingToken
	}
	sub, err := s.parseAccess(r.Context(), raw)
	if err != nil {
		return User{}, err
	}
	u, err := userByID(r.Context(), s.db, sub)
	if errors.Is(err, db.ErrNotFound) {
		return User{}, errInvalidToken
	}
	if err != nil {
		return User{}, err
	}
	return u, u.canLogIn()
}

// bearer returns the token of an "Authorization: Bearer …" header; the
// scheme is case-insensitive (RFC 7235).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
