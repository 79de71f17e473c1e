package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"time"

	"golang.org/x/net/netutil"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/db"
)

// shutdownGrace is how long in-flight requests get to finish after SIGTERM.
const shutdownGrace = 20 * time.Second

func serve(ctx context.Context, raw config.Raw, stderr io.Writer) error {
	cfg, err := raw.Parse()
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	srv, err := New(ctx, cfg, log, Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ln, maxConns := limitConns(ln, openFileLimit())
	srv.Start(ctx)
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second, // streams lift it per request
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10, // 431 beyond; net/http's default, 1 MiB, is held per connection
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Event streams are taken over from net/http, so Shutdown would not
	// wait for them, nor end them: the inbox ends them as shutdown begins,
	// and their clients reconnect to an instance that is not stopping.
	hs.RegisterOnShutdown(srv.Inbox.Close)
	errc := make(chan error, 2)
	ms, err := serveMetrics(cfg, srv, log, errc)
	if err != nil {
		return err
	}
	go func() { errc <- hs.Serve(ln) }()
	log.Info("linkbox listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "store", srv.db.Dialect,
		"sms_provider", cfg.SMSProvider, "redis", redisState(cfg), "rate_limits", cfg.RateLimits,
		"sms_budget", cfg.SMSBudget, "sms_country_budget", cfg.SMSCountryBudget, "max_conns", maxConns,
		"metrics", metricsState(cfg, ms))
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if ms != nil {
		ms.Close()
	}
	log.Info("shutting down: waiting for requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// serveMetrics serves GET /metrics on LINKBOX_METRICS_LISTEN, if set, with
// no token: that listener is meant for a private address (127.0.0.1:9090,
// the scraper's network). Serve's error goes to errc.
func serveMetrics(cfg config.Config, srv *Server, log *slog.Logger, errc chan<- error) (*http.Server, error) {
	if cfg.MetricsListen == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsListen)
	if err != nil {
		return nil, fmt.Errorf("LINKBOX_METRICS_LISTEN: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", srv.MetricsHandler(""))
	ms := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, WriteTimeout: 30 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() {
		if err := ms.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("metrics listener: %w", err)
		}
	}()
	return ms, nil
}

// metricsState says where /metrics is served, for the start-up line.
func metricsState(cfg config.Config, ms *http.Server) string {
	switch {
	case ms != nil && cfg.MetricsToken != "":
		return cfg.MetricsListen + " and the main listener (bearer token)"
	case ms != nil:
		return cfg.MetricsListen
	case cfg.MetricsToken != "":
		return "main listener (bearer token)"
	}
	return "off"
}

// connReserve is how many open files the listener leaves to the rest of
// the process: the store (PostgreSQL's pool holds up to 4 connections per
// CPU, at least 16; SQLite 5 connections, each with its database and WAL
// files open), Redis (go-redis pools 10 connections per CPU), the LISTEN
// connection, outgoing HTTP (SMS providers, webhooks), backups and logs.
func connReserve() int { return 256 + 14*runtime.GOMAXPROCS(0) }

// limitConns bounds the connections ln holds open at once below limit,
// the open-file limit (0: unknown), and returns the bound (0: none). Beyond
// it, new connections wait in the kernel's backlog, instead of every open —
// the store's, Redis's, the next connection's — failing with "too many open
// files" (seen with 20,000 event streams). At least half the limit goes to
// connections.
func limitConns(ln net.Listener, limit int) (net.Listener, int) {
	if limit == 0 {
		return ln, 0
	}
	n := max(limit-connReserve(), limit/2)
	return netutil.LimitListener(ln, n), n
}

func migrate(ctx context.Context, raw config.Raw, stderr io.Writer) error {
	cfg, err := raw.Parse()
	if err != nil {
		return err
	}
	d, err := db.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Migrate(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "migrations applied")
	return nil
}

// redisState says in the start-up line whether limits are shared through
// Redis: the host it was given, never its password.
func redisState(cfg config.Config) string {
	if cfg.RedisURL == "" {
		return "none"
	}
	if u, err := url.Parse(cfg.RedisURL); err == nil && u.Host != "" {
		return u.Host
	}
	return "configured"
}
