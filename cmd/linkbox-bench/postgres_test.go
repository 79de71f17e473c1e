package main

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/dbtest"
)

// testPostgresURL returns the test server, skipping t without one.
func testPostgresURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(dbtest.EnvURL)
	if u == "" {
		t.Skip(dbtest.EnvURL + " is not set")
	}
	return u
}

func schemaExists(t *testing.T, serverURL, name string) bool {
	t.Helper()
	db, err := sql.Open("pgx", serverURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow("SELECT count(*) FROM pg_namespace WHERE nspname = $1", name).Scan(&n); err != nil {
		t.Fatalf("look for schema %s: %v", name, err)
	}
	return n == 1
}

// TestSchemaLifecycle: the run's schema exists once created, its URL puts
// connections in it under its name, which finds their backends, and drop
// removes it with what it holds.
func TestSchemaLifecycle(t *testing.T) {
	server := testPostgresURL(t)
	ctx := context.Background()
	s, err := createSchema(ctx, server)
	if err != nil {
		t.Fatalf("createSchema: %v", err)
	}
	dropped := false
	t.Cleanup(func() { // a failure below must not leave the schema behind
		if !dropped {
			_ = s.drop()
		}
	})
	if !schemaExists(t, server, s.name) {
		t.Fatalf("schema %s not created", s.name)
	}
	conn, err := sql.Open("pgx", s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Exec("CREATE TABLE kept (x int)"); err != nil {
		t.Fatal(err)
	}
	var path string
	if err := conn.QueryRow("SELECT current_schema()").Scan(&path); err != nil || path != s.name {
		t.Fatalf("current_schema through the run's URL = %q, %v; want %q", path, err, s.name)
	}
	var pid int
	if err := conn.QueryRow("SELECT pg_backend_pid()").Scan(&pid); err != nil {
		t.Fatal(err)
	}
	pids, err := s.backends(ctx)
	if err != nil || !slices.Contains(pids, pid) {
		t.Errorf("backends = %v, %v; want them to hold %d", pids, err, pid)
	}
	conn.Close()
	dropped = true
	if err := s.drop(); err != nil {
		t.Fatalf("drop: %v", err)
	}
	if schemaExists(t, server, s.name) {
		t.Errorf("schema %s still there after drop", s.name)
	}
}

func TestSchemaURL(t *testing.T) {
	got, err := schemaURL("postgres://u@db:5432/test?sslmode=disable&search_path=public", "linkbox_bench_1")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(got)
	q := u.Query()
	if u.Host != "db:5432" || u.Path != "/test" || q.Get("sslmode") != "disable" || q.Get("search_path") != "linkbox_bench_1" || q.Get("application_name") != "linkbox_bench_1" {
		t.Errorf("schemaURL = %q", got)
	}
	for _, bad := range []string{"sqlite:x.db", "mysql://db/x", "://"} {
		if got, err := schemaURL(bad, "s"); err == nil {
			t.Errorf("schemaURL(%q) = %q, nil; want an error", bad, got)
		}
	}
}

// TestBackendCPURefusesOthers: a pid that is not a local PostgreSQL process
// (a server elsewhere, or in another pid namespace) gives no figure rather
// than another program's CPU time; one that ended is skipped.
func TestBackendCPURefusesOthers(t *testing.T) {
	if got, err := backendCPU([]int{os.Getpid()}); err == nil {
		t.Errorf("backendCPU(the test itself) = %v, nil; want an error", got)
	}
	if got, err := backendCPU([]int{1 << 30}); err != nil || len(got) != 0 {
		t.Errorf("backendCPU(a pid that is gone) = %v, %v; want none, nil", got, err)
	}
}

// TestBackendMeterCountsQueries: the CPU time a backend spends on a query
// of the run's shows in the meter.
func TestBackendMeterCountsQueries(t *testing.T) {
	server := testPostgresURL(t)
	ctx := context.Background()
	s, err := createSchema(ctx, server)
	if err != nil {
		t.Fatalf("createSchema: %v", err)
	}
	defer func() {
		if err := s.drop(); err != nil {
			t.Error(err)
		}
	}()
	conn, err := sql.Open("pgx", s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Ping(); err != nil {
		t.Fatal(err)
	}
	pids, err := s.backends(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := backendCPU(pids); err != nil {
		t.Skipf("the server's processes are not readable here: %v", err)
	}
	used := backendMeter(ctx, s.backends)
	if _, err := conn.Exec("SELECT count(*) FROM generate_series(1, 5000000)"); err != nil {
		t.Fatal(err)
	}
	if got := used(); got < 50*time.Millisecond {
		t.Errorf("backend CPU over a five-million-row count = %v, want at least 50ms", got)
	}
	if got := backendMeter(ctx, nil)(); got != 0 {
		t.Errorf("without backends: %v, want 0", got)
	}
}
