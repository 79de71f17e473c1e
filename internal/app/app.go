// Package app wires Linkbox together: configuration, store, services and one
// http.Handler, and runs the command line.
package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/httpx"
)

// Run runs the command line args (without the program name) with the
// environment getenv, until ctx ends or, for serve, SIGINT or SIGTERM.
// A command line written wrong returns an error matching ErrUsage.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e := cmdEnv{raw: config.FromEnv(getenv), stdin: os.Stdin, stdout: stdout, stderr: stderr}
	return dispatch(ctx, commands(), args, e)
}

// newLogger makes the process's logger, adding the request id to each line
// logged with a request's context.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		opts.ReplaceAttr = millis
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpx.LogHandler{Handler: h})
}

// millis writes durations in JSON logs as milliseconds (a number, 1.25),
// which log tools sum and chart, not as slog's nanoseconds.
func millis(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.Float64(a.Key, float64(a.Value.Duration().Microseconds())/1000)
	}
	return a
}
