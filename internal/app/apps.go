package app

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkbox/linkbox/internal/config"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func appsCreate(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apps create", flag.ContinueOnError)
	name := fs.String("name", "", "the app's name, shown to users on the linking page (required)")
	var returnURLs listFlag
	fs.Var(&returnURLs, "return-url", "a return URL the app may send users back to; a prefix when it ends in / (repeatable, required)")
	ttl := fs.Duration("otp-ttl", 5*time.Minute, "how long the app's one-time codes live (30s to 1h)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		a, key, err := srv.Connect.CreateApp(ctx, *name, returnURLs, *ttl)
		if err != nil {
			return err
		}
		out := map[string]string{"id": a.ID, "name": a.Name, "api_key": key}
		return printResult(stdout, *asJSON, out, [][2]string{{"id", a.ID}, {"name", a.Name}, {"api_key", key + "   (shown once: keep it now)"}})
	})
}

func appsList(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("apps list", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := parse(fs, args, stderr); err != nil {
		return err
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		apps, err := srv.Connect.ListApps(ctx)
		if err != nil {
			return err
		}
		if *asJSON {
			list := make([]map[string]any, 0, len(apps))
			for _, a := range apps {
				list = append(list, map[string]any{"id": a.ID, "name": a.Name, "return_urls": a.ReturnURLs,
					"otp_ttl": a.OTPTTL.String(), "created_at": a.CreatedAt.UTC().Format(time.RFC3339)})
			}
			return printResult(stdout, true, map[string]any{"apps": list}, nil)
		}
		tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tOTP TTL\tCREATED\tRETURN URLS")
		for _, a := range apps {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.OTPTTL, a.CreatedAt.UTC().Format(time.RFC3339), strings.Join(a.ReturnURLs, " "))
		}
		return tw.Flush()
	})
}

// appByID runs a command that takes one app id, with its flags (--json)
// before or after the id.
func appByID(ctx context.Context, raw config.Raw, name string, args []string, stderr io.Writer, fn func(srv *Server, id string, asJSON bool) error) error {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print one JSON object")
	if err := fs.Parse(args); err != nil {
		return err
	}
	id := fs.Arg(0)
	if err := fs.Parse(fs.Args()[min(1, fs.NArg()):]); err != nil {
		return err
	}
	if id == "" || fs.NArg() != 0 {
		return fmt.Errorf("%s: want exactly one app id", name)
	}
	return withAdmin(ctx, raw, stderr, func(srv *Server) error {
		return fn(srv, id, *asJSON)
	})
}

func appsRotateKey(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	return appByID(ctx, raw, "apps rotate-key", args, stderr, func(srv *Server, id string, asJSON bool) error {
		key, err := srv.Connect.RotateAppKey(ctx, id)
		if err != nil {
			return err
		}
		return printResult(stdout, asJSON, map[string]string{"id": id, "api_key": key},
			[][2]string{{"id", id}, {"api_key", key + "   (shown once; the old key works for 24 more hours)"}})
	})
}

func appsDelete(ctx context.Context, raw config.Raw, args []string, stdout, stderr io.Writer) error {
	return appByID(ctx, raw, "apps delete", args, stderr, func(srv *Server, id string, asJSON bool) error {
		if err := srv.Connect.DeleteApp(ctx, id); err != nil {
			return err
		}
		return printResult(stdout, asJSON, map[string]any{"id": id, "deleted": true}, [][2]string{{"deleted", id}})
	})
}
