package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
)

const (
	sessionCookie = "linkbox_session"
	// sessionTTL is fixed from sign-in: a session is never extended, so a
	// stolen cookie is worth at most a week.
	sessionTTL = 7 * 24 * time.Hour
	// maxCookie bounds what is hashed: real tokens are 43 characters.
	maxCookie = 128
)

var errNoSession = errs.E(errs.Unauthorized, "invalid_session", "Sign in to continue")

// session is a signed-in browser.
type session struct {
	token  string // the cookie's value, binding the CSRF tokens of its forms
	userID string
}

// UserID returns the account a request's session cookie signs in, so that
// the inbox API and its stream (EventSource cannot send headers) accept the
// cookie beside Bearer tokens. A missing, unknown or expired cookie, or an
// account no longer active, is errs.Unauthorized "invalid_session".
func (s *Service) UserID(r *http.Request) (string, error) {
	se, err := s.session(r)
	return se.userID, err
}

// StreamSession is UserID for an event stream, which outlives its request:
// it also returns the session's key, which a revocation of the session
// names, and check, which tells whether the session still holds (not
// signed out, not expired, the account still active and its cut-off not
// passed) without the request.
func (s *Service) StreamSession(r *http.Request) (userID, key string, check func(context.Context) error, err error) {
	se, err := s.session(r)
	if err != nil {
		return "", "", nil, err
	}
	hash := s.sessionHash(se.token)
	check = func(ctx context.Context) error {
		_, err := s.lookup(ctx, hash)
		return err
	}
	return se.userID, sessionKey(hash), check, nil
}

// sessionKey names a page session in revocations: "web:" and the start of
// its keyed hash, which says nothing of the cookie.
func sessionKey(hash string) string {
	return "web:" + hash[:min(len(hash), 22)]
}

// session finds the request's session. It reads the account on every call:
// blocking or suspending an account ends its sessions at once.
func (s *Service) session(r *http.Request) (session, error) {
	token, ok := s.readCookie(r, sessionCookie)
	if !ok {
		return session{}, errNoSession
	}
	userID, err := s.lookup(r.Context(), s.sessionHash(token))
	if err != nil {
		return session{}, err
	}
	return session{token: token, userID: userID}, nil
}

// lookup returns the user of the live session whose keyed hash is hash:
// one that exists, has not expired, and began after its account's cut-off
// (block, suspension, password reset) while the account is active.
func (s *Service) lookup(ctx context.Context, hash string) (string, error) {
	var (
		userID           string
		created, expires int64
	)
	err := s.db.QueryRow(ctx, `SELECT user_id, created_at, expires_at FROM web_sessions WHERE id_hash = ?`,
		hash).Scan(&userID, &created, &expires)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return "", errNoSession
	case err != nil:
		return "", fmt.Errorf("web: read session: %w", err)
	case expires <= s.now().UnixMilli():
		return "", errNoSession
	}
	u, err := s.acc.UserByID(ctx, userID)
	switch {
	case errs.Is(err, errs.NotFound, "user_not_found"):
		return "", errNoSession
	case err != nil:
		return "", err
	case u.Status != accounts.StatusActive || created < u.SessionsValidAfter.UnixMilli():
		return "", errNoSession
	}
	return userID, nil
}

// RevokeSessions implements accounts.Revoker: when accounts ends every
// session of a user (block, suspension, password reset: session ""), the
// user's page sessions are deleted in tx. An API session ("fam_…") has no
// page session of its own.
func (s *Service) RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error {
	if session != "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("web: delete sessions: %w", err)
	}
	return nil
}

func (s *Service) sessionHash(token string) string {
	return s.keys.Hash("web-session", token)
}

// signIn starts a session for userID and sets its cookie. It sweeps the
// user's expired sessions on the way, which keeps the table small without a
// background job.
func (s *Service) signIn(ctx context.Context, w http.ResponseWriter, userID string) error {
	token := ids.Token("", 32)
	now := s.now()
	expires := now.Add(sessionTTL)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ? AND expires_at <= ?`,
			userID, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			s.sessionHash(token), userID, now.UnixMilli(), expires.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("web: create session: %w", err)
	}
	http.SetCookie(w, s.cookie(sessionCookie, token, int(sessionTTL/time.Second)))
	return nil
}

// signOut ends the request's session, if any, with the event streams it
// opened, and clears its cookie.
func (s *Service) signOut(ctx context.Context, w http.ResponseWriter, se session) error {
	hash := s.sessionHash(se.token)
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, hash); err != nil {
			return err
		}
		return s.inbox.RevokeSessions(ctx, tx, se.userID, sessionKey(hash))
	})
	if err != nil {
		return fmt.Errorf("web: delete session: %w", err)
	}
	http.SetCookie(w, s.cookie(sessionCookie, "", -1))
	return nil
}

// cookie is a cookie of the pages: HttpOnly, SameSite=Lax, Secure over
// https. Its lifetime is Max-Age rather than Expires, which the browser
// would read on its own clock: maxAge 0 lasts the browser session, -1
// deletes the cookie.
func (s *Service) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: s.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}

// cookieName is name with the __Host- prefix over https: browsers then
// take the cookie only if it is Secure, for "/" and for this host alone, so
// a sibling subdomain or a plain-http page cannot plant or shadow it.
func (s *Service) cookieName(name string) string {
	if s.secure {
		return hostPrefix + name
	}
	return name
}

// hostPrefix is the cookie prefix of RFC 6265bis §4.1.3.2.
const hostPrefix = "__Host-"

// readCookie returns the value of the cookie name, if r has a sane one:
// non-empty and at most maxCookie long.
func (s *Service) readCookie(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(s.cookieName(name))
	if err != nil || c.Value == "" || len(c.Value) > maxCookie {
		return "", false
	}
	return c.Value, true
}
