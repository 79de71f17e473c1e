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

// ErrNoSession is the error of a request without a live session: no
// cookie, or one that is unknown, expired, signed out, or of an account no
// longer active.
var ErrNoSession = errs.E(errs.Unauthorized, "invalid_session", "Sign in to continue")

// Session is a signed-in browser.
type Session struct {
	UserID string // the account signed in
	token  string // the cookie's value, binding the CSRF tokens of its forms
}

// UserID returns the account a request's session cookie signs in, so that
// the inbox API and its stream (EventSource cannot send headers) accept the
// cookie beside Bearer tokens. A missing, unknown or expired cookie, or an
// account no longer active, is errs.Unauthorized "invalid_session".
func (k *Kit) UserID(r *http.Request) (string, error) {
	se, err := k.Session(r)
	return se.UserID, err
}

// StreamSession is UserID for an event stream, which outlives its request:
// it also returns the session's key, which a revocation of the session
// names, and check, which tells whether the session still holds (not
// signed out, not expired, the account still active and its cut-off not
// passed) without the request.
func (k *Kit) StreamSession(r *http.Request) (userID, key string, check func(context.Context) error, err error) {
	se, err := k.Session(r)
	if err != nil {
		return "", "", nil, err
	}
	hash := k.sessionHash(se.token)
	check = func(ctx context.Context) error {
		_, err := k.lookup(ctx, hash)
		return err
	}
	return se.UserID, sessionKey(hash), check, nil
}

// sessionKey names a page session in revocations: "web:" and the start of
// its keyed hash, which says nothing of the cookie.
func sessionKey(hash string) string {
	return "web:" + hash[:min(len(hash), 22)]
}

// Session returns the request's session, or ErrNoSession. It reads the
// account on every call: blocking or suspending an account ends its
// sessions at once.
func (k *Kit) Session(r *http.Request) (Session, error) {
	token, ok := k.readCookie(r, sessionCookie)
	if !ok {
		return Session{}, ErrNoSession
	}
	userID, err := k.lookup(r.Context(), k.sessionHash(token))
	if err != nil {
		return Session{}, err
	}
	return Session{UserID: userID, token: token}, nil
}

// RequireSession returns the request's session. Without one it redirects
// to the login page, which brings the user back to r's page once signed
// in, and answers ok false with a nil error: the handler returns at once.
// A store failure is ok false with its error.
//
//	se, ok, err := kit.RequireSession(w, r)
//	if !ok {
//		return err
//	}
func (k *Kit) RequireSession(w http.ResponseWriter, r *http.Request) (Session, bool, error) {
	se, err := k.Session(r)
	if errors.Is(err, ErrNoSession) {
		SeeOther(w, withNext("/login", "next", localPath(r.URL.RequestURI())))
		return Session{}, false, nil
	}
	return se, err == nil, err
}

// lookup returns the user of the live session whose keyed hash is hash:
// one that exists, has not expired, and began after its account's cut-off
// (block, suspension, password reset) while the account is active.
func (k *Kit) lookup(ctx context.Context, hash string) (string, error) {
	var (
		userID           string
		created, expires int64
	)
	err := k.db.QueryRow(ctx, `SELECT user_id, created_at, expires_at FROM web_sessions WHERE id_hash = ?`,
		hash).Scan(&userID, &created, &expires)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return "", ErrNoSession
	case err != nil:
		return "", fmt.Errorf("web: read session: %w", err)
	case expires <= k.now().UnixMilli():
		return "", ErrNoSession
	}
	u, err := k.users.UserByID(ctx, userID)
	switch {
	case errs.Is(err, errs.NotFound, "user_not_found"):
		return "", ErrNoSession
	case err != nil:
		return "", err
	case u.Status != accounts.StatusActive || created < u.SessionsValidAfter.UnixMilli():
		return "", ErrNoSession
	}
	return userID, nil
}

// RevokeSessions implements accounts.Revoker: when accounts ends every
// session of a user (block, suspension, password reset: session ""), the
// user's page sessions are deleted in tx. An API session ("fam_…") has no
// page session of its own.
func (k *Kit) RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error {
	if session != "" {
		return nil
	}
	if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ?`, userID); err != nil {
		return fmt.Errorf("web: delete sessions: %w", err)
	}
	return nil
}

func (k *Kit) sessionHash(token string) string {
	return k.keys.Hash("web-session", token)
}

// signIn starts a session for u and sets its cookie. It sweeps the user's
// expired sessions on the way, which keeps the table small without a
// background job. A session begun within the second of a revocation (a
// password reset or change just now) counts from the cut-off, as an access
// token signed then does: it would be refused otherwise.
func (k *Kit) signIn(ctx context.Context, w http.ResponseWriter, u accounts.User) error {
	token := ids.Token("", 32)
	now, userID := k.now(), u.ID
	created := max(now.UnixMilli(), u.SessionsValidAfter.UnixMilli())
	expires := now.Add(sessionTTL)
	err := k.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE user_id = ? AND expires_at <= ?`,
			userID, now.UnixMilli()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO web_sessions (id_hash, user_id, created_at, expires_at) VALUES (?, ?, ?, ?)`,
			k.sessionHash(token), userID, created, expires.UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("web: create session: %w", err)
	}
	http.SetCookie(w, k.cookie(sessionCookie, token, int(sessionTTL/time.Second)))
	return nil
}

// signOut ends the request's session, if any, with the event streams it
// opened, and clears its cookie.
func (k *Kit) signOut(ctx context.Context, w http.ResponseWriter, se Session) error {
	hash := k.sessionHash(se.token)
	err := k.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, hash); err != nil {
			return err
		}
		return k.streams.RevokeSessions(ctx, tx, se.UserID, sessionKey(hash))
	})
	if err != nil {
		return fmt.Errorf("web: delete session: %w", err)
	}
	http.SetCookie(w, k.cookie(sessionCookie, "", -1))
	return nil
}

// cookie is a cookie of the pages: HttpOnly, SameSite=Lax, Secure over
// https. Its lifetime is Max-Age rather than Expires, which the browser
// would read on its own clock: maxAge 0 lasts the browser session, -1
// deletes the cookie.
func (k *Kit) cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: k.cookieName(name), Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: k.secure, SameSite: http.SameSiteLaxMode}
}

// cookieName is name with the __Host- prefix over https: browsers then
// take the cookie only if it is Secure, for "/" and for this host alone, so
// a sibling subdomain or a plain-http page cannot plant or shadow it.
func (k *Kit) cookieName(name string) string {
	if k.secure {
		return hostPrefix + name
	}
	return name
}

// hostPrefix is the cookie prefix of RFC 6265bis §4.1.3.2.
const hostPrefix = "__Host-"

// readCookie returns the value of the cookie name, if r has a sane one:
// non-empty and at most maxCookie long.
func (k *Kit) readCookie(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(k.cookieName(name))
	if err != nil || c.Value == "" || len(c.Value) > maxCookie {
		return "", false
	}
	return c.Value, true
}
