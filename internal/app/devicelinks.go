package app

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/devicelinks"
	"github.com/linkbox/linkbox/internal/secrets"
)

// newDeviceLinks builds the Device links surface, its pages on the web kit;
// the suppliers' webhooks ("sup_…" owners) are answered by the surface.
func (s *Server) newDeviceLinks(cfg config.Config, keys *secrets.Keyring, opt Options) (err error) {
	s.DeviceLinks, err = devicelinks.NewService(s.db, keys, s.limiter, s.outbox, s.webhooks, devicelinks.Config{PublicURL: cfg.PublicURL, Now: opt.Now}, s.log)
	if err != nil {
		return err
	}
	s.endpoints[devicelinks.SupplierPrefix] = s.DeviceLinks
	return s.DeviceLinks.Pages(s.Web.Kit)
}

// deviceLinksCommands are the Device links surface's commands.
func deviceLinksCommands() []command {
	return []command{
		{name: "suppliers create", summary: "register an energy supplier; prints its API key once", define: suppliersCreate},
		{name: "suppliers list", summary: "list the suppliers", define: suppliersList},
		{name: "suppliers rotate-key", summary: "give a supplier a new API key; the old one keeps working for 24 h", args: []string{"ID"}, define: suppliersRotateKey},
		{name: "suppliers delete", summary: "delete a supplier, its keys, sessions and mappings", args: []string{"ID"}, define: suppliersDelete},
		{name: "suppliers set-webhook", summary: "set a supplier's webhook URL; prints its new whsec_ secret once", args: []string{"ID"}, define: suppliersSetWebhook},
		{name: "suppliers set-login-url", summary: "set a supplier's OAuth login page (manufacturer-started links)", args: []string{"ID"}, define: suppliersSetLoginURL},
		{name: "manufacturers add", summary: "register a device manufacturer (an OAuth2 provider)", define: manufacturersAdd},
		{name: "manufacturers list", summary: "list the manufacturers", define: manufacturersList},
		{name: "manufacturers remove", summary: "remove a manufacturer and the mappings to its devices", args: []string{"ID"}, define: manufacturersRemove},
		{name: "manufacturers create-key", summary: "give a manufacturer a new API key; prints it once", args: []string{"ID"}, define: manufacturersCreateKey},
	}
}

func suppliersCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the supplier's `name` (required)")
	var uris listFlag
	fs.Var(&uris, "redirect-uri", "a redirect `URI` link sessions may return to: https, or http on localhost/127.0.0.1 (repeatable, required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			sup, key, err := srv.DeviceLinks.CreateSupplier(ctx, *name, uris)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": sup.ID, "name": sup.Name, "api_key": key},
				[][2]string{{"id", sup.ID}, {"name", sup.Name}, {"api_key", key + "   (shown once: keep it now)"}})
		})
	}
}

func suppliersList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.DeviceLinks.ListSuppliers(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]map[string]any, 0, len(list))
				for _, s := range list {
					out = append(out, map[string]any{"id": s.ID, "name": s.Name, "redirect_uris": s.RedirectURIs,
						"webhook_url": s.WebhookURL, "login_url": s.LoginURL})
				}
				return printResult(e.stdout, true, map[string]any{"suppliers": out}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tWEBHOOK\tLOGIN URL\tREDIRECT URIS")
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Name, s.WebhookURL, s.LoginURL, strings.Join(s.RedirectURIs, " "))
			}
			return tw.Flush()
		})
	}
}

func suppliersRotateKey(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			key, err := srv.DeviceLinks.RotateSupplierKey(ctx, args[0])
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": args[0], "api_key": key},
				[][2]string{{"id", args[0]}, {"api_key", key + "   (shown once; the old key works for 24 more hours)"}})
		})
	}
}

func suppliersDelete(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.DeviceLinks.DeleteSupplier(ctx, args[0]); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": args[0], "deleted": true}, [][2]string{{"deleted", args[0]}})
		})
	}
}

func suppliersSetWebhook(fs *flag.FlagSet) runFunc {
	target := fs.String("url", "", "the webhook `URL` (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			secret, err := srv.DeviceLinks.SetWebhook(ctx, args[0], *target)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": args[0], "url": *target, "secret": secret},
				[][2]string{{"id", args[0]}, {"url", *target}, {"secret", secret + "   (shown once: keep it now)"}})
		})
	}
}

func suppliersSetLoginURL(fs *flag.FlagSet) runFunc {
	target := fs.String("url", "", "the supplier's OAuth login page `URL` (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.DeviceLinks.SetLoginURL(ctx, args[0], *target); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": args[0], "login_url": *target},
				[][2]string{{"id", args[0]}, {"login_url", *target}})
		})
	}
}

func manufacturersAdd(fs *flag.FlagSet) runFunc {
	var nm devicelinks.NewManufacturer
	fs.StringVar(&nm.Brand, "id", "", "the manufacturer's `ID`, named in redirects as manufacturer (required)")
	fs.StringVar(&nm.Name, "name", "", "the brand `name` shown on the connect page (required)")
	fs.StringVar(&nm.AuthorizeURL, "authorize-url", "", "its OAuth2 authorize `URL` (required)")
	fs.StringVar(&nm.TokenURL, "token-url", "", "its OAuth2 token `URL` (required)")
	fs.StringVar(&nm.ClientID, "client-id", "", "Linkbox's OAuth2 client `ID` there (required)")
	fs.StringVar(&nm.ClientSecret, "client-secret", "", "Linkbox's OAuth2 client `secret` there (required; sealed at rest)")
	scopes := fs.String("scopes", "", "the OAuth2 `scopes` to ask, comma separated")
	fs.StringVar(&nm.DevicesURL, "devices-url", "", "the `URL` listing the user's devices; without it the OAuth subject is the device")
	fs.StringVar(&nm.SettingsURL, "settings-url", "", "the `URL` settings are PUT to")
	fs.StringVar(&nm.LogoURL, "logo", "", "the brand's logo `URL`")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		for _, sc := range strings.Split(*scopes, ",") {
			if sc = strings.TrimSpace(sc); sc != "" {
				nm.Scopes = append(nm.Scopes, sc)
			}
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			m, key, err := srv.DeviceLinks.AddManufacturer(ctx, nm)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": m.Brand, "client_id": m.ID, "name": m.Name, "api_key": key},
				[][2]string{{"id", m.Brand}, {"client_id", m.ID}, {"name", m.Name}, {"api_key", key + "   (shown once: keep it now)"}})
		})
	}
}

func manufacturersList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.DeviceLinks.ListManufacturers(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]map[string]any, 0, len(list))
				for _, m := range list {
					out = append(out, map[string]any{"id": m.Brand, "client_id": m.ID, "name": m.Name, "authorize_url": m.AuthorizeURL,
						"token_url": m.TokenURL, "devices_url": m.DevicesURL, "settings_url": m.SettingsURL, "scopes": m.Scopes, "logo": m.LogoURL})
				}
				return printResult(e.stdout, true, map[string]any{"manufacturers": out}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tAUTHORIZE URL\tDEVICES URL")
			for _, m := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Brand, m.Name, m.AuthorizeURL, m.DevicesURL)
			}
			return tw.Flush()
		})
	}
}

func manufacturersRemove(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.DeviceLinks.RemoveManufacturer(ctx, args[0]); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": args[0], "removed": true}, [][2]string{{"removed", args[0]}})
		})
	}
}

func manufacturersCreateKey(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			key, err := srv.DeviceLinks.CreateManufacturerKey(ctx, args[0])
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": args[0], "api_key": key},
				[][2]string{{"id", args[0]}, {"api_key", key + "   (shown once; the old key works for 24 more hours)"}})
		})
	}
}
