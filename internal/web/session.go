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

// session finds the request's session. It reads the account on every call:
// blocking or suspending an account ends its sessions at once.
func (s *Service) session(r *http.Request) (session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" || len(c.Value) > maxCookie {
		return session{}, errNoSession
	}
	ctx := r.Context()
	var (
		userID  string
		expires int64
	)
	err = s.db.QueryRow(ctx, `SELECT user_id, expires_at FROM web_sessions WHERE id_hash = ?`,
		s.sessionHash(c.Value)).Scan(&userID, &expires)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return session{}, errNoSession
	case err != nil:
		return session{}, fmt.Errorf("web: read session: %w", err)
	case expires <= s.now().UnixMilli():
		return session{}, errNoSession
	}
	if err := s.activeUser(ctx, userID); err != nil {
		return session{}, err
	}
	return session{token: c.Value, userID: userID}, nil
}

// activeUser is nil when userID's account exists and is active.
func (s *Service) activeUser(ctx context.Context, userID string) error {
	u, err := s.acc.UserByID(ctx, userID)
	if errs.Is(err, errs.NotFound, "user_not_found") {
		return errNoSession
	}
	if err != nil {
		return err
	}
	if u.Status != accounts.StatusActive {
		return errNoSession
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
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
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

// signOut ends the request's session, if any, and clears its cookie.
func (s *Service) signOut(ctx context.Context, w http.ResponseWriter, se session) error {
	if _, err := s.db.Exec(ctx, `DELETE FROM web_sessions WHERE id_hash = ?`, s.sessionHash(se.token)); err != nil {
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
	return &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}
