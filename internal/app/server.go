package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/secrets"
	"github.com/linkbox/linkbox/internal/sms"
)

// Options are the seams tests use; the zero value is production.
type Options struct {
	Now  func() time.Time     // default time.Now
	Hash *accounts.HashParams // default accounts.DefaultHashParams()
}

// Server is one Linkbox process's services over one store.
type Server struct {
	Accounts *accounts.Service

	log     *slog.Logger
	db      *db.DB
	outbox  *sms.Outbox
	limiter ratelimit.Limiter
	redis   *redis.Client
	handler http.Handler

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens and migrates the store and builds every service. Its background
// workers (the SMS outbox) run until Close.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, db: d}
	if err := s.build(ctx, cfg, opt); err != nil {
		s.closeStores()
		return nil, err
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Go(func() { s.outbox.Run(bg) })
	return s, nil
}

func (s *Server) build(ctx context.Context, cfg config.Config, opt Options) error {
	if err := s.db.Migrate(ctx); err != nil {
		return err
	}
	keys, err := loadKeyring(ctx, s.db, cfg.Secret, s.log)
	if err != nil {
		return err
	}
	sender, err := sms.New(smsConfig(cfg), s.log)
	if err != nil {
		return err
	}
	s.outbox = sms.NewOutbox(s.db, sender, s.log, opt.Now)
	if s.limiter, err = s.newLimiter(cfg, opt.Now); err != nil {
		return err
	}
	hash := accounts.DefaultHashParams()
	if opt.Hash != nil {
		hash = *opt.Hash
	}
	s.Accounts, err = accounts.NewService(ctx, s.db, keys, s.outbox, accounts.Config{
		Issuer:          cfg.PublicURL,
		Algorithm:       cfg.JWTAlgorithm,
		Hash:            hash,
		HashConcurrency: cfg.HashConcurrency,
		Limiter:         s.limiter,
		Now:             opt.Now,
	}, s.log)
	if err != nil {
		return err
	}
	s.handler = s.routes(cfg)
	return nil
}

func smsConfig(cfg config.Config) sms.Config {
	return sms.Config{
		Provider:         cfg.SMSProvider,
		WebhookURL:       cfg.SMSWebhookURL,
		WebhookSecret:    cfg.SMSWebhookSecret,
		TwilioBaseURL:    cfg.TwilioBaseURL,
		TwilioAccountSID: cfg.TwilioAccountSID,
		TwilioAuthToken:  cfg.TwilioAuthToken,
		TwilioFrom:       cfg.TwilioFrom,
	}
}

// newLimiter picks the rate limiter: none when limits are off, Redis when
// configured (limits shared by every instance), else in memory.
func (s *Server) newLimiter(cfg config.Config, now func() time.Time) (ratelimit.Limiter, error) {
	switch {
	case !cfg.RateLimits:
		return ratelimit.Unlimited{}, nil
	case cfg.RedisURL != "":
		o, err := redis.ParseURL(cfg.RedisURL)
		if err != nil {
			return nil, fmt.Errorf("LINKBOX_REDIS_URL: %w", err)
		}
		s.redis = redis.NewClient(o)
		return ratelimit.NewRedis(s.redis, "linkbox:rl:"), nil
	}
	return ratelimit.NewMemory(now), nil
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close stops the background workers and closes the store.
func (s *Server) Close() error {
	s.cancel()
	s.wg.Wait()
	return s.closeStores()
}

func (s *Server) closeStores() error {
	var err error
	if s.redis != nil {
		err = s.redis.Close()
	}
	return errors.Join(err, s.db.Close())
}

// loadKeyring builds the keyring from LINKBOX_SECRET or, when unset, from a
// secret generated on first start and kept in the store.
func loadKeyring(ctx context.Context, d *db.DB, secret string, log *slog.Logger) (*secrets.Keyring, error) {
	if secret == "" {
		if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('master_secret', ?) ON CONFLICT (key) DO NOTHING`,
			secrets.NewMaster()); err != nil {
			return nil, fmt.Errorf("store master secret: %w", err)
		}
		if err := d.QueryRow(ctx, `SELECT value FROM settings WHERE key = 'master_secret'`).Scan(&secret); err != nil {
			return nil, fmt.Errorf("read master secret: %w", err)
		}
		log.Warn("LINKBOX_SECRET is not set: using the secret generated in the store; anyone with a copy of the store has it")
	}
	return secrets.New([]byte(secret))
}
