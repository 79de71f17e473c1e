// Package numbers is the Numbers API (/api/public/*, /api/internal/*,
// /api/user/profile): a catalog of prices, a pool of phone numbers, an
// append-only credit ledger, and rentals of a number for one service, paid
// in credits, that receive that service's SMS.
//
// Money is integer micro-units (1e-6 of the currency), credits are integers;
// a price converts to credits at the configured credit value, rounded up.
// An account's credits are kept in numbers_accounts beside the ledger, both
// written in the same transaction, so the ledger always sums to the balance.
package numbers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/web"
)

// Inbox delivers a rental's SMS to its renter, inside the caller's
// transaction, and lists the renter's messages (the page follows the
// inbox stream from the newest). *inbox.Service implements it.
type Inbox interface {
	Add(ctx context.Context, tx *db.Tx, m inbox.NewMessage) (num int64, err error)
	List(ctx context.Context, userID string, limit int, before string) ([]inbox.Message, error)
}

var _ Inbox = (*inbox.Service)(nil)

// Lifetimes of a rental.
const (
	rentalTTL   = 20 * time.Minute // an activation lives this long
	cancelAfter = 2 * time.Minute  // and cannot be cancelled before this
)

// Request rate limits, per route (documented in docs/numbers.md).
var (
	publicLimit = ratelimit.Limit{Events: 100, Per: time.Minute}                     // per client IP
	readLimit   = routeLimit{"read", ratelimit.Limit{Events: 120, Per: time.Minute}} // per account
	rentLimit   = routeLimit{"rent", ratelimit.Limit{Events: 60, Per: time.Minute}}  // rents and rental changes per account
	anonLimit   = ratelimit.Limit{Events: 30, Per: time.Minute}                      // requests without a valid token, per client IP
)

// Config tunes a Service.
type Config struct {
	CreditValue string           // LINKBOX_NUMBERS_CREDIT_VALUE: money per credit, a decimal ("0.0005")
	FreeCredits int64            // LINKBOX_NUMBERS_FREE_CREDITS: credits granted on approval
	Cooldown    time.Duration    // LINKBOX_NUMBERS_SERVICE_COOLDOWN: 0 turns it off
	Now         func() time.Time // nil: time.Now
	// Upstream, if not nil, sells numbers when the pool has none, at its
	// prices times Markup (LINKBOX_SMSACTIVATE_MARKUP, a decimal ≥ 1).
	Upstream *smsactivate.Client
	Markup   string
}

// Service is the Numbers domain.
type Service struct {
	db          *db.DB
	acc         *accounts.Service
	keys        *secrets.Keyring
	inbox       Inbox
	limiter     ratelimit.Limiter
	log         *slog.Logger
	now0        func() time.Time
	creditValue int64 // micro-units per credit
	freeCredits int64
	cooldown    time.Duration
	up          *upstream // nil: none
	prices      *priceCache
	api         httpx.Adapter
	kit         *web.Kit // the hosted page's kit, set by Pages
}

// NewService returns a Service over d, authenticating with acc's tokens.
func NewService(d *db.DB, acc *accounts.Service, keys *secrets.Keyring, ib Inbox, limiter ratelimit.Limiter, cfg Config, log *slog.Logger) (*Service, error) {
	if d == nil || acc == nil || keys == nil || ib == nil || limiter == nil || log == nil {
		return nil, errors.New("numbers: store, accounts, keyring, inbox, limiter and logger are required")
	}
	cv, err := ParseMoney(cfg.CreditValue)
	if err != nil || cv <= 0 {
		return nil, fmt.Errorf("numbers: credit value %q: want a positive decimal such as 0.0005", cfg.CreditValue)
	}
	if cfg.FreeCredits < 0 || cfg.Cooldown < 0 {
		return nil, errors.New("numbers: free credits and cooldown must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{
		db: d, acc: acc, keys: keys, inbox: ib, limiter: limiter, log: log, now0: cfg.Now,
		creditValue: cv, freeCredits: cfg.FreeCredits, cooldown: cfg.Cooldown, prices: newPriceCache(),
		api: httpx.Adapter{Log: log, Render: RenderError},
	}
	if cfg.Upstream != nil {
		m, err := ParseMoney(cfg.Markup)
		if err != nil || m < 1e6 {
			return nil, fmt.Errorf("numbers: markup %q: want a decimal of at least 1.0", cfg.Markup)
		}
		s.up = &upstream{c: cfg.Upstream, markup: m}
	}
	return s, nil
}

func (s *Service) now() time.Time { return s.now0().Truncate(time.Millisecond) }

// credits is the price of cost micro-units, rounded up.
func (s *Service) credits(cost int64) int64 {
	return (cost + s.creditValue - 1) / s.creditValue
}

// ParseMoney reads a non-negative decimal with at most 6 decimals as
// micro-units.
func ParseMoney(v string) (int64, error) {
	whole, frac, _ := strings.Cut(strings.TrimSpace(v), ".")
	if whole == "" {
		whole = "0"
	}
	if len(frac) > 6 || strings.ContainsAny(whole+frac, "+-") {
		return 0, fmt.Errorf("money %q: want a decimal with at most 6 decimals", v)
	}
	w, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || w > 1e12 {
		return 0, fmt.Errorf("money %q: want a decimal with at most 6 decimals", v)
	}
	f := int64(0)
	if frac != "" {
		if f, err = strconv.ParseInt(frac+strings.Repeat("0", 6-len(frac)), 10, 64); err != nil {
			return 0, fmt.Errorf("money %q: want a decimal with at most 6 decimals", v)
		}
	}
	return w*1e6 + f, nil
}

// FormatMoney writes micro-units as a decimal without trailing zeros ("0.05").
func FormatMoney(m int64) string {
	s := strconv.FormatInt(m/1e6, 10)
	if f := m % 1e6; f != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%06d", f), "0")
	}
	return s
}
