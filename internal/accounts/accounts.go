// Package accounts is the Accounts API (/v1/auth/*): phone sign-up with an
// SMS code, password login, rotating refresh tokens, JWT access tokens signed
// by keys kept in the store and published at /.well-known/jwks.json, and
// password reset. Other surfaces authenticate requests through
// Service.Authenticate; the hosted pages and the admin commands reuse the
// exported Service methods without going through HTTP.
package accounts

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/httpx"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/ttlcache"
)

// Lifetimes and caps of DESIGN.md's security baseline.
const (
	// DefaultAccessTTL is an access token's lifetime unless
	// LINKBOX_ACCESS_TOKEN_TTL says otherwise.
	DefaultAccessTTL = time.Hour
	refreshTTL       = 30 * 24 * time.Hour
	// refreshGrace is how long a rotated refresh token still returns its
	// successor instead of counting as a replay.
	refreshGrace = 30 * time.Second
	// successorPurpose is the keyring purpose that seals a rotated refresh
	// token's successor for the grace.
	successorPurpose = "refresh-successor"
	codeTTL          = 10 * time.Minute
	maxCodeAttempts  = 5
	smsCooldown      = time.Minute
	smsPerWindow     = 5
	smsWindow        = time.Hour
	// verifiedTokens bounds the cache of verified access tokens: about
	// 150 bytes each.
	verifiedTokens = 20000
)

// The supported access token algorithms.
const (
	AlgEdDSA = "EdDSA"
	AlgHS256 = "HS256"
)

// SMSQueue is the durable SMS outbox: Enqueue writes a message inside the
// caller's transaction and wakes the sender once that has committed.
type SMSQueue interface {
	Enqueue(ctx context.Context, tx *db.Tx, to, body string) error
}

// Config tunes a Service.
type Config struct {
	Issuer          string            // LINKBOX_PUBLIC_URL; the iss of access tokens
	AccessTTL       time.Duration     // LINKBOX_ACCESS_TOKEN_TTL; zero: DefaultAccessTTL
	Algorithm       string            // AlgEdDSA (default) or AlgHS256
	Hash            HashParams        // zero: DefaultHashParams()
	HashConcurrency int               // password hashes computed at once; <= 0: GOMAXPROCS
	Limiter         ratelimit.Limiter // per IP and per phone; nil: an in-memory limiter
	Now             func() time.Time  // nil: time.Now
}

// Service is the accounts domain: users, codes, sessions and keys.
type Service struct {
	db      *db.DB
	keys    *secrets.Keyring
	smsq    SMSQueue
	cfg     Config
	log     *slog.Logger
	hasher  *hasher
	dummy   string // a hash no password matches, verified for unknown phones
	signing *keyStore
	parser  *jwt.Parser
	// verified maps the SHA-256 of access tokens already verified to what
	// they say. Authenticate runs on every request of every surface, and an
	// Ed25519 verification costs more than all the rest of a request.
	verified *ttlcache.Cache[[sha256.Size]byte, verifiedToken]
	api      httpx.Adapter
	// revokers end what a user's sessions hold beyond this package (page
	// sessions, event streams) when accounts revokes them.
	revokers []Revoker
	// erasers erase what other surfaces keep of a deleted account that the
	// users table's cascade cannot reach, or must tell others of.
	erasers []Eraser
}

// Revoker ends, inside the revoking transaction tx, what a user's sessions
// opened beyond the Accounts API: page sessions, event streams. session
// names one session — a refresh token family ("fam_…"), the sid of its
// access tokens — or, when "", every session of the user.
type Revoker interface {
	RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error
}

// AddRevoker has r end the user's sessions whenever accounts revokes them:
// on logout, block, suspension and password reset. Call it while wiring,
// before serving.
func (s *Service) AddRevoker(r Revoker) {
	s.revokers = append(s.revokers, r)
}

// Eraser erases, inside DeleteUser's transaction tx and before the
// account's row goes, what a surface keeps of the account that no foreign
// key cascade reaches (a pool number its rental holds, an answer kept by
// scope), and tells whom it must (an app's webhook of its links).
type Eraser interface {
	EraseUser(ctx context.Context, tx *db.Tx, userID string) error
}

// AddEraser has e erase its part of every account DeleteUser deletes. Call
// it while wiring, before serving.
func (s *Service) AddEraser(e Eraser) {
	s.erasers = append(s.erasers, e)
}

// NewService returns a Service over d, loading the signing key of
// cfg.Algorithm from the store or creating it on first start.
func NewService(ctx context.Context, d *db.DB, keys *secrets.Keyring, smsq SMSQueue, cfg Config, log *slog.Logger) (*Service, error) {
	cfg, err := withDefaults(cfg)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Service{db: d, keys: keys, smsq: smsq, cfg: cfg, log: log}
	s.hasher = newHasher(cfg.Hash, cfg.HashConcurrency)
	s.verified = ttlcache.New[[sha256.Size]byte, verifiedToken](verifiedTokens)
	s.api = httpx.Adapter{Log: log, Render: httpx.RenderNested}
	s.parser = jwt.NewParser(
		jwt.WithValidMethods([]string{cfg.Algorithm}),
		jwt.WithIssuer(cfg.Issuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(cfg.Now),
	)
	if s.dummy, err = s.hasher.hash(ctx, randomPassword()); err != nil {
		return nil, fmt.Errorf("accounts: dummy hash: %w", err)
	}
	s.signing = &keyStore{db: d, keys: keys, alg: cfg.Algorithm, now: cfg.Now, grace: cfg.AccessTTL + keyRefresh}
	if err := s.signing.init(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func withDefaults(cfg Config) (Config, error) {
	if cfg.Issuer == "" {
		return cfg, errors.New("accounts: an issuer (the public URL) is required")
	}
	switch cfg.Algorithm {
	case "":
		cfg.Algorithm = AlgEdDSA
	case AlgEdDSA, AlgHS256:
	default:
		return cfg, fmt.Errorf("accounts: unsupported JWT algorithm %q: want %s or %s", cfg.Algorithm, AlgEdDSA, AlgHS256)
	}
	if cfg.Hash == (HashParams{}) {
		cfg.Hash = DefaultHashParams()
	}
	if err := cfg.Hash.validate(); err != nil {
		return cfg, err
	}
	if cfg.HashConcurrency <= 0 {
		cfg.HashConcurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = DefaultAccessTTL
	}
	if cfg.AccessTTL < time.Second {
		return cfg, fmt.Errorf("accounts: access token lifetime %s: want at least 1s", cfg.AccessTTL)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Limiter == nil {
		cfg.Limiter = ratelimit.NewMemory(cfg.Now)
	}
	return cfg, nil
}

// now is the service clock, in the millisecond precision of the store.
func (s *Service) now() time.Time {
	return s.cfg.Now().Truncate(time.Millisecond)
}
