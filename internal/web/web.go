// Package web is the hosted pages: sign-in, sign-up with the SMS code, the
// consent page that links an app to an account (/linking/{token}), the
// account page with the linked apps, and the live inbox. Pages are
// server-rendered from embedded templates, in English or Dutch (i18n.go),
// and work without JavaScript; the inbox page alone uses a small script for
// live updates. A signed-in browser holds a cookie session (table
// web_sessions); every form carries a CSRF token, and every page is served
// under a strict Content-Security-Policy.
package web

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
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
}

// Links is what the pages need of the Connect domain. *connect.Service
// implements it.
type Links interface {
	PendingLink(ctx context.Context, token string) (connect.LinkRequest, error)
	ApproveLink(ctx context.Context, token, userID string) (string, error)
	DenyLink(ctx context.Context, token string) (string, error)
	LinkedApps(ctx context.Context, userID string) ([]connect.LinkedApp, error)
	UnlinkApp(ctx context.Context, userID, appID string) error
}

// Inbox is what the inbox page reads, and where signing out closes the
// session's event streams. *inbox.Service implements it.
type Inbox interface {
	List(ctx context.Context, userID string, limit int, before string) ([]inbox.Message, error)
	RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error
}

var (
	_ Accounts = (*accounts.Service)(nil)
	_ Links    = (*connect.Service)(nil)
	_ Inbox    = (*inbox.Service)(nil)
)

// inboxPageSize is how many messages the inbox page renders; newer ones
// arrive over the stream.
const inboxPageSize = 50

// Config tunes a Service.
type Config struct {
	PublicURL string           // LINKBOX_PUBLIC_URL; https makes the cookies Secure
	Now       func() time.Time // nil: time.Now
}

// Service serves the hosted pages.
type Service struct {
	db     *db.DB
	keys   *secrets.Keyring
	acc    Accounts
	links  Links
	inbox  Inbox
	now    func() time.Time
	log    *slog.Logger
	adapt  httpx.Adapter                            // errors as HTML pages (renderError)
	secure bool                                     // cookies only over https
	pages  map[string]map[string]*template.Template // by locale code and page name
	assets assetFiles
	static http.Handler // assets.handler()
}

// NewService returns the hosted pages over d, parsing the embedded
// templates.
func NewService(d *db.DB, keys *secrets.Keyring, acc Accounts, links Links, ib Inbox, cfg Config, log *slog.Logger) (*Service, error) {
	u, err := url.Parse(cfg.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("web: public URL %q is not an http(s) URL", cfg.PublicURL)
	}
	if d == nil || keys == nil || acc == nil || links == nil || ib == nil {
		return nil, errors.New("web: store, keyring and services are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d, keys: keys, acc: acc, links: links, inbox: ib, now: cfg.Now, log: log,
		secure: u.Scheme == "https"}
	s.adapt = httpx.Adapter{Log: log, Render: s.renderError}
	if s.assets, err = loadAssets(); err != nil {
		return nil, err
	}
	if s.static, err = s.assets.handler(); err != nil {
		return nil, err
	}
	if s.pages, err = parsePages(s.assets); err != nil {
		return nil, err
	}
	return s, nil
}
