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

// accountsCommands are the Accounts surface's commands.
func accountsCommands() []command {
	return []command{
		{name: "users create", summary: "create an active, verified account (--password-file keeps the password out of ps)", define: usersCreate},
		{name: "users list", summary: "list the accounts, oldest first", define: usersList},
		{name: "users delete", summary: "erase an account: its inbox, links, sessions, rentals and credits", define: usersDelete},
		{name: "users set-status", summary: "set an account's status; blocking or suspending ends its sessions", define: usersSetStatus},
		{name: "keys rotate", summary: "sign access tokens with a new key; old keys verify until their tokens expire", define: keysRotate},
	}
}

func usersCreate(fs *flag.FlagSet) runFunc {
	var nu accounts.NewUser
	fs.StringVar(&nu.Phone, "phone", "", "the `E164` phone number: + and digits (required)")
	fs.StringVar(&nu.Password, "password", "", "the `password`, 8-128 characters (this or --password-file; other users see it in ps)")
	passwordFile := fs.String("password-file", "", "read the password from the first line of the file at `PATH`, or of standard input for -")
	fs.StringVar(&nu.FirstName, "first-name", "", "the first `name` (required)")
	fs.StringVar(&nu.LastName, "last-name", "", "the last `name` (required)")
	fs.StringVar(&nu.Email, "email", "", "the `email` address (required)")
	fs.StringVar(&nu.Username, "username", "", "a `username` (optional)")
	fs.StringVar(&nu.Role, "role", "user", "the `role`: user, agent or admin")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		if *passwordFile != "" {
			if nu.Password != "" {
				return errors.New("users create: give --password or --password-file, not both")
			}
			var err error
			if nu.Password, err = firstLine(*passwordFile, e.stdin); err != nil {
				return fmt.Errorf("users create: --password-file: %w", err)
			}
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			u, err := srv.Accounts.CreateUser(ctx, nu)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, accounts.FullUser(u), userRows(u))
		})
	}
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

func usersSetStatus(fs *flag.FlagSet) runFunc {
	phone := fs.String("phone", "", "the `E164` phone number: + and digits (required)")
	status := fs.String("status", "", "the `status`: active, blocked or suspended (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			u, err := srv.Accounts.SetStatus(ctx, *phone, *status)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, accounts.FullUser(u), userRows(u))
		})
	}
}

// listPage is how many accounts users list reads per query.
const listPage = 500

func usersList(fs *flag.FlagSet) runFunc {
	status := fs.String("status", "", "only accounts of this `status`: pending, active, blocked or suspended")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			var tw *tabwriter.Writer
			if !*asJSON {
				tw = tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintln(tw, "ID\tPHONE\tNAME\tEMAIL\tROLE\tSTATUS\tCREATED")
			}
			all := []any{}
			for after := ""; ; {
				page, err := srv.Accounts.ListUsers(ctx, *status, after, listPage)
				if err != nil {
					return err
				}
				for _, u := range page {
					if tw != nil {
						fmt.Fprintf(tw, "%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", u.ID, u.Phone, u.FirstName, u.LastName, u.Email, u.Role, u.Status,
							u.CreatedAt.UTC().Format(time.RFC3339))
					} else {
						all = append(all, accounts.FullUser(u))
					}
				}
				if len(page) < listPage {
					break
				}
				after = page[len(page)-1].ID
			}
			if tw != nil {
				return tw.Flush()
			}
			return printResult(e.stdout, true, map[string]any{"users": all}, nil)
		})
	}
}

func usersDelete(fs *flag.FlagSet) runFunc {
	phone := fs.String("phone", "", "the account's `E164` phone number (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			u, err := srv.Accounts.UserByPhone(ctx, *phone)
			if err != nil {
				return err
			}
			if err := srv.Accounts.DeleteUser(ctx, u.ID); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": u.ID, "deleted": true}, [][2]string{{"deleted", u.ID}})
		})
	}
}

func keysRotate(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			kid, err := srv.Accounts.RotateKey(ctx)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"kid": kid}, [][2]string{{"kid", kid}})
		})
	}
}
