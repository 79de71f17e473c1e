package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/linkbox/linkbox/internal/config"
)

// rounds is how many turns each server takes in a scenario, alternating,
// so that drift of the machine (heat, other load) touches both alike.
const rounds = 2

// env is what the scenarios run against. The request scenarios send to lb,
// which takes every instance in turn; sse-idle holds its streams on a.
type env struct {
	opt      options
	lb, bare *target
	a, b     *target // Linkbox's first instance and its second (nil with one)
	fx       *fixture
	sendRate float64 // Linkbox's measured OTP sends/s, once known: sizes the verify pool
	nonce    atomic.Uint64
	// cfg and log open Linkbox's store in this process, for a scenario's
	// own setup and checks; numbersReady says the Numbers setup ran.
	cfg          config.Config
	log          *slog.Logger
	numbersReady bool
}

// result is one scenario's figures for both servers.
type result struct {
	Scenario    string     `json:"scenario"`
	Target      string     `json:"target"`
	Linkbox     stats      `json:"linkbox"`
	Bare        stats      `json:"bare"`
	LinkboxIdle *idleStats `json:"linkbox_idle,omitempty"`
	BareIdle    *idleStats `json:"bare_idle,omitempty"`
	RatioOf     string     `json:"ratio_of"` // what Ratio divides: "ops/s", "p99" or "rss"
	Ratio       float64    `json:"ratio"`    // Linkbox / bare
	Met         *bool      `json:"met"`      // null when the scenario has no target
	Note        string     `json:"note,omitempty"`
	WALMaxMiB   float64    `json:"wal_max_mib"` // Linkbox's largest -wal file in the scenario
	// Single is notify-sse's figure with publisher and subscribers on one
	// instance, measured beside Linkbox's cross-instance one when there are
	// two; CrossRatio is the cross-instance p99 over Single's.
	Single     *stats  `json:"linkbox_single,omitempty"`
	CrossRatio float64 `json:"cross_ratio,omitempty"`
}

// phase runs one timed turn of a scenario against t.
type phase func(ctx context.Context, t *target, d time.Duration) (sample, error)

// alternate gives Linkbox and bare rounds turns each, Linkbox first.
func alternate(ctx context.Context, e *env, p phase) (lb, bare sample, err error) {
	s, err := turns(ctx, e, []leg{
		{e.lb.name, func(ctx context.Context, d time.Duration) (sample, error) { return p(ctx, e.lb, d) }},
		{e.bare.name, func(ctx context.Context, d time.Duration) (sample, error) { return p(ctx, e.bare, d) }},
	})
	return s[0], s[1], err
}

// leg is one of the things a scenario measures in turn.
type leg struct {
	name string
	run  func(ctx context.Context, d time.Duration) (sample, error)
}

// turns gives each leg rounds turns, in order, and returns what each
// measured.
func turns(ctx context.Context, e *env, legs []leg) ([]sample, error) {
	d := e.opt.duration / rounds
	out := make([]sample, len(legs))
	for range rounds {
		for i, l := range legs {
			s, err := l.run(ctx, d)
			if err != nil {
				return out, fmt.Errorf("%s: %w", l.name, err)
			}
			out[i].add(s)
		}
	}
	return out, nil
}

func (e *env) isLinkbox(t *target) bool { return t != e.bare }

// post is a closed-loop op sending body() to path (Linkbox) or to the bare
// JSON handler, expecting want in Linkbox's answer. body's error (such as
// errExhausted) ends the op unsent.
func (e *env) post(t *target, path, want string, body func() ([]byte, error)) func(context.Context, int) error {
	hdr := e.fx.apiHeader()
	if !e.isLinkbox(t) {
		path, want = bareJSONPath, `"success":true`
	}
	return func(ctx context.Context, _ int) error {
		req, err := body()
		if err != nil {
			return err
		}
		b, err := t.do(ctx, http.MethodPost, path, req, hdr)
		return expect(b, err, want)
	}
}

func (e *env) randomUser() benchUser { return e.fx.users[rand.IntN(len(e.fx.users))] }

func mustJSON(v bareBody) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("encode a request body: %v", err)) // strings always encode
	}
	return b
}

// linkStatus: POST /api/link-account for linked users.
func linkStatus(ctx context.Context, e *env) (result, error) {
	bodies := make([][]byte, len(e.fx.users))
	for i, u := range e.fx.users {
		bodies[i] = mustJSON(bareBody{UserID: u.ext, ReturnURL: benchReturnURL})
	}
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		op := e.post(t, "/api/link-account", `"linked":true`, func() ([]byte, error) { return bodies[rand.IntN(len(bodies))], nil })
		return closedLoop(ctx, t, e.opt.concurrency, d, op), nil
	})
	r := throughput(scLinkStatus, "≥ 60 % of bare ops/s", lb, bare)
	r.Met = verdict(r.Linkbox.Failed == 0 && r.Ratio >= 0.60)
	return r, err
}

// otpSend: POST /api/otp, each to a random user with a new reference.
func otpSend(ctx context.Context, e *env) (result, error) {
	var n atomic.Int64
	body := func() ([]byte, error) {
		return mustJSON(bareBody{UserID: e.randomUser().ext, Reference: fmt.Sprintf("send-%d", n.Add(1)), Message: "Your bench code"}), nil
	}
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		return closedLoop(ctx, t, e.opt.concurrency, d, e.post(t, "/api/otp", `"success":true`, body)), nil
	})
	r := throughput(scOTPSend, "≥ 5,000 ops/s", lb, bare)
	r.Met = verdict(r.Linkbox.Failed == 0 && r.Linkbox.OpsPerSec >= 5000)
	e.sendRate = r.Linkbox.OpsPerSec
	return r, err
}

// notifySend: POST /api/notification, each to a random user, none of whom
// has a stream open: what a notification costs to store and announce.
func notifySend(ctx context.Context, e *env) (result, error) {
	var n atomic.Int64
	body := func() ([]byte, error) {
		return mustJSON(bareBody{UserID: e.randomUser().ext, Message: fmt.Sprintf("Linkbox bench notification %d", n.Add(1))}), nil
	}
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		return closedLoop(ctx, t, e.opt.concurrency, d, e.post(t, "/api/notification", `"success":true`, body)), nil
	})
	r := throughput(scNotifySend, "≥ 2,000 ops/s", lb, bare)
	r.Met = verdict(r.Linkbox.Failed == 0 && r.Linkbox.OpsPerSec >= 2000)
	return r, err
}

// otpVerify: POST /api/otp/verify with codes sent and read from the inbox
// before each timed turn.
func otpVerify(ctx context.Context, e *env) (result, error) {
	var round atomic.Int64
	lb, bare, err := alternate(ctx, e, func(ctx context.Context, t *target, d time.Duration) (sample, error) {
		if !e.isLinkbox(t) {
			body := mustJSON(bareBody{UserID: e.fx.users[0].ext, Reference: "verify", Code: "123456"})
			return closedLoop(ctx, t, e.opt.concurrency, d, e.post(t, "", "", func() ([]byte, error) { return body, nil })), nil
		}
		pool, err := makePool(ctx, e, int(round.Add(1)), e.poolSize(d))
		if err != nil {
			return sample{}, err
		}
		var next atomic.Int64
		return closedLoop(ctx, t, e.opt.concurrency, d, e.post(t, "/api/otp/verify", `"success":true`, func() ([]byte, error) {
			i := int(next.Add(1) - 1)
			if i >= len(pool) {
				return nil, errExhausted
			}
			return pool[i], nil
		})), nil
	})
	return throughput(scOTPVerify, "—", lb, bare), err
}
