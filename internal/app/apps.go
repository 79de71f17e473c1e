package app

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/linkbox/linkbox/internal/connect"
)

// listFlag collects a repeated flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// connectCommands are the Connect surface's commands.
func connectCommands() []command {
	return []command{
		{name: "apps create", summary: "register an app; prints its API key once", define: appsCreate},
		{name: "apps list", summary: "list the apps", define: appsList},
		{name: "apps update", summary: "change an app's name, return URLs or OTP lifetime; its keys and links stay", args: []string{"ID"}, define: appsUpdate},
		{name: "apps set-webhook", summary: "set where the app's webhooks go (link.approved, link.denied, link.unlinked, otp.expired_unverified); prints its whsec_ secret once", args: []string{"ID"}, define: appsSetWebhook},
		{name: "apps rotate-key", summary: "give an app a new API key; the old one keeps working for 24 h", args: []string{"ID"}, define: appsRotateKey},
		{name: "apps delete", summary: "delete an app, its keys and its links", args: []string{"ID"}, define: appsDelete},
	}
}

func appsCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the app's `name`, shown to users on the linking page (required)")
	var returnURLs listFlag
	fs.Var(&returnURLs, "return-url", "a return `URL` the app may send users back to; a prefix when it ends in / (repeatable, required)")
	ttl := fs.Duration("otp-ttl", 5*time.Minute, "how long the app's one-time codes live (30s to 1h)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			a, key, err := srv.Connect.CreateApp(ctx, *name, returnURLs, *ttl)
			if err != nil {
				return err
			}
			out := map[string]string{"id": a.ID, "name": a.Name, "api_key": key}
			return printResult(e.stdout, *asJSON, out, [][2]string{{"id", a.ID}, {"name", a.Name}, {"api_key", key + "   (shown once: keep it now)"}})
		})
	}
}

func appsList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			apps, err := srv.Connect.ListApps(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				list := make([]map[string]any, 0, len(apps))
				for _, a := range apps {
					list = append(list, map[string]any{"id": a.ID, "name": a.Name, "return_urls": a.ReturnURLs,
						"otp_ttl": a.OTPTTL.String(), "webhook_url": a.WebhookURL, "created_at": a.CreatedAt.UTC().Format(time.RFC3339)})
				}
				return printResult(e.stdout, true, map[string]any{"apps": list}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tOTP TTL\tCREATED\tRETURN URLS")
			for _, a := range apps {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.OTPTTL, a.CreatedAt.UTC().Format(time.RFC3339), strings.Join(a.ReturnURLs, " "))
			}
			return tw.Flush()
		})
	}
}

func appsUpdate(fs *flag.FlagSet) runFunc {
	var u connect.AppUpdate
	fs.StringVar(&u.Name, "name", "", "the app's new `name`")
	var returnURLs listFlag
	fs.Var(&returnURLs, "return-url", "a return `URL`, exact or a prefix ending in / (repeatable; the list given replaces the app's)")
	fs.DurationVar(&u.OTPTTL, "otp-ttl", 0, "how long the app's new one-time codes live (30s to 1h)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		u.ReturnURLs = returnURLs
		if u.Name == "" && len(u.ReturnURLs) == 0 && u.OTPTTL == 0 {
			return fmt.Errorf("%w: apps update: nothing to change: give --name, --return-url or --otp-ttl", ErrUsage)
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			a, err := srv.Connect.UpdateApp(ctx, args[0], u)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": a.ID, "name": a.Name, "return_urls": a.ReturnURLs, "otp_ttl": a.OTPTTL.String()},
				[][2]string{{"id", a.ID}, {"name", a.Name}, {"return_urls", strings.Join(a.ReturnURLs, " ")}, {"otp_ttl", a.OTPTTL.String()}})
		})
	}
}

func appsSetWebhook(fs *flag.FlagSet) runFunc {
	target := fs.String("url", "", "the receiver's `URL`: https, or http on localhost; '' removes the webhook (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		given := false
		fs.Visit(func(f *flag.Flag) { given = given || f.Name == "url" })
		if !given {
			return fmt.Errorf("%w: apps set-webhook: --url is required ('' removes the webhook)", ErrUsage)
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			secret, err := srv.Connect.SetWebhook(ctx, args[0], *target)
			if err != nil {
				return err
			}
			if *target == "" {
				return printResult(e.stdout, *asJSON, map[string]any{"id": args[0], "url": ""}, [][2]string{{"id", args[0]}, {"webhook", "removed"}})
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": args[0], "url": *target, "secret": secret},
				[][2]string{{"id", args[0]}, {"url", *target}, {"secret", secret + "   (shown once: keep it now)"}})
		})
	}
}

func appsRotateKey(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		id := args[0]
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			key, err := srv.Connect.RotateAppKey(ctx, id)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": id, "api_key": key},
				[][2]string{{"id", id}, {"api_key", key + "   (shown once; the old key works for 24 more hours)"}})
		})
	}
}

func appsDelete(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		id := args[0]
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.Connect.DeleteApp(ctx, id); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": id, "deleted": true}, [][2]string{{"deleted", id}})
		})
	}
}
