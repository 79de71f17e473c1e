package main

import (
	"io"
	"slices"
	"testing"
	"time"
)

func TestParseOptionsDefaults(t *testing.T) {
	o, err := parseOptions(nil, io.Discard)
	if err != nil {
		t.Fatalf("parseOptions: %v", err)
	}
	if o.duration != 10*time.Second || o.concurrency != 32 || o.subscribers != 1000 || o.idle != 10000 || !slices.Equal(o.scenarios, allScenarios) ||
		!slices.Equal(o.syncs, []string{"full"}) {
		t.Errorf("defaults = %+v", o)
	}
}

func TestParseOptionsBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"--scenarios", "link-status,nope"},
		{"--url", "http://127.0.0.1:8080"},
		{"--url", "http://127.0.0.1:8080", "--database-url", "sqlite:x.db", "--profile", "cpu.out"},
		{"--duration", "0s"},
		{"--hold", "-1s"},
		{"--concurrency", "0"},
		{"--subscribers", "0"},
		{"--idle", "0"},
		{"--rate", "0"},
		{"--sqlite-sync", "off"},
		{"--sqlite-sync", "full,"},
		{"--url", "http://127.0.0.1:8080", "--database-url", "sqlite:x.db", "--sqlite-sync", "normal"},
		{"extra"},
		{"--bogus"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q): no error, want one", args)
		}
	}
}

func TestParseOptionsSyncs(t *testing.T) {
	o, err := parseOptions([]string{"--sqlite-sync", "full,normal"}, io.Discard)
	if err != nil || !slices.Equal(o.syncs, []string{"full", "normal"}) {
		t.Errorf("--sqlite-sync full,normal: syncs %q, err %v; want one run each", o.syncs, err)
	}
	o, err = parseOptions([]string{"--url", "http://127.0.0.1:8080", "--database-url", "sqlite:x.db"}, io.Discard)
	if err != nil || !slices.Equal(o.syncs, []string{""}) {
		t.Errorf("--url: syncs %q, err %v; want one run, the server's own", o.syncs, err)
	}
}
