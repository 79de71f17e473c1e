// Package web is the page kit and the hosted pages of Linkbox's own.
//
// The kit (Kit) is what every surface's pages stand on: one layout, cookie
// sessions (table web_sessions), CSRF tokens, the languages (English,
// Dutch, German and French, their texts kept as catalog data) and the error
// pages. A surface registers its templates, its texts and its routes with
// it, and a page's view embeds Base. Pages are server-rendered and work
// without JavaScript, every form carries a CSRF token, and every page is
// served under a strict Content-Security-Policy.
//
// Its first users are the pages of Service: sign-in, sign-up with the SMS
// code, a forgotten password reset by SMS code, the consent page that
// links an app to an account (/linking/{token}), the account page (the
// account's name and phone, its linked apps, a password change, the
// account's deletion), and the live inbox, the one page with a script of
// its own, which only adds to what the page does without it.
package web

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/secrets"
)

// Accounts is what the pages need of the accounts domain.
// *accounts.Service implements it.
type Accounts interface {
	CheckPassword(ctx context.Context, phone, password string, c accounts.Caller) (accounts.User, error)
	Signup(ctx context.Context, n accounts.NewUser, c accounts.Caller) (accounts.User, error)
	Verify(ctx context.Context, phone, code string, c accounts.Caller) (accounts.User, error)
	Resend(ctx context.Context, phone string, c accounts.Caller) error
	UserByID(ctx context.Context, id string) (accounts.User, error)
	Forgot(ctx context.Context, phone string, c accounts.Caller) error
	Reset(ctx context.Context, phone, code, password string, c accounts.Caller) error
	ChangePassword(ctx context.Context, userID, current, next string, c accounts.Caller) error
	DeleteUser(ctx context.Context, userID string) error
}

// Links is what the pages need of the Connect domain. *connect.Service
// implements it.
type Links interface {
	PendingLink(ctx context.Context, token string) (connect.LinkRequest, error)
	LinkApp(ctx context.Context, token string) (connect.LinkRequest, error)
	ApproveLink(ctx context.Context, token, userID string) (string, error)
	DenyLink(ctx context.Context, token string) (string, error)
	LinkedApps(ctx context.Context, userID string) ([]connect.LinkedApp, error)
	UnlinkApp(ctx context.Context, userID, appID string) error
}

// Inbox is what the inbox page reads and marks read, and where signing out
// closes the session's event streams. *inbox.Service implements it.
type Inbox interface {
	List(ctx context.Context, userID string, limit int, before string) ([]inbox.Message, error)
	Unread(ctx context.Context, userID string) (int, error)
	MarkRead(ctx context.Context, userID, id string) (inbox.Message, error)
	RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error
}

var (
	_ Accounts = (*accounts.Service)(nil)
	_ Links    = (*connect.Service)(nil)
	_ Inbox    = (*inbox.Service)(nil)
)

// inboxPageSize is how many messages a page of the inbox renders; newer
// ones arrive over the stream, older ones a page at a time.
const inboxPageSize = 50

// Config tunes a Service.
type Config struct {
	PublicURL string           // LINKBOX_PUBLIC_URL; https makes the cookies Secure
	Now       func() time.Time // nil: time.Now
}

// Service is web's own pages, registered with the page kit it embeds: its
// Routes mounts them with the pages every other surface registered with
// the Kit in the meantime.
type Service struct {
	*Kit
	acc   Accounts
	links Links
	inbox Inbox
}

// NewService returns the page kit with web's own pages registered on it.
func NewService(d *db.DB, keys *secrets.Keyring, acc Accounts, links Links, ib Inbox, cfg Config, log *slog.Logger) (*Service, error) {
	if d == nil || keys == nil || acc == nil || links == nil || ib == nil {
		return nil, errors.New("web: store, keyring and services are required")
	}
	k, err := newKit(d, keys, acc, ib, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Service{Kit: k, acc: acc, links: links, inbox: ib}
	if err := s.register(); err != nil {
		return nil, err
	}
	return s, nil
}
