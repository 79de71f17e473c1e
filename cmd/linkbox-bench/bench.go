package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/linkbox/linkbox/internal/config"
	"github.com/linkbox/linkbox/internal/secrets"
)

// scenarioFuncs run each scenario by name.
var scenarioFuncs = map[string]func(context.Context, *env) (result, error){
	scLinkStatus: linkStatus,
	scOTPSend:    otpSend,
	scOTPVerify:  otpVerify,
	scNotifySend: notifySend,
	scNotifySSE:  notifySSE,
	scSSEIdle:    sseIdle,
	scPrices:     prices,
	scRent:       rent,
}

// benchRun is one benchmark of Linkbox on one store.
type benchRun struct {
	Store     string   `json:"store,omitempty"` // storeSQLite or storePostgres; "" with --url: the server's own
	Instances int      `json:"instances"`       // Linkbox processes on the store
	Sync      string   `json:"sqlite_sync,omitempty"`
	WALMaxMiB float64  `json:"wal_max_mib"` // the largest -wal file seen; 0 if not SQLite
	Results   []result `json:"results"`
}

// label names the run in the report.
func (r benchRun) label() string {
	switch {
	case r.Store == "":
		return "--url"
	case r.Sync != "":
		return r.Store + " " + r.Sync
	case r.Instances > 1:
		return fmt.Sprintf("%s ×%d", r.Store, r.Instances)
	}
	return r.Store
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

// benchmarkOnce creates the store, starts the servers, prepares the data,
// runs the scenarios while watching the store's WAL. Every child is stopped
// on return, Ctrl-C included, and then a PostgreSQL schema dropped.
func benchmarkOnce(ctx context.Context, opt options, sync string, getenv func(string) string, stderr io.Writer) (run benchRun, err error) {
	run.Sync, run.Instances = sync, opt.instances
	if opt.url == "" {
		run.Store = opt.store
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	dir, err := os.MkdirTemp("", "linkbox-bench-")
	if err != nil {
		return run, err
	}
	defer os.RemoveAll(dir)
	st := store{url: "sqlite:" + filepath.Join(dir, "bench.db")}
	if run.Store == storePostgres {
		schema, serr := createSchema(ctx, opt.postgresURL)
		if serr != nil {
			return run, serr
		}
		defer func() { err = errors.Join(err, schema.drop()) }() // after the children stop
		st = store{url: schema.url, backends: schema.backends}
		fmt.Fprintf(stderr, "linkbox-bench: PostgreSQL schema %s, %d Linkbox instance(s)\n", schema.name, opt.instances)
	}
	var children []*child
	defer func() {
		for _, c := range children {
			c.stop()
		}
	}()
	if sync != "" {
		fmt.Fprintf(stderr, "linkbox-bench: LINKBOX_SQLITE_SYNC=%s\n", sync)
	}
	lbs, cs, err := startLinkbox(ctx, opt, sync, st, getenv, stderr)
	children = append(children, cs...)
	if err != nil {
		return run, err
	}
	wal := watchWAL(lbs.cfg.DatabaseURL)
	defer func() { run.WALMaxMiB = wal.stop() }()
	bare, c, err := startBare(ctx, opt, stderr)
	if c != nil {
		children = append(children, c)
	}
	if err != nil {
		return run, err
	}
	users := opt.subscribers * opt.instances // notify-sse: a set of subscribers per instance
	fmt.Fprintf(stderr, "linkbox-bench: setup: %d users linked to a bench app\n", users)
	fx, err := prepare(ctx, lbs.cfg, lbs.all, users, log)
	if err != nil {
		return run, err
	}
	e := &env{opt: opt, lb: lbs.all, a: lbs.a, b: lbs.b, bare: bare, fx: fx, cfg: lbs.cfg, log: log}
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

// store is the store of the Linkbox the tool starts.
type store struct {
	url      string                               // its LINKBOX_DATABASE_URL
	backends func(context.Context) ([]int, error) // PostgreSQL: the backends of its connections
}

// linkboxes are the Linkbox servers a run drives.
type linkboxes struct {
	all  *target       // every instance, taking the requests in turn
	a, b *target       // the first instance and the second; b is nil with one
	cfg  config.Config // the store, as the setup opens it
}

// startLinkbox starts opt.instances Linkbox children on st, with
// LINKBOX_SQLITE_SYNC=sync, or describes the one at --url. It returns the
// children started, also on error.
func startLinkbox(ctx context.Context, opt options, sync string, st store, getenv func(string) string, stderr io.Writer) (*linkboxes, []*child, error) {
	if opt.url != "" {
		raw := config.FromEnv(getenv)
		raw["LINKBOX_DATABASE_URL"] = opt.databaseURL
		cfg, err := raw.Parse()
		var pids []int
		if opt.pid != 0 {
			pids = []int{opt.pid}
		}
		t := newTarget("linkbox", []string{strings.TrimRight(opt.url, "/")}, pids, opt.concurrency*2)
		return &linkboxes{all: t, a: t, cfg: cfg}, nil, err
	}
	addrs := make([]string, opt.instances)
	for i := range addrs {
		addr, err := freeAddr()
		if err != nil {
			return nil, nil, err
		}
		addrs[i] = addr
	}
	vars := linkboxVars(st.url, sync, "http://"+addrs[0])
	cfg, err := config.FromEnv(func(k string) string { return vars[k] }).Parse()
	if err != nil {
		return nil, nil, err
	}
	var children []*child
	var instances []*target
	for i, addr := range addrs {
		t, c, err := startInstance(ctx, opt, i, addr, vars, stderr)
		if c != nil {
			children = append(children, c)
		}
		if err != nil {
			return nil, children, err
		}
		t.backends = st.backends
		instances = append(instances, t)
	}
	lbs := &linkboxes{all: instances[0], a: instances[0], cfg: cfg}
	if len(instances) > 1 {
		lbs.b = instances[1]
		lbs.all = newTarget("linkbox", slices.Concat(lbs.a.bases, lbs.b.bases), slices.Concat(lbs.a.pids, lbs.b.pids), opt.concurrency*2)
		lbs.all.backends = st.backends
	}
	return lbs, children, nil
}

// linkboxVars are the settings every Linkbox child shares.
func linkboxVars(databaseURL, sync, publicURL string) map[string]string {
	return map[string]string{
		"LINKBOX_DATABASE_URL": databaseURL,
		// One deployment has one public URL, the issuer of its access
		// tokens: that of the first instance.
		"LINKBOX_PUBLIC_URL":  publicURL,
		"LINKBOX_RATE_LIMITS": "off",
		"LINKBOX_LOG_LEVEL":   "warn",
		// Shared by the instances and the setup: keyed hashes and tokens
		// made by one must hold at the others.
		"LINKBOX_SECRET":       secrets.NewMaster(),
		"LINKBOX_SMS_PROVIDER": "console",
		"LINKBOX_SQLITE_SYNC":  sync,
		// Every stream comes from 127.0.0.1, and sse-idle holds ten or
		// more per user: the stream caps would refuse or close most.
		"LINKBOX_STREAMS_PER_USER": "0",
		"LINKBOX_STREAMS_PER_IP":   "0",
	}
}

// startInstance starts the i-th Linkbox child with vars on addr and waits
// until it is ready. Instances start one after the other, so that only the
// first migrates the store. With the hidden --profile P, the first writes its
// CPU profile to P, the others to P.1, P.2….
func startInstance(ctx context.Context, opt options, i int, addr string, shared map[string]string, stderr io.Writer) (*target, *child, error) {
	vars := maps.Clone(shared)
	vars["LINKBOX_LISTEN"] = addr
	if opt.profile != "" {
		vars[profileEnv] = opt.profile
		if i > 0 {
			vars[profileEnv] += "." + strconv.Itoa(i)
		}
	}
	name := "linkbox"
	if opt.instances > 1 {
		name += " " + string(rune('A'+i))
	}
	c, err := startChild(name, []string{serveLinkboxCmd}, childEnv(vars), stderr)
	if err != nil {
		return nil, nil, err
	}
	base := "http://" + addr
	return newTarget(name, []string{base}, []int{c.pid()}, opt.concurrency*2), c, waitReady(ctx, c, base)
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
	return newTarget("bare", []string{base}, []int{c.pid()}, opt.concurrency*2), c, waitReady(ctx, c, base)
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
