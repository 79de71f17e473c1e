package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/numbers"
)

// The Numbers catalog the scenarios use: one price among a few, so that the
// prices answer has some shape, and one service the rents take.
const (
	benchService  = "benchsvc"
	benchCountry  = "US"
	benchOperator = "benchnet"
	benchCredits  = 1_000_000_000 // each user's grant: no rent runs short
)

// catalog are the prices set before the Numbers scenarios; the first is the
// one rented.
var catalog = []numbers.Price{
	{Service: benchService, Country: benchCountry, Operator: benchOperator, Cost: 500}, // 0.0005: one credit
	{Service: "telegram", Country: "US", Operator: "verizon", Cost: 50_000},
	{Service: "telegram", Country: "GB", Operator: "ee", Cost: 80_000},
	{Service: "whatsapp", Country: "US", Operator: "att", Cost: 60_000},
	{Service: "whatsapp", Country: "DE", Operator: "telekom", Cost: 70_000},
}

// prepareNumbers sets the catalog and approves every bench user with
// credits, once per run.
func prepareNumbers(ctx context.Context, e *env) error {
	if e.numbersReady {
		return nil
	}
	err := e.admin(ctx, func(srv *app.Server) error {
		for _, p := range catalog {
			if err := srv.Numbers.SetPrice(ctx, p); err != nil {
				return err
			}
		}
		return parallel(ctx, len(e.fx.users), setupWorkers, func(ctx context.Context, i int) error {
			u := e.fx.users[i]
			if _, err := srv.Numbers.Approve(ctx, u.phone); err != nil {
				return fmt.Errorf("approve %s: %w", u.phone, err)
			}
			_, err := srv.Numbers.Grant(ctx, u.phone, benchCredits, "linkbox-bench")
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("numbers setup: %w", err)
	}
	e.numbersReady = true
	return nil
}

// admin runs fn on services over Linkbox's store, as the admin commands do.
func (e *env) admin(ctx context.Context, fn func(*app.Server) error) error {
	srv, err := app.New(ctx, e.cfg, e.log, app.Options{Hash: &cheapHash})
	if err != nil {
		return err
	}
	defer srv.Close()
	return fn(srv)
}

// prices: GET /api/public/prices, the whole catalog, with its free counts.
func prices(ctx context.Context, e *env) (result, error) {
	if err := prepareNumbers(ctx, e); err != nil {
		return result{}, err
	}
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		path, want := "/api/public/prices", `"`+benchService+`"`
		if !e.isLinkbox(t) {
			path, want = bareJSONPath, `"success":true`
		}
		return closedLoop(ctx, t, e.opt.concurrency, d, func(ctx context.Context, _ int) error {
			b, err := t.do(ctx, http.MethodGet, path, nil, nil)
			return expect(b, err, want)
		}), nil
	})
	r := throughput(scPrices, "≥ 60 % of bare ops/s", lb, bare)
	r.Met = verdict(r.Linkbox.Failed == 0 && r.Ratio >= 0.60)
	return r, err
}

// rentRate guesses Linkbox's rents per second before the first turn has
// measured it: the pool is sized from it.
const rentRate = 4000

// rent: POST /api/internal/rent by random users, each taking a number of a
// pool refilled before every turn with more than the turn can rent. Then
// the store is audited: every balance is its ledger's sum, and no number
// is held by two live rentals.
func rent(ctx context.Context, e *env) (result, error) {
	if err := prepareNumbers(ctx, e); err != nil {
		return result{}, err
	}
	body := []byte(`{"service":"` + benchService + `","country":"` + benchCountry + `"}`)
	rate, turn := float64(rentRate), 0
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		if !e.isLinkbox(t) {
			return closedLoop(ctx, t, e.opt.concurrency, d, e.post(t, "", "", func() ([]byte, error) { return body, nil })), nil
		}
		turn++
		if err := e.fillPool(ctx, turn, int(rate*d.Seconds()*1.5)+1000); err != nil {
			return sample{}, err
		}
		s := closedLoop(ctx, t, e.opt.concurrency, d, func(ctx context.Context, _ int) error {
			hdr := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + e.randomUser().token}}
			b, err := t.do(ctx, http.MethodPost, "/api/internal/rent", body, hdr)
			return expect(b, err, `"success":true`)
		})
		if s.elapsed > 0 {
			rate = max(rate, float64(len(s.lat))/s.elapsed.Seconds())
		}
		return s, nil
	})
	r := throughput(scRent, "≥ 1,000 ops/s; ledger and pool sound", lb, bare)
	if err != nil {
		return r, err
	}
	var a numbers.Audit
	err = e.admin(ctx, func(srv *app.Server) error {
		var err error
		a, err = srv.Numbers.Check(ctx)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("audit: %w", err)
	}
	r.Note = fmt.Sprintf("audit: %d live rentals, %d numbers held twice; %d accounts, %d off their ledger", a.Rentals, len(a.DoubleRented), a.Accounts, len(a.Unbalanced))
	r.Met = verdict(r.Linkbox.Failed == 0 && r.Linkbox.OpsPerSec >= 1000 && a.Sound() && a.Rentals == r.Linkbox.Ops)
	return r, nil
}

// fillPool adds n numbers serving the bench service to the pool, distinct
// from every earlier turn's.
func (e *env) fillPool(ctx context.Context, turn, n int) error {
	const batch = 2000
	return e.admin(ctx, func(srv *app.Server) error {
		return parallel(ctx, (n+batch-1)/batch, 2, func(ctx context.Context, b int) error {
			list := make([]numbers.Number, 0, batch)
			for i := b * batch; i < min(n, (b+1)*batch); i++ {
				list = append(list, numbers.Number{Number: benchNumber(turn, i), Country: benchCountry, Operator: benchOperator,
					Services: []string{benchService}})
			}
			_, err := srv.Numbers.AddNumbers(ctx, list)
			return err
		})
	})
}

// benchNumber is the i-th number of a turn: +1 646 then seven digits, the
// first from 2 (a valid exchange), the turn in the lead.
func benchNumber(turn, i int) string {
	return fmt.Sprintf("+1646%07d", 2_000_000+turn*500_000+i)
}
