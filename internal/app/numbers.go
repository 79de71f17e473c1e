package app

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/idempotency"
	"github.com/linkbox/linkbox/internal/numbers"
	"github.com/linkbox/linkbox/internal/numbers/smsactivate"
	"github.com/linkbox/linkbox/internal/secrets"
)

// numbersSurface is the Numbers API with the Idempotency-Key store its
// rents go through.
type numbersSurface struct {
	*numbers.Service
	idem *idempotency.Store
}

// buildNumbers builds the Numbers API, with the upstream SMS-Activate
// provider when LINKBOX_SMSACTIVATE_URL is set; the Accounts service must
// be built.
func (s *Server) buildNumbers(cfg config.Config, keys *secrets.Keyring, opt Options) error {
	var up *smsactivate.Client
	if cfg.SMSActivateURL != "" {
		var err error
		if up, err = smsactivate.New(cfg.SMSActivateURL, cfg.SMSActivateKey, nil); err != nil {
			return fmt.Errorf("LINKBOX_SMSACTIVATE_URL: %w", err)
		}
	}
	svc, err := numbers.NewService(s.db, s.Accounts, keys, s.Inbox, s.limiter, numbers.Config{
		CreditValue: cfg.NumbersCreditValue, FreeCredits: cfg.NumbersFreeCredits, Cooldown: cfg.NumbersCooldown, Now: opt.Now,
		Upstream: up, Markup: cfg.SMSActivateMarkup,
	}, s.log)
	if err != nil {
		return err
	}
	s.Numbers = numbersSurface{Service: svc, idem: idempotency.New(s.db, opt.Now, svc.RenderError)}
	return svc.Pages(s.Web.Kit)
}

// numbersRoutes registers the Numbers API.
func (s *Server) numbersRoutes(mux *http.ServeMux) {
	s.Numbers.Routes(mux, s.Numbers.idem.Middleware)
}

// run sweeps expired rentals (every few seconds) and old idempotency keys
// (hourly) until ctx ends.
func (s *Server) runNumbers(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { s.Numbers.Run(ctx) })
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := s.Numbers.idem.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "idempotency sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// numbersCommands are the Numbers surface's commands.
func numbersCommands() []command {
	return []command{
		{name: "prices set", summary: "set the price of a service in a country on an operator", define: pricesSet},
		{name: "prices list", summary: "list the prices, with the free numbers of each", define: pricesList},
		{name: "numbers add", summary: "add a number to the pool", define: numbersAdd},
		{name: "numbers import", summary: "add the numbers of a CSV file to the pool, all or none", define: numbersImport},
		{name: "numbers list", summary: "list the pool", define: numbersList},
		{name: "numbers remove", summary: "remove a free number from the pool", args: []string{"NUMBER"}, define: numbersRemove},
		{name: "gateways create", summary: "register an SMS Gateway for Android device; prints its webhook secret once", define: gatewaysCreate},
		{name: "gateways list", summary: "list the SMS gateways", define: gatewaysList},
		{name: "gateways remove", summary: "remove an SMS gateway (its numbers stay, without it)", args: []string{"ID"}, define: gatewaysRemove},
		{name: "users approve", summary: "let an account rent numbers (grants the free credits once)", define: usersApprove},
		{name: "credits grant", summary: "add credits to an account (negative: take back, never below zero)", define: creditsGrant},
		{name: "credits audit", summary: "check every balance against its ledger and the pool against the live rentals; exits 1 on a fault", define: creditsAudit},
		{name: "upstream balance", summary: "the balance of the upstream SMS-Activate account", define: upstreamBalance},
	}
}

func pricesSet(fs *flag.FlagSet) runFunc {
	service := fs.String("service", "", "the `service` (telegram, whatsapp, …; required)")
	country := fs.String("country", "", "ISO 3166 alpha-2 `code` (required)")
	operator := fs.String("operator", "", "the `operator` (required)")
	cost := fs.String("cost", "", "price of one activation, a `decimal` (required)")
	rent := fs.String("rent-cost-per-hour", "0", "price of an hour of rent, a `decimal`")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		c, err := numbers.ParseMoney(*cost)
		if err != nil || *cost == "" {
			return fmt.Errorf("--cost %q: want a decimal such as 0.05", *cost)
		}
		rc, err := numbers.ParseMoney(*rent)
		if err != nil {
			return fmt.Errorf("--rent-cost-per-hour: %w", err)
		}
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			p := numbers.Price{Service: *service, Country: strings.ToUpper(*country), Operator: *operator, Cost: c, RentPerHour: rc}
			if err := srv.Numbers.SetPrice(ctx, p); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"service": p.Service, "country": p.Country, "operator": p.Operator,
				"cost": numbers.FormatMoney(c), "rentCostPerHour": numbers.FormatMoney(rc)},
				[][2]string{{"price", p.Service + " " + p.Country + " " + p.Operator + " " + numbers.FormatMoney(c)}})
		})
	}
}

func pricesList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.Numbers.Prices(ctx, "", "", "")
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]map[string]any, 0, len(list))
				for _, p := range list {
					out = append(out, map[string]any{"service": p.Service, "country": p.Country, "operator": p.Operator,
						"cost": numbers.FormatMoney(p.Cost), "rentCostPerHour": numbers.FormatMoney(p.RentPerHour), "count": p.Count})
				}
				return printResult(e.stdout, true, map[string]any{"prices": out}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "SERVICE\tCOUNTRY\tOPERATOR\tCOST\tRENT/H\tFREE")
			for _, p := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", p.Service, p.Country, p.Operator, numbers.FormatMoney(p.Cost), numbers.FormatMoney(p.RentPerHour), p.Count)
			}
			return tw.Flush()
		})
	}
}

func numbersAdd(fs *flag.FlagSet) runFunc {
	number := fs.String("number", "", "the number in E.164, +… (required)")
	country := fs.String("country", "", "ISO 3166 alpha-2 `code` (required)")
	operator := fs.String("operator", "", "the `operator` (required)")
	services := fs.String("services", "", "comma-separated `services` it may be rented for")
	gateway := fs.String("gateway", "", "the SMS gateway `id` whose SIM holds it")
	sim := fs.Int("sim", 0, "the gateway's SIM slot `N` (1, 2, …)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			n, err := srv.Numbers.AddNumber(ctx, numbers.Number{Number: *number, Country: strings.ToUpper(*country), Operator: *operator,
				Services: strings.FieldsFunc(*services, func(r rune) bool { return r == ',' }), GatewayID: *gateway, SIM: *sim})
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": n.ID, "number": n.Number}, [][2]string{{"id", n.ID}, {"number", n.Number}})
		})
	}
}

func numbersList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.Numbers.ListNumbers(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]map[string]any, 0, len(list))
				for _, n := range list {
					out = append(out, map[string]any{"id": n.ID, "number": n.Number, "country": n.Country, "operator": n.Operator,
						"services": n.Services, "gateway": n.GatewayID, "sim": n.SIM, "rentalId": n.RentalID})
				}
				return printResult(e.stdout, true, map[string]any{"numbers": out}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNUMBER\tCOUNTRY\tOPERATOR\tSERVICES\tRENTAL")
			for _, n := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.ID, n.Number, n.Country, n.Operator, strings.Join(n.Services, ","), n.RentalID)
			}
			return tw.Flush()
		})
	}
}

func numbersRemove(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.Numbers.RemoveNumber(ctx, args[0]); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"number": args[0], "removed": true}, [][2]string{{"removed", args[0]}})
		})
	}
}

func usersApprove(fs *flag.FlagSet) runFunc {
	phone := fs.String("phone", "", "the account's `phone` in E.164 (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			a, err := srv.Numbers.Approve(ctx, *phone)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"userId": a.UserID, "isApproved": a.Approved, "credits": a.Credits},
				[][2]string{{"approved", a.UserID}, {"credits", fmt.Sprint(a.Credits)}})
		})
	}
}

func creditsGrant(fs *flag.FlagSet) runFunc {
	phone := fs.String("phone", "", "the account's `phone` in E.164 (required)")
	credits := fs.Int64("credits", 0, "credits to add; negative takes them back (required)")
	reason := fs.String("reason", "", "the `reason`, kept in the ledger (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			a, err := srv.Numbers.Grant(ctx, *phone, *credits, *reason)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"userId": a.UserID, "credits": a.Credits},
				[][2]string{{"account", a.UserID}, {"credits", fmt.Sprint(a.Credits)}})
		})
	}
}

func gatewaysCreate(fs *flag.FlagSet) runFunc {
	name := fs.String("name", "", "the gateway's `name` (required)")
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			g, secret, err := srv.Numbers.CreateGateway(ctx, *name)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"id": g.ID, "secret": secret},
				[][2]string{{"id", g.ID}, {"secret", secret + "   (shown once: set it as the app's webhook signing key)"}})
		})
	}
}

func gatewaysList(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			list, err := srv.Numbers.ListGateways(ctx)
			if err != nil {
				return err
			}
			if *asJSON {
				out := make([]map[string]string, 0, len(list))
				for _, g := range list {
					out = append(out, map[string]string{"id": g.ID, "name": g.Name, "createdAt": g.CreatedAt.Format(time.RFC3339)})
				}
				return printResult(e.stdout, true, map[string]any{"gateways": out}, nil)
			}
			tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tCREATED")
			for _, g := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", g.ID, g.Name, g.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		})
	}
}

func gatewaysRemove(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, args []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			if err := srv.Numbers.RemoveGateway(ctx, args[0]); err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]any{"id": args[0], "removed": true}, [][2]string{{"removed", args[0]}})
		})
	}
}

func upstreamBalance(fs *flag.FlagSet) runFunc {
	asJSON := fs.Bool("json", false, "print one JSON object")
	return func(ctx context.Context, e cmdEnv, _ []string) error {
		return withAdmin(ctx, e.raw, e.stderr, func(srv *Server) error {
			b, err := srv.Numbers.UpstreamBalance(ctx)
			if err != nil {
				return err
			}
			return printResult(e.stdout, *asJSON, map[string]string{"balance": numbers.FormatMoney(b)},
				[][2]string{{"balance", numbers.FormatMoney(b)}})
		})
	}
}
