package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Scenario names, in the order they run by default.
const (
	scLinkStatus = "link-status"
	scOTPSend    = "otp-send"
	scOTPVerify  = "otp-verify"
	scNotifySend = "notify-send"
	scNotifySSE  = "notify-sse"
	scSSEIdle    = "sse-idle"
	scPrices     = "prices"
	scRent       = "rent"
)

var allScenarios = []string{scLinkStatus, scOTPSend, scOTPVerify, scNotifySend, scNotifySSE, scSSEIdle, scPrices, scRent}

// Stores the tool can start Linkbox on.
const (
	storeSQLite   = "sqlite"
	storePostgres = "postgres"
)

// defaultPostgresURL is the local server the tests use (trust auth).
const defaultPostgresURL = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// options are the command line's settings.
type options struct {
	url         string // Linkbox to drive; "" starts one
	databaseURL string // with url: its store, for the setup
	pid         int    // with url: its process, for resident memory
	duration    time.Duration
	hold        time.Duration
	concurrency int
	subscribers int
	idle        int
	rate        int
	json        bool
	scenarios   []string
	syncs       []string // LINKBOX_SQLITE_SYNC of each run; [""] with url or PostgreSQL
	store       string   // the store of the Linkbox started: storeSQLite or storePostgres
	postgresURL string   // with storePostgres: the server and database the run's schema goes in
	instances   int      // Linkbox processes started on the one store
	profile     string   // hidden: write Linkbox's CPU profile here
}

func parseOptions(args []string, stderr io.Writer) (options, error) {
	var o options
	var scenarios, syncs string
	fs := flag.NewFlagSet("linkbox-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.url, "url", "", "Linkbox base URL to drive (default: start one on a temporary SQLite store)")
	fs.StringVar(&o.databaseURL, "database-url", "", "with --url: that server's LINKBOX_DATABASE_URL, where the setup creates its app, users and links")
	fs.IntVar(&o.pid, "pid", 0, "with --url: that server's process id, for sse-idle's resident memory")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "time per scenario and server")
	fs.DurationVar(&o.hold, "hold", 10*time.Second, "sse-idle: how long the connections are held before counting drops")
	fs.IntVar(&o.concurrency, "concurrency", 32, "closed-loop clients of the request scenarios")
	fs.IntVar(&o.subscribers, "subscribers", 1000, "notify-sse: SSE subscribers, one per user (also the number of users)")
	fs.IntVar(&o.idle, "idle", 10000, "sse-idle: SSE connections held")
	fs.IntVar(&o.rate, "rate", 200, "notify-sse: notifications sent per second")
	fs.BoolVar(&o.json, "json", false, "print the results as JSON")
	fs.StringVar(&scenarios, "scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	fs.StringVar(&syncs, "sqlite-sync", "full", "LINKBOX_SQLITE_SYNC of the Linkbox started: full, normal, or both (full,normal), one whole run each")
	fs.StringVar(&o.store, "store", storeSQLite, "store of the Linkbox started: sqlite (a temporary file) or postgres (a schema of its own on --postgres-url, dropped afterwards)")
	fs.StringVar(&o.postgresURL, "postgres-url", defaultPostgresURL, "with --store postgres: the server and database the run's schema is created in")
	fs.IntVar(&o.instances, "instances", 1, "Linkbox processes started on the one store: 1, or 2 (--store postgres only; notify-sse then publishes on one and subscribes on the other)")
	fs.StringVar(&o.profile, "profile", "", "") // hidden: Linkbox CPU profile file
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.scenarios = strings.Split(scenarios, ",")
	o.syncs = strings.Split(syncs, ",")
	var errs []error
	fs.Visit(func(f *flag.Flag) {
		switch {
		case o.url != "" && slices.Contains([]string{"sqlite-sync", "store", "postgres-url", "instances"}, f.Name):
			errs = append(errs, fmt.Errorf("--%s works only on the server the tool starts", f.Name))
		case o.store == storePostgres && f.Name == "sqlite-sync":
			errs = append(errs, errors.New("--sqlite-sync works only with --store sqlite"))
		case o.store != storePostgres && f.Name == "postgres-url":
			errs = append(errs, errors.New("--postgres-url works only with --store postgres"))
		}
	})
	if o.url != "" || o.store == storePostgres {
		o.syncs = []string{""}
	}
	return o, errors.Join(append(errs, o.validate())...)
}

func (o options) validate() error {
	var errs []error
	for _, s := range o.scenarios {
		if !slices.Contains(allScenarios, s) {
			errs = append(errs, fmt.Errorf("--scenarios: unknown %q (want some of %s)", s, strings.Join(allScenarios, ",")))
		}
	}
	for _, s := range o.syncs {
		if s != "full" && s != "normal" && (s != "" || o.url == "" && o.store != storePostgres) {
			errs = append(errs, fmt.Errorf("--sqlite-sync: unknown %q (want full, normal or full,normal)", s))
		}
	}
	if o.store != storeSQLite && o.store != storePostgres {
		errs = append(errs, fmt.Errorf("--store: unknown %q (want sqlite or postgres)", o.store))
	}
	if o.instances != 1 && o.instances != 2 {
		errs = append(errs, fmt.Errorf("--instances: %d (want 1 or 2)", o.instances))
	}
	if _, err := schemaURL(o.postgresURL, "x"); o.store == storePostgres && err != nil {
		errs = append(errs, err)
	}
	if o.instances > 1 && o.store != storePostgres {
		errs = append(errs, errors.New("--instances 2 needs --store postgres: a SQLite store belongs to one process"))
	}
	if o.url != "" && o.databaseURL == "" {
		errs = append(errs, errors.New("--url needs --database-url: the setup writes its app, users and links to the server's store"))
	}
	if o.url != "" && o.profile != "" {
		errs = append(errs, errors.New("--profile works only on the server the tool starts"))
	}
	if o.duration <= 0 || o.hold <= 0 {
		errs = append(errs, errors.New("--duration and --hold must be positive"))
	}
	if o.concurrency < 1 || o.subscribers < 1 || o.idle < 1 || o.rate < 1 {
		errs = append(errs, errors.New("--concurrency, --subscribers, --idle and --rate must be at least 1"))
	}
	return errors.Join(errs...)
}
