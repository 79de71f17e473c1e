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
		{"--store", "mysql"},
		{"--instances", "2"},
		{"--store", "sqlite", "--instances", "2"},
		{"--store", "postgres", "--instances", "3"},
		{"--store", "postgres", "--instances", "0"},
		{"--store", "postgres", "--sqlite-sync", "normal"},
		{"--postgres-url", "postgres://127.0.0.1/x"},
		{"--store", "postgres", "--postgres-url", "sqlite:x.db"},
		{"--url", "http://127.0.0.1:8080", "--database-url", "sqlite:x.db", "--store", "postgres"},
		{"--url", "http://127.0.0.1:8080", "--database-url", "postgres://127.0.0.1/x", "--instances", "2"},
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

func TestParseOptionsPostgres(t *testing.T) {
	o, err := parseOptions([]string{"--store", "postgres", "--instances", "2"}, io.Discard)
	if err != nil {
		t.Fatalf("parseOptions: %v", err)
	}
	if o.store != storePostgres || o.instances != 2 || o.postgresURL != defaultPostgresURL || !slices.Equal(o.syncs, []string{""}) {
		t.Errorf("--store postgres --instances 2: store %q, instances %d, postgres URL %q, syncs %q; want postgres, 2, the default, one run",
			o.store, o.instances, o.postgresURL, o.syncs)
	}
}
