package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/linkbox/linkbox/internal/accounts"
	"github.com/linkbox/linkbox/internal/app"
	"github.com/linkbox/linkbox/internal/config"
)

// benchReturnURL is the bench app's only return URL (http is allowed on
// localhost).
const benchReturnURL = "http://localhost/linkbox-bench"

// setupWorkers bounds the setup's concurrent requests and transactions.
const setupWorkers = 8

// cheapHash makes creating a thousand accounts take a second, not minutes;
// no scenario logs in with a password.
var cheapHash = accounts.HashParams{Memory: 64, Iterations: 1, Parallelism: 1, SaltLen: 16, KeyLen: 32}

// benchUser is an account linked to the bench app.
type benchUser struct {
	phone string
	ext   string // the app's user_id
	id    string // the Linkbox account
	token string // a Bearer access token of the account
}

// fixture is what the scenarios work with.
type fixture struct {
	apiKey string
	users  []benchUser
}

func (f *fixture) apiHeader() http.Header {
	return http.Header{"Content-Type": {"application/json"}, "X-Api-Key": {f.apiKey}}
}

// prepare creates, in Linkbox's store, an app, n accounts and their access
// tokens, and links each account to the app through the API (for the link
// token) and the hosted page's service call (for the approval).
func prepare(ctx context.Context, cfg config.Config, lb *target, n int, log *slog.Logger) (*fixture, error) {
	srv, err := app.New(ctx, cfg, log, app.Options{Hash: &cheapHash})
	if err != nil {
		return nil, fmt.Errorf("setup: open the store: %w", err)
	}
	defer srv.Close()
	_, key, err := srv.Connect.CreateApp(ctx, "linkbox-bench", []string{benchReturnURL}, 0)
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	fx := &fixture{apiKey: key, users: make([]benchUser, n)}
	run := rand.Uint32N(1 << 20) // keeps repeated runs on one store apart
	err = parallel(ctx, n, setupWorkers, func(ctx context.Context, i int) error {
		u, err := newBenchUser(ctx, srv, lb, fx, run, i)
		fx.users[i] = u
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("setup: %w", err)
	}
	return fx, nil
}

func newBenchUser(ctx context.Context, srv *app.Server, lb *target, fx *fixture, run uint32, i int) (benchUser, error) {
	seq := int(run)*setupSpan + i
	acc, err := srv.Accounts.CreateUser(ctx, accounts.NewUser{
		Phone:     benchPhone(seq),
		Password:  "bench-password",
		FirstName: "Bench",
		LastName:  fmt.Sprintf("User %d", i),
		Email:     fmt.Sprintf("bench-%d@example.com", seq),
	})
	if err != nil {
		return benchUser{}, fmt.Errorf("create account %d: %w", i, err)
	}
	u := benchUser{phone: acc.Phone, ext: fmt.Sprintf("bench-%d", seq), id: acc.ID}
	pair, err := srv.Accounts.IssueSession(ctx, u.id)
	if err != nil {
		return u, fmt.Errorf("session of account %d: %w", i, err)
	}
	u.token = pair.AccessToken
	return u, link(ctx, srv, lb, fx, u)
}

// setupSpan is how many accounts one run may create.
const setupSpan = 1 << 20

// benchPhone returns a valid, distinct New York number for each seq below
// 8,000,000 (exchanges 200–999, lines 0000–9999).
func benchPhone(seq int) string {
	seq %= 8_000_000
	return fmt.Sprintf("+1212%03d%04d", 200+seq/10000, seq%10000)
}

// link links u to the app: the API hands out the linking URL, whose token the
// hosted page's service approves for u.
func link(ctx context.Context, srv *app.Server, lb *target, fx *fixture, u benchUser) error {
	body, err := json.Marshal(bareBody{UserID: u.ext, ReturnURL: benchReturnURL})
	if err != nil {
		return err
	}
	b, err := lb.do(ctx, http.MethodPost, "/api/link-account", body, fx.apiHeader())
	if err != nil {
		return fmt.Errorf("link %s: %w", u.ext, err)
	}
	var ans struct {
		Linked bool   `json:"linked"`
		URL    string `json:"url"`
	}
	if err := json.Unmarshal(b, &ans); err != nil || ans.Linked {
		return fmt.Errorf("link %s: unexpected answer %.200q", u.ext, b)
	}
	_, token, ok := strings.Cut(ans.URL, "/linking/")
	if !ok {
		return fmt.Errorf("link %s: no token in %q", u.ext, ans.URL)
	}
	if _, err := srv.Connect.ApproveLink(ctx, token, u.id); err != nil {
		return fmt.Errorf("approve link of %s: %w", u.ext, err)
	}
	return nil
}

// parallel runs fn for 0..n-1 on workers goroutines and returns the first
// error, after which the remaining indexes are skipped.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
