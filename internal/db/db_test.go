package db_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestMigrateTo: a store migrated up to a version has exactly the
// migrations up to it; Migrate then applies the rest.
func TestMigrateTo(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		ctx := context.Background()
		d, err := db.Open(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		versions := func() (n, top int) {
			t.Helper()
			if err := d.QueryRow(ctx, `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &top); err != nil {
				t.Fatal(err)
			}
			return n, top
		}
		if err := d.MigrateTo(ctx, 3); err != nil {
			t.Fatal(err)
		}
		if n, top := versions(); n != 3 || top != 3 {
			t.Fatalf("after MigrateTo(3): %d migrations, up to %d; want 1 to 3", n, top)
		}
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		if n, top := versions(); n != top || top <= 3 {
			t.Fatalf("after Migrate: %d migrations, up to %d; want all of them", n, top)
		}
	})
}

func TestMigrateTwiceAndConcurrently(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		var wg sync.WaitGroup
		errc := make(chan error, 4)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				other, err := db.Open(context.Background(), url)
				if err != nil {
					errc <- err
					return
				}
				defer other.Close()
				errc <- other.Migrate(context.Background())
			}()
		}
		wg.Wait()
		close(errc)
		for err := range errc {
			if err != nil {
				t.Fatalf("concurrent Migrate: %v", err)
			}
		}
		var n int
		if err := d.QueryRow(context.Background(), `SELECT COUNT(*) FROM schema_migrations`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n < 2 {
			t.Fatalf("schema_migrations has %d rows, want every migration once", n)
		}
	})
}

func TestErrorsAndTransactions(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx := context.Background()
		if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, "a", "1"); err != nil {
			t.Fatal(err)
		}
		_, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, "a", "2")
		if !errors.Is(err, db.ErrConflict) {
			t.Fatalf("duplicate key: got %v, want ErrConflict", err)
		}
		var v string
		err = d.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, "missing").Scan(&v)
		if !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("missing row: got %v, want ErrNotFound", err)
		}
		boom := errors.New("boom")
		err = d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			if _, err := tx.Exec(ctx, `UPDATE settings SET value = ? WHERE key = ?`, "changed", "a"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("InTx: got %v, want boom", err)
		}
		if err := d.QueryRow(ctx, `SELECT value FROM settings WHERE key = ?`, "a").Scan(&v); err != nil || v != "1" {
			t.Fatalf("after rollback: value %q, err %v; want 1", v, err)
		}
		err = d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			return db.ExecOne(ctx, tx, `UPDATE settings SET value = ? WHERE key = ?`, "x", "missing")
		})
		if !errors.Is(err, db.ErrNotFound) {
			t.Fatalf("ExecOne on no row: got %v, want ErrNotFound", err)
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"", "mysql://x", "sqlite:"} {
		if _, err := db.Open(context.Background(), u); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", u)
		}
	}
}

func TestQueryAll(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx := context.Background()
		key := func(rows *sql.Rows) (k string, err error) { return k, rows.Scan(&k) }
		got, err := db.QueryAll(ctx, d, key, `SELECT key FROM settings WHERE key = ?`, "none")
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("no rows: got %#v, %v; want an empty, non-nil slice", got, err)
		}
		for _, k := range []string{"b", "a"} {
			if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, '')`, k); err != nil {
				t.Fatal(err)
			}
		}
		got, err = db.QueryAll(ctx, d, key, `SELECT key FROM settings WHERE key IN (?, ?) ORDER BY key`, "a", "b")
		if err != nil || len(got) != 2 || got[0] != "a" || got[1] != "b" {
			t.Fatalf("got %v, %v; want [a b]", got, err)
		}
		boom := errors.New("boom")
		_, err = db.QueryAll(ctx, d, func(*sql.Rows) (string, error) { return "", boom }, `SELECT key FROM settings WHERE key = ?`, "a")
		if !errors.Is(err, boom) {
			t.Fatalf("scan error: got %v, want boom", err)
		}
	})
}

// TestSweepExpired deletes, over several batches, exactly the rows expired
// at the cutoff.
func TestSweepExpired(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx := context.Background()
		if _, err := d.Exec(ctx, `CREATE TABLE sweep_test (k TEXT PRIMARY KEY, expires_at BIGINT NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const dead, live = 2*db.SweepBatch + 1, 7
		err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			for i := range dead + live {
				expires := int64(100) // at the cutoff: expired
				if i%((dead+live)/live) == 0 && i/((dead+live)/live) < live {
					expires = 101
				}
				if _, err := tx.Exec(ctx, `INSERT INTO sweep_test (k, expires_at) VALUES (?, ?)`, fmt.Sprintf("k%05d", i), expires); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		n, err := d.SweepExpired(ctx, "sweep_test", "k", "expires_at", 100)
		if err != nil || n != dead {
			t.Fatalf("SweepExpired = %d, %v; want %d", n, err, dead)
		}
		var left, alive int
		if err := d.QueryRow(ctx, `SELECT COUNT(*), COUNT(CASE WHEN expires_at > 100 THEN 1 END) FROM sweep_test`).Scan(&left, &alive); err != nil {
			t.Fatal(err)
		}
		if left != live || alive != live {
			t.Errorf("%d rows left, %d of them live; want the %d live ones", left, alive, live)
		}
		if n, err := d.SweepExpired(ctx, "sweep_test", "k", "expires_at", 100); err != nil || n != 0 {
			t.Errorf("second SweepExpired = %d, %v; want 0", n, err)
		}
	})
}
