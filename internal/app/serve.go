package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/db"
)

// shutdownGrace is how long in-flight requests get to finish after SIGTERM.
const shutdownGrace = 20 * time.Second

func serve(ctx context.Context, raw config.Raw, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	raw.BindFlags(fs)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
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
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	log.Info("linkbox listening", "addr", ln.Addr().String(), "public_url", cfg.PublicURL, "store", srv.db.Dialect)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
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

func migrate(ctx context.Context, raw config.Raw, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
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
