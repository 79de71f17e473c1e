// Command linkbox-bench drives Linkbox's hot paths — link status, OTP send,
// OTP verify, notification send, notification to SSE receipt, idle SSE
// connections — and, in the same run and alternating with it, a bare
// net/http baseline it runs itself, then prints per scenario ops/s, CPU per
// operation, p50, p99, the worst latency and the ratio to the baseline,
// next to the targets of issues 7 and 13, and the largest size of the
// store's write-ahead log. --sqlite-sync full,normal runs it all once per
// durability setting and compares the two.
//
// Without --url it starts Linkbox with rate limits off, as a process of its
// own (the tool re-executes itself), so that CPU time and resident memory
// are read from /proc of the server, never of the tool: on a temporary
// SQLite store, or with --store postgres on a schema of its own created on
// --postgres-url and dropped afterwards. --instances 2 starts two processes
// on that schema: the request scenarios take them in turn, notify-sse
// publishes on the first and reads on the second, and beside it on the
// first (the same run gives the cross-instance ratio). With --url it drives
// that server instead and needs --database-url (and, if the server has one,
// LINKBOX_SECRET in the environment) to create its app, users and links
// directly in the server's store; --pid names the server's process for the
// memory figures. The bare baseline always runs locally.
//
//	go run ./cmd/linkbox-bench --duration 5s
//	go run ./cmd/linkbox-bench --store postgres --instances 2
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/linkbox/linkbox/internal/app"
)

// The hidden first arguments that make the tool's own binary a server.
const (
	serveLinkboxCmd = "__serve-linkbox"
	serveBareCmd    = "__serve-bare"
)

func main() {
	if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "linkbox-bench:", err)
		os.Exit(1)
	}
}

// run is the whole program: a server child when args start with a hidden
// command, else the benchmark.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := raiseNoFile(); err != nil {
		fmt.Fprintln(stderr, "linkbox-bench: warning:", err)
	}
	if len(args) > 0 {
		switch args[0] {
		case serveLinkboxCmd:
			return serveLinkbox(ctx, getenv, stdout, stderr)
		case serveBareCmd:
			return serveBare(ctx, args[1:])
		}
	}
	opt, err := parseOptions(args, stderr)
	if err != nil {
		return err
	}
	return benchmark(ctx, opt, getenv, stdout, stderr)
}

// serveLinkbox runs "linkbox serve", profiling its CPU to
// LINKBOX_BENCH_CPUPROFILE when set (the hidden --profile flag).
func serveLinkbox(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	stopProfile, err := startProfile(getenv(profileEnv))
	if err != nil {
		return err
	}
	defer stopProfile()
	return app.Run(ctx, []string{"serve"}, getenv, stdout, stderr)
}
