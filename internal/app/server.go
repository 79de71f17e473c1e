package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/connect"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/metrics"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/ratelimit"
	"github.com/linkbox/linkbox/internal/realtime"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/web"
	"github.com/linkbox/linkbox/internal/webhooks"
)

// Options are the seams tests use; the zero value is production.
type Options struct {
	Now  func() time.Time     // default time.Now
	Hash *accounts.HashParams // default accounts.DefaultHashParams()
}

// Server is one Linkbox process's services over one store.
type Server struct {
	Accounts *accounts.Service
	Connect  *connect.Service
	Inbox    *inbox.Service
	Web      *web.Service

	DeviceLinks *devicelinks.Service
	Numbers     numbersSurface

	log     *slog.Logger
	db      *db.DB
	outbox  *outbox.Outbox
	limiter ratelimit.Limiter
	redis   *redis.Client
	shared  *ratelimit.Resilient // the limiter when Redis is configured, else nil
	broker  realtime.Broker
	metrics *metrics.Metrics
	// webhooks queues every surface's signed webhooks; endpoints finds
	// their receivers.
	webhooks  *webhooks.Queue
	endpoints webhooks.ByPrefix
	handler   http.Handler

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New opens and migrates the store and builds every service. Its background
// workers wait for Start.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, opt Options) (*Server, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := metrics.New()
	d, err := db.OpenWith(ctx, cfg.DatabaseURL, db.Options{Sync: db.Sync(cfg.SQLiteSync), Log: log, OnGroupCommit: m.GroupCommitted})
	if err != nil {
		return nil, err
	}
	s := &Server{log: log, db: d, metrics: m}
	if err := s.build(ctx, cfg, opt); err != nil {
		s.closeStores()
		return nil, err
	}
	// Building the services hashed a password (19 MiB, for the dummy hash
	// that makes unknown phones cost what known ones do); give that memory
	// back now rather than carry it until the scavenger gets to it.
	debug.FreeOSMemory()
	return s, nil
}

// Start runs the background workers (the outbox, the sweeps of dead
// rows, the inbox's revocation poller) until Close; call it once. Only a
// serving process calls it: a one-shot admin command must not send the SMS
// other processes queued, nor sweep the store, as a side effect. The
// workers outlive ctx, so that the requests still in flight during a
// shutdown get their SMS sent.
func (s *Server) Start(ctx context.Context) {
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	s.wg.Go(func() { s.outbox.Run(bg) })
	s.wg.Go(func() { s.sweep(bg) })
	s.wg.Go(func() { s.Inbox.Run(bg) })
	s.wg.Go(func() { s.runNumbers(bg) })
}

func (s *Server) build(ctx context.Context, cfg config.Config, opt Options) error {
	if err := s.db.Migrate(ctx); err != nil {
		return err
	}
	keys, err := loadKeyring(ctx, s.db, cfg, s.log)
	if err != nil {
		return err
	}
	sender, err := sms.New(smsConfig(cfg), s.log)
	if err != nil {
		return err
	}
	if s.limiter, err = s.newLimiter(cfg, opt.Now); err != nil {
		return err
	}
	s.outbox = outbox.New(s.db, s.log, opt.Now)
	s.outbox.Observe = func(kind string, err error) { s.metrics.Delivered(kind, provider(cfg, kind), err) }
	smsq := sms.NewQueue(s.outbox, sender, nil)
	smsq.Budget, err = sms.NewBudget(s.limiter, sms.BudgetConfig{
		PerHour:           cfg.SMSBudget,
		PerCountryPerHour: cfg.SMSCountryBudget,
		Countries:         cfg.SMSCountries,
	})
	if err != nil {
		return fmt.Errorf("LINKBOX_SMS_COUNTRIES: %w", err)
	}
	hash := accounts.DefaultHashParams()
	if opt.Hash != nil {
		hash = *opt.Hash
	}
	s.Accounts, err = accounts.NewService(ctx, s.db, keys, smsq, accounts.Config{
		Issuer:          cfg.PublicURL,
		Algorithm:       cfg.JWTAlgorithm,
		AccessTTL:       cfg.AccessTokenTTL,
		Hash:            hash,
		HashConcurrency: cfg.HashConcurrency,
		Limiter:         s.limiter,
		Now:             opt.Now,
	}, s.log)
	if err != nil {
		return err
	}
	if s.broker, err = newBroker(ctx, s.db, cfg.DatabaseURL, s.log); err != nil {
		return err
	}
	s.Inbox = inbox.NewService(s.db, keys, s.broker, s.log, opt.Now)
	s.Inbox.StreamsPerUser, s.Inbox.StreamsPerIP = cfg.StreamsPerUser, cfg.StreamsPerIP
	// One webhook kind for every surface: its receivers are found by their
	// owner's id prefix, each surface answering for its own clients.
	s.endpoints = webhooks.ByPrefix{}
	s.webhooks = webhooks.NewQueue(s.outbox, &webhooks.Deliverer{Endpoints: s.endpoints, Now: opt.Now}, nil)
	s.Connect, err = connect.NewService(s.db, keys, s.Inbox, s.limiter, connect.Config{
		PublicURL: cfg.PublicURL, Now: opt.Now, Webhooks: s.webhooks, Outbox: s.outbox,
	}, s.log)
	if err != nil {
		return err
	}
	s.endpoints[connect.AppPrefix] = s.Connect
	s.Web, err = web.NewService(s.db, keys, s.Accounts, s.Connect, s.Inbox, web.Config{PublicURL: cfg.PublicURL, Now: opt.Now}, s.log)
	if err != nil {
		return err
	}
	if err := s.buildNumbers(cfg, keys, opt); err != nil {
		return err
	}
	if err := s.newDeviceLinks(cfg, keys, opt); err != nil {
		return err
	}
	// When accounts ends a user's sessions, their page sessions and event
	// streams end too; the inbox goes last, as its revocation asks.
	s.Accounts.AddRevoker(s.Web)
	s.Accounts.AddRevoker(s.Inbox)
	// A deleted account's rows that no cascade reaches, and the apps to
	// tell, are each surface's to erase.
	s.Accounts.AddEraser(s.Connect)
	s.Accounts.AddEraser(s.Numbers.Service)
	s.Accounts.AddEraser(s.Numbers.idem)
	s.measure()
	s.handler = s.routes(cfg)
	return nil
}

// measure has the metrics read the gauges of the services built.
func (s *Server) measure() {
	s.metrics.Streams(s.Inbox.OpenStreams)
	s.metrics.Pools(func() []metrics.Pool {
		var out []metrics.Pool
		for _, p := range s.db.Pools() {
			out = append(out, metrics.Pool{Name: p.Pool, InUse: p.InUse, Idle: p.Idle})
		}
		return out
	})
	s.metrics.Outbox(func(ctx context.Context) ([]metrics.Queue, error) {
		ds, err := s.outbox.Depths(ctx)
		out := make([]metrics.Queue, 0, len(ds))
		for _, d := range ds {
			out = append(out, metrics.Queue{Kind: d.Kind, Pending: d.Pending, Oldest: d.Oldest})
		}
		return out, err
	}, s.log)
}

// provider names who an outbox kind's messages go through, for the
// deliveries metric: the configured SMS provider for SMS, the kind itself
// (webhook, …) for the rest.
func provider(cfg config.Config, kind string) string {
	if kind == sms.Kind {
		return cfg.SMSProvider
	}
	return kind
}

// MetricsHandler serves GET /metrics; token, if set, must come as a bearer
// token.
func (s *Server) MetricsHandler(token string) http.Handler { return s.metrics.Handler(token) }

// newBroker carries live events within this process on SQLite and, through
// LISTEN/NOTIFY, across every instance sharing a PostgreSQL store.
func newBroker(ctx context.Context, d *db.DB, databaseURL string, log *slog.Logger) (realtime.Broker, error) {
	if d.Dialect == db.Postgres {
		return realtime.NewPostgres(ctx, databaseURL, log, realtime.WithChannel(notifyChannel(databaseURL)))
	}
	return realtime.NewMemory(), nil
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
// configured (limits shared by every instance; while Redis is down, this
// instance's own, in memory), else in memory. Refusals are counted in the
// metrics.
func (s *Server) newLimiter(cfg config.Config, now func() time.Time) (ratelimit.Limiter, error) {
	switch {
	case !cfg.RateLimits:
		return ratelimit.Unlimited{}, nil
	case cfg.RedisURL != "":
		o, err := ratelimit.ClientOptions(cfg.RedisURL) // 50 ms timeouts, no retries
		if err != nil {
			return nil, fmt.Errorf("LINKBOX_REDIS_URL: %w", err)
		}
		ratelimit.SetRedisLogger(s.log) // go-redis's lines into our log, not beside it
		s.redis = redis.NewClient(o)
		s.shared = ratelimit.NewResilient(ratelimit.NewRedis(s.redis, "linkbox:rl:"), ratelimit.NewMemory(now), s.log, now)
		return ratelimit.Observed(s.shared, s.metrics.Refused), nil
	}
	return ratelimit.Observed(ratelimit.NewMemory(now), s.metrics.Refused), nil
}

// sweepInterval is how often the services delete the rows no request will
// look at again: such rows wait at most this long past their time.
const sweepInterval = 10 * time.Minute

// sweep runs every service's Sweep at once, then every sweepInterval, until
// ctx ends. A failed sweep is logged; the next one takes up what it left.
func (s *Server) sweep(ctx context.Context) {
	sweeps := []func(context.Context) error{s.Accounts.Sweep, s.Connect.Sweep, s.Web.Sweep, s.Inbox.Sweep, s.DeviceLinks.Sweep, s.outbox.Sweep}
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		for _, sweep := range sweeps {
			if err := sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "sweep failed", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Handler is the whole HTTP surface.
func (s *Server) Handler() http.Handler { return s.handler }

// Close ends the open event streams, stops the background workers if
// started and closes the store.
func (s *Server) Close() error {
	s.Inbox.Close()
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	return s.closeStores()
}

func (s *Server) closeStores() error {
	var err error
	if s.redis != nil {
		err = s.redis.Close()
	}
	if c, ok := s.broker.(interface{ Close() }); ok {
		c.Close()
	}
	return errors.Join(err, s.db.Close())
}

// notifyChannel names the LISTEN/NOTIFY channel: notifications are shared by
// a whole database, so deployments kept apart by search_path (as the tests
// are) get a channel each.
func notifyChannel(databaseURL string) string {
	name := realtime.DefaultChannel
	u, err := url.Parse(databaseURL)
	if err != nil {
		return name
	}
	for _, r := range strings.ToLower(u.Query().Get("search_path")) {
		if len(name) >= 63 {
			break
		}
		if r == '_' || ('a' <= r && r <= 'z') || ('0' <= r && r <= '9') {
			if name == realtime.DefaultChannel {
				name += "_"
			}
			name += string(r)
		}
	}
	return name
}
