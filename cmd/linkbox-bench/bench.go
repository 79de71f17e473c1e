package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/secrets"
)

// scenarioFuncs run each scenario by name.
var scenarioFuncs = map[string]func(context.Context, *env) (result, error){
	scLinkStatus: linkStatus,
	scOTPSend:    otpSend,
	scOTPVerify:  otpVerify,
	scNotifySSE:  notifySSE,
	scSSEIdle:    sseIdle,
}

// benchRun is one benchmark of a Linkbox with one SQLite sync setting.
type benchRun struct {
	Sync      string   `json:"sqlite_sync,omitempty"` // "" with --url: the server's own
	WALMaxMiB float64  `json:"wal_max_mib"`           // the largest -wal file seen; 0 if not SQLite
	Results   []result `json:"results"`
}

// benchmark runs the benchmark once per --sqlite-sync setting, each on
// fresh servers and a fresh store, and reports them together.
func benchmark(ctx context.Context, opt options, getenv func(string) string, stdout, stderr io.Writer) error {
	var runs []benchRun
	for _, sync := range opt.syncs {
		r, err := benchmarkOnce(ctx, opt, sync, getenv, stderr)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	return report(stdout, opt, machineInfo(), runs)
}

// benchmarkOnce starts the servers, prepares the data, runs the scenarios
// while watching the store's WAL. Every child is stopped on return, Ctrl-C
// included.
func benchmarkOnce(ctx context.Context, opt options, sync string, getenv func(string) string, stderr io.Writer) (run benchRun, err error) {
	run.Sync = sync
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "linkbox-bench-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	if sync != "" {
		fmt.Fprintf(stderr, "linkbox-bench: LINKBOX_SQLITE_SYNC=%s\n", sync)
	}
	lb, cfg, c, err := startLinkbox(ctx, opt, sync, getenv, dir, stderr)
	if c != nil {
		children = append(children, c)
	}
	if err != nil {
		return run, err
	}
	wal := watchWAL(cfg.DatabaseURL)
	defer func() { run.WALMaxMiB = wal.stop() }()
	bare, c, err := startBare(ctx, opt, stderr)
	if c != nil {
		children = append(children, c)
	}
	if err != nil {
		return run, err
	}
	fmt.Fprintf(stderr, "linkbox-bench: setup: %d users linked to a bench app\n", opt.subscribers)
	fx, err := prepare(ctx, cfg, lb, opt.subscribers, log)
	if err != nil {
		return run, err
	}
	e := &env{opt: opt, lb: lb, bare: bare, fx: fx}
	for _, name := range opt.scenarios {
		fmt.Fprintf(stderr, "linkbox-bench: %s\n", name)
		wal.take() // the peak of this scenario alone
		r, err := scenarioFuncs[name](ctx, e)
		if ctx.Err() != nil {
			return run, ctx.Err()
		}
		if err != nil {
			r.Scenario, r.Met, r.Note = name, verdict(false), "error: "+err.Error()
		}
		r.WALMaxMiB = wal.take()
		run.Results = append(run.Results, r)
	}
	return run, nil
}

// startLinkbox starts Linkbox as a child on a temporary SQLite store with
// LINKBOX_SQLITE_SYNC=sync, or describes the one at --url, and returns the
// configuration the setup opens its store with.
func startLinkbox(ctx context.Context, opt options, sync string, getenv func(string) string, dir string, stderr io.Writer) (*target, config.Config, *child, error) {
	if opt.url != "" {
		raw := config.FromEnv(getenv)
		raw["LINKBOX_DATABASE_URL"] = opt.databaseURL
		cfg, err := raw.Parse()
		return newTarget("linkbox", strings.TrimRight(opt.url, "/"), opt.pid, opt.concurrency*2), cfg, nil, err
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, config.Config{}, nil, err
	}
	vars := map[string]string{
		"LINKBOX_DATABASE_URL": "sqlite:" + filepath.Join(dir, "bench.db"),
		"LINKBOX_LISTEN":       addr,
		"LINKBOX_PUBLIC_URL":   "http://" + addr,
		"LINKBOX_RATE_LIMITS":  "off",
		"LINKBOX_LOG_LEVEL":    "warn",
		"LINKBOX_SECRET":       secrets.NewMaster(), // shared by the server and the setup
		"LINKBOX_SMS_PROVIDER": "console",
		"LINKBOX_SQLITE_SYNC":  sync,
		// Every stream comes from 127.0.0.1, and sse-idle holds ten or
		// more per user: the stream caps would refuse or close most.
		"LINKBOX_STREAMS_PER_USER": "0",
		"LINKBOX_STREAMS_PER_IP":   "0",
	}
	if opt.profile != "" {
		vars[profileEnv] = opt.profile
	}
	cfg, err := config.FromEnv(func(k string) string { return vars[k] }).Parse()
	if err != nil {
		return nil, cfg, nil, err
	}
	c, err := startChild("linkbox", []string{serveLinkboxCmd}, childEnv(vars), stderr)
	if err != nil {
		return nil, cfg, nil, err
	}
	base := "http://" + addr
	return newTarget("linkbox", base, c.pid(), opt.concurrency*2), cfg, c, waitReady(ctx, c, base)
}

// startBare starts the bare baseline as a child.
func startBare(ctx context.Context, opt options, stderr io.Writer) (*target, *child, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	c, err := startChild("bare", []string{serveBareCmd, "--listen", addr}, childEnv(nil), stderr)
	if err != nil {
		return nil, nil, err
	}
	base := "http://" + addr
	return newTarget("bare", base, c.pid(), opt.concurrency*2), c, waitReady(ctx, c, base)
}

// childEnv is the tool's environment without its LINKBOX_ settings, plus
// vars: the child must see this run's store, not the caller's.
func childEnv(vars map[string]string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LINKBOX_") {
			env = append(env, kv)
		}
	}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	return env
}

// throughput makes the result of a request scenario, its ratio of ops/s.
func throughput(name, tgt string, lb, bare sample) result {
	r := result{Scenario: name, Target: tgt, Linkbox: summarize(lb), Bare: summarize(bare), RatioOf: "ops/s"}
	r.Ratio = ratio(r.Linkbox.OpsPerSec, r.Bare.OpsPerSec)
	return r
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func verdict(ok bool) *bool { return &ok }
