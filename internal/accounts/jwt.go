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

// accessClaims are the claims of an access token: sub, role, status, sid
// (the refresh token family of its session), iat, exp, iss and jti.
type accessClaims struct {
	Role    string `json:"role"`
	Status  string `json:"status"`
	Session string `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// verifiedToken is what a verified access token says that requests use.
type verifiedToken struct {
	subject, session string
	issued, expires  time.Time
}

// signAccess returns an access token for u in the session family, valid
// the configured lifetime from now, signed by the active key and naming it
// in the kid header. Its iat is no earlier than u's cut-off, which may lie
// up to a second ahead (cutoff).
func (s *Service) signAccess(ctx context.Context, u User, family string, now time.Time) (string, error) {
	set, err := s.signing.current(ctx)
	if err != nil {
		return "", err
	}
	if set.active == nil {
		return "", fmt.Errorf("accounts: no active %s signing key", s.cfg.Algorithm)
	}
	claims := accessClaims{Role: u.Role, Status: u.Status, Session: family, RegisteredClaims: jwt.RegisteredClaims{
		Subject:   u.ID,
		Issuer:    s.cfg.Issuer,
		IssuedAt:  jwt.NewNumericDate(maxTime(now, u.SessionsValidAfter)),
		ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)),
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

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parseAccess verifies raw's signature, algorithm, issuer and expiry, and
// returns what it says. Tokens verified once are remembered until they
// expire, by their SHA-256: only a token that verified can be remembered.
func (s *Service) parseAccess(ctx context.Context, raw string) (verifiedToken, error) {
	sum := sha256.Sum256([]byte(raw))
	now := s.cfg.Now()
	if tok, ok := s.verified.Get(sum, now); ok {
		return tok, nil
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
		return verifiedToken{}, storeErr
	case err == nil && claims.Subject != "" && claims.IssuedAt != nil:
		tok := verifiedToken{subject: claims.Subject, session: claims.Session,
			issued: claims.IssuedAt.Time, expires: claims.ExpiresAt.Time}
		s.verified.Put(sum, tok, tok.expires, now)
		return tok, nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return verifiedToken{}, errTokenExpired
	}
	return verifiedToken{}, errInvalidToken
}

// Authenticate checks the request's bearer access token, that its account
// still exists and is active, and that the token was issued after the
// account's sessions were last revoked (block, suspension, password reset).
// The account is read with every request anyway, so the cut-off costs no
// query. Errors are *errs.Error: 401 for a missing, invalid, expired or
// revoked token, 403 for a blocked, suspended or pending account.
func (s *Service) Authenticate(r *http.Request) (Principal, error) {
	u, tok, err := s.authenticate(r)
	if err != nil {
		return Principal{}, err
	}
	return Principal{UserID: u.ID, Role: u.Role, Status: u.Status, Session: tok.session,
		Issued: tok.issued, Expires: tok.expires}, nil
}

// SessionAlive tells whether the session p was authenticated in — the
// refresh family its token was issued in — is still signed in, not logged
// out; Authenticate has checked the account and its cut-off. The inbox
// asks, so that a token cannot open a stream of codes for a session that
// ended; elsewhere Authenticate is enough, as an access token outlives its
// session's logout until its exp (a JWT is not looked up). A token older
// than sid names no session and is taken as alive.
func (s *Service) SessionAlive(ctx context.Context, p Principal) error {
	if p.Session == "" {
		return nil
	}
	var alive bool
	err := s.db.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM refresh_tokens
		WHERE user_id = ? AND family_id = ? AND revoked_at IS NULL AND expires_at > ?)`,
		p.UserID, p.Session, s.now().UnixMilli()).Scan(&alive)
	if err != nil {
		return fmt.Errorf("accounts: read session: %w", err)
	}
	if !alive {
		return errInvalidToken
	}
	return nil
}

func (s *Service) authenticate(r *http.Request) (User, verifiedToken, error) {
	raw, ok := bearer(r)
	if !ok {
		return User{}, verifiedToken{}, errMissingToken
	}
	tok, err := s.parseAccess(r.Context(), raw)
	if err != nil {
		return User{}, tok, err
	}
	u, err := userByID(r.Context(), s.db, tok.subject)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return User{}, tok, errInvalidToken
	case err != nil:
		return User{}, tok, err
	}
	if err := u.canLogIn(); err != nil {
		return User{}, tok, err
	}
	if tok.issued.Before(u.SessionsValidAfter) {
		return User{}, tok, errInvalidToken
	}
	return u, tok, nil
}

// bearer returns the token of an "Authorization: Bearer …" header; the
// scheme is case-insensitive (RFC 7235).
func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	token = strings.TrimSpace(token)
	return token, ok && strings.EqualFold(scheme, "Bearer") && token != ""
}
