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
	if o.duration != 10*time.Second || o.concurrency != 32 || o.subscribers != 1000 || o.idle != 10000 || !slices.Equal(o.scenarios, allScenarios) {
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
		{"extra"},
		{"--bogus"},
	} {
		if _, err := parseOptions(args, io.Discard); err == nil {
			t.Errorf("parseOptions(%q): no error, want one", args)
		}
	}
}
