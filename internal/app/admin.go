package app

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/config"
)

// withAdmin runs a one-shot command on the services, closing them after;
// logs go to stderr at warning level so the command's own output stays
// readable.
func withAdmin(ctx context.Context, raw config.Raw, stderr io.Writer, fn func(*Server) error) error {
	cfg, err := raw.Parse()
	if err != nil {
		return err
	}
	cfg.LogLevel = max(cfg.LogLevel, slog.LevelWarn)
	srv, err := New(ctx, cfg, newLogger(cfg, stderr), Options{})
	if err != nil {
		return err
	}
	defer srv.Close()
	return fn(srv)
}

// printResult writes v as one JSON object, or as a two-column table.
func printResult(w io.Writer, asJSON bool, v any, rows [][2]string) error {
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\n", r[0], r[1])
	}
	return tw.Flush()
}

func userRows(u accounts.User) [][2]string {
	return [][2]string{
		{"id", u.ID}, {"phone", u.Phone}, {"name", u.FirstName + " " + u.LastName}, {"email", u.Email},
		{"username", u.Username}, {"role", u.Role}, {"status", u.Status}, {"created_at", u.CreatedAt.UTC().Format(time.RFC3339)},
	}
}

func usersCreate(ctx context.Context, raw config.Raw, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users create", flag.ContinueOnError)
	var nu accounts.NewUser
	fs.StringVar(&nu.Phone, "phone", "", "phone number, E.164 (required)")
	fs.StringVar(&nu.Password, "password", "", "password, 8-128 characters (this or --password-file; other users see it in ps)")
	passwordFile := fs.String("password-file", "", "read the password from the first line of this file, or of standard input for -")
	fs.StringVar(&nu.FirstName, "first-name", "", "first name (required)")
	fs.StringVar(&nu.LastName, "last-name", "", "last name (required)")
	fs.StringVar(&nu.Email, "email", "", "email address (required)")
	fs.StringVar(&nu.Username, "username", "", "username (optional)")
	fs.StringVar(&nu.Role, "role", "user", "user, agent or admin")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	if *passwordFile != "" {
		if nu.Password != "" {
			return errors.New("users create: give --password or --password-file, not both")
		}
		var err error
		if nu.Password, err = firstLine(*passwordFile, stdin); err != nil {
			return fmt.Errorf("users create: --password-file: %w", err)
		}
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		u, err := srv.Accounts.CreateUser(ctx, nu)
		if err != nil {
			return err
		}
		return printResult(stdout, *asJSON, accounts.FullUser(u), userRows(u))
	})
}

// firstLine reads a secret from the first line of the file at path, or of
// stdin when path is "-": given as a flag, it would show in ps to every
// user of the machine.
func firstLine(path string, stdin io.Reader) (string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	}
	line, err := bufio.NewReader(io.LimitReader(r, 64<<10)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", fmt.Errorf("%s: the first line is empty", path)
	}
	return line, nil
}

func usersSetStatus(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("users set-status", flag.ContinueOnError)
	phone := fs.String("phone", "", "phone number, E.164 (required)")
	status := fs.String("status", "", "active, blocked or suspended (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		u, err := srv.Accounts.SetStatus(ctx, *phone, *status)
		if err != nil {
			return err
		}
		return printResult(stdout, *asJSON, accounts.FullUser(u), userRows(u))
	})
}

func keysRotate(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("keys rotate", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		kid, err := srv.Accounts.RotateKey(ctx)
		if err != nil {
			return err
		}
		return printResult(stdout, *asJSON, map[string]string{"kid": kid}, [][2]string{{"kid", kid}})
	})
}
