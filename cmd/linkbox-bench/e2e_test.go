package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"
)

// TestMain lets the test binary serve as the tool's children: the tool
// re-executes its own binary with a hidden first argument.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && (os.Args[1] == serveLinkboxCmd || os.Args[1] == serveBareCmd) {
		if err := run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "linkbox-bench child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// report decodes the tool's --json output.
type jsonReport struct {
	Runs []benchRun `json:"runs"`
}

// lockedBuffer is a stderr that the tool and its children's copying
// goroutines can write to at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestTwoInstances runs the tool briefly on two Linkbox instances over a
// fresh PostgreSQL schema: notifications published on A reach streams on B
// and on A, each measured, the requests' CPU is that of both processes, and
// the schema is gone afterwards.
func TestTwoInstances(t *testing.T) {
	server := testPostgresURL(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := []string{"--store", "postgres", "--postgres-url", server, "--instances", "2", "--json",
		"--scenarios", "notify-send,notify-sse", "--duration", "1s", "--subscribers", "10", "--rate", "20", "--concurrency", "4"}
	var stdout bytes.Buffer
	var stderr lockedBuffer
	if err := run(ctx, args, os.Getenv, &stdout, &stderr); err != nil {
		t.Fatalf("run: %v\n%s", err, stderr.String())
	}
	var rep jsonReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || len(rep.Runs) != 1 || len(rep.Runs[0].Results) != 2 {
		t.Fatalf("report %s: %v; want one run of two results", stdout.String(), err)
	}
	r := rep.Runs[0]
	if r.Store != storePostgres || r.Instances != 2 {
		t.Errorf("run: store %q, instances %d; want postgres, 2", r.Store, r.Instances)
	}
	send, sse := r.Results[0], r.Results[1]
	if send.Linkbox.Ops == 0 || send.Linkbox.Failed != 0 || send.Linkbox.CPUPerOpUs == 0 {
		t.Errorf("notify-send: %+v; want operations, none failed, CPU measured", send.Linkbox)
	}
	if sse.Single == nil || sse.Linkbox.Ops == 0 || sse.Single.Ops == 0 || sse.Linkbox.Failed != 0 || sse.Single.Failed != 0 {
		t.Fatalf("notify-sse: cross %+v, single %+v; want events received on B and on A, none lost", sse.Linkbox, sse.Single)
	}
	if want := sse.Linkbox.P99Ms / sse.Single.P99Ms; sse.CrossRatio != want {
		t.Errorf("cross ratio %v, want %v", sse.CrossRatio, want)
	}
	m := regexp.MustCompile(`PostgreSQL schema (linkbox_bench_[0-9a-f]+)`).FindStringSubmatch(stderr.String())
	if m == nil {
		t.Fatalf("no schema named in %s", stderr.String())
	}
	if schemaExists(t, server, m[1]) {
		t.Errorf("schema %s left behind", m[1])
	}
}
