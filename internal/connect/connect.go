// Package connect is the Connect API (/api/link-account*, /api/otp*,
// /api/notification): third-party apps, authenticated by X-Api-Key, link
// their own user ids to Linkbox accounts through the hosted linking page, then
// send those users one-time codes and notifications, delivered to their
// inbox. The hosted pages and the admin commands use the exported Service
// methods without going through HTTP.
//
// An app is an API client of package clients, of kind "app": clients keeps
// its row, keys and key cache; connect keeps only what is an app's own, its
// return URLs and OTP lifetime, in connect_apps.
//
// The answer to a linked /api/link-account reads the account's email, phone
// and username straight from the users table, in the same query that finds the
// link: it is the hot path, and one join beats a lookup through an accounts
// interface plus a second round trip. Beside it, the hosted pages read an
// app's name from clients, joined to its links and link tokens. These are
// connect's only reads of other packages' tables, and they only read.
package connect

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/clients"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// Lifetimes, caps and limits of the Connect surface.
const (
	linkTokenTTL   = 15 * time.Minute
	defaultOTPTTL  = 5 * time.Minute
	minOTPTTL      = 30 * time.Second
	maxOTPTTL      = time.Hour
	maxOTPAttempts = 5
	// deadRowTTL is how long used or expired link tokens and OTPs are kept,
	// so that they are reported as used or expired rather than unknown;
	// Sweep deletes them after.
	deadRowTTL = 24 * time.Hour
)

// Request rate limits. The key limit is shared by every key of an app, so a
// rotation, during which two keys work, does not double it. The limit on
// wrong keys per client IP is package clients'.
var (
	keyLimit = ratelimit.Limit{Events: 200, Per: 2 * time.Second} // 100/s, burst 200
	otpLimit = ratelimit.Limit{Events: 10, Per: time.Minute}      // OTP sends per (app, user_id)
)

// Inbox delivers messages to accounts: Add and EraseCode run inside the
// caller's transaction, and announce what they wrote once it commits.
// *inbox.Service implements it.
type Inbox interface {
	Add(ctx context.Context, tx *db.Tx, m inbox.NewMessage) (num int64, err error)
	EraseCode(ctx context.Context, tx *db.Tx, num int64) error
}

var _ Inbox = (*inbox.Service)(nil)

// Config tunes a Service.
type Config struct {
	PublicURL string           // LINKBOX_PUBLIC_URL: the base of the linking URLs handed out
	Now       func() time.Time // nil: time.Now
	// Webhooks queues the apps' webhooks and Outbox the checks of OTPs
	// at their expiry; nil: no app is told of anything.
	Webhooks *webhooks.Queue
	Outbox   *outbox.Outbox
}

// Service is the Connect domain: apps, links, OTPs and notifications.
type Service struct {
	db      *db.DB
	keys    *secrets.Keyring
	inbox   Inbox
	limiter ratelimit.Limiter
	cfg     Config
	log     *slog.Logger
	apps    *clients.Clients[App] // the API clients of kind app, with their keys
	api     httpx.Adapter
}

// NewService returns a Service over d. limiter enforces the request rate
// limits (ratelimit.Unlimited{} when LINKBOX_RATE_LIMITS=off); the OTP attempt
// cap is kept in the store and always applies.
func NewService(d *db.DB, keys *secrets.Keyring, ib Inbox, limiter ratelimit.Limiter, cfg Config, log *slog.Logger) (*Service, error) {
	base, err := url.Parse(cfg.PublicURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("connect: public URL %q: want http(s)://host[/path]", cfg.PublicURL)
	}
	if d == nil || keys == nil || ib == nil || limiter == nil || log == nil {
		return nil, errors.New("connect: store, keyring, inbox, limiter and logger are required")
	}
	cfg.PublicURL = strings.TrimSuffix(cfg.PublicURL, "/")
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		db: d, keys: keys, inbox: ib, limiter: limiter, cfg: cfg, log: log,
		apps: clients.New(d, keys, clients.Config[App]{
			Kind: appKind, Table: appTable, Limiter: limiter, Now: cfg.Now,
		}),
		api: httpx.Adapter{Log: log, Render: RenderError},
	}
	if cfg.Outbox != nil {
		cfg.Outbox.Register(otpExpiryKind, expiryChecker{s}, outbox.Policy{Retry: outbox.Exponential(time.Second, 10*time.Minute, 20)})
	}
	return s, nil
}

// now is the service clock, in the millisecond precision of the store.
func (s *Service) now() time.Time {
	return s.cfg.Now().Truncate(time.Millisecond)
}
