// Package app wires Linkbox together: configuration, store, services and one
// http.Handler, and runs the command line.
package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/httpx"
)

const usage = `Usage: linkbox [command] [flags]

Commands:
  serve                 run the server (the default)
  migrate               apply database migrations and exit
  users create          create an account: --phone --password|--password-file --first-name --last-name --email [--username] [--role user|agent|admin] [--json]
                        (--password shows in ps to every user of the machine: prefer --password-file PATH, or - for standard input)
  users set-status      --phone E164 --status active|blocked|suspended [--json]
  keys rotate           start signing access tokens with a new key [--json]
  apps create           --name NAME --return-url URL [--return-url URL ...] [--otp-ttl 5m] [--json]
  apps list             [--json]
  apps rotate-key ID    new API key; the old one keeps working for 24 h [--json]
  apps delete ID

Configuration (environment variables; each is also a flag of serve):
`

// Run runs the command line args (without the program name) with the
// environment getenv, until ctx ends or, for serve, SIGINT or SIGTERM.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	raw := config.FromEnv(getenv)
	cmd, rest := command(args)
	switch cmd {
	case "serve":
		return serve(ctx, raw, rest, stderr)
	case "migrate":
		return migrate(ctx, raw, rest, stderr)
	case "users create":
		return usersCreate(ctx, raw, rest, os.Stdin, stdout, stderr)
	case "users set-status":
		return usersSetStatus(ctx, raw, rest, stdout, stderr)
	case "keys rotate":
		return keysRotate(ctx, raw, rest, stdout, stderr)
	case "apps create":
		return appsCreate(ctx, raw, rest, stdout, stderr)
	case "apps list":
		return appsList(ctx, raw, rest, stdout, stderr)
	case "apps rotate-key":
		return appsRotateKey(ctx, raw, rest, stdout, stderr)
	case "apps delete":
		return appsDelete(ctx, raw, rest, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage+config.Usage())
		return nil
	}
	fmt.Fprint(stderr, usage+config.Usage())
	return fmt.Errorf("unknown command %q", cmd)
}

// command splits args into the command's words and its flags.
func command(args []string) (string, []string) {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return "serve", args
	}
	switch args[0] {
	case "users", "keys", "apps":
		if len(args) < 2 {
			return args[0], nil
		}
		return args[0] + " " + args[1], args[2:]
	case "-h", "--help":
		return "help", nil
	}
	return args[0], args[1:]
}

// parse parses a command's flags; only serve binds the configuration flags,
// the admin commands read the environment.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// newLogger makes the process's logger, adding the request id to each line
// logged with a request's context.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(httpx.LogHandler{Handler: h})
}
