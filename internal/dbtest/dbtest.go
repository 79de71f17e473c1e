// Package dbtest gives each test a fresh, empty store on every engine: SQLite
// in a temporary directory always, and PostgreSQL, in a schema of its own,
// when LINKBOX_TEST_DATABASE_URL is set.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" driver

	"github.com/linkbox/linkbox/internal/db"
)

// EnvURL names the variable holding the PostgreSQL server used by tests.
const EnvURL = "LINKBOX_TEST_DATABASE_URL"

// Each runs fn as a subtest per engine, "sqlite" and "postgres", each with the
// URL of a fresh store. The postgres subtest is skipped when EnvURL is unset
// and fails when the server cannot be reached. The two run in parallel —
// the suite spends most of its time waiting on stores and timers — once
// the test function returns; a test that changes the process's state
// (working directory, standard input) uses EachInTurn.
func Each(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { t.Parallel(); fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { t.Parallel(); fn(t, Postgres(t)) })
}

// EachInTurn is Each with the engines one after the other, for a test that
// changes what the whole process shares.
func EachInTurn(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t)) })
}

// Open opens the store at databaseURL, migrated, and closes it when t ends.
func Open(t testing.TB, databaseURL string) *db.DB {
	t.Helper()
	ctx := context.Background()
	d, err := db.Open(ctx, databaseURL)
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	if err := d.Migrate(ctx); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return d
}

// SQLite returns the URL of a new SQLite store in t's temporary directory.
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "linkbox.db")
}

// Postgres returns the URL of a new, empty schema on the server named by
// EnvURL, dropped when t ends; it skips t when EnvURL is unset.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skip(EnvURL + " is not set")
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("dbtest: open %s: %v", EnvURL, err)
	}
	t.Cleanup(func() { admin.Close() })
	schema := "t_" + randomHex(t, 8)
	ctx := context.Background()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dbtest: drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: parse %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TablesWithColumn names the tables of d's schema that have a column
// called column, as the engine's catalog lists them: a test that must
// reach every table holding, say, a user_id finds a new one by itself.
func TablesWithColumn(t testing.TB, d *db.DB, column string) []string {
	t.Helper()
	q := `SELECT m.name FROM sqlite_master m JOIN pragma_table_info(m.name) p WHERE m.type = 'table' AND p.name = ? ORDER BY 1`
	if d.Dialect == db.Postgres {
		q = `SELECT table_name FROM information_schema.columns WHERE column_name = ? AND table_schema = current_schema() ORDER BY 1`
	}
	names, err := db.QueryAll(context.Background(), d, db.Column[string], q, column)
	if err != nil {
		t.Fatalf("dbtest: tables with a %s column: %v", column, err)
	}
	return names
}
