// Package sqlite compares the pure-Go SQLite driver the store uses
// (modernc.org/sqlite) with the cgo one (mattn/go-sqlite3), both under the
// store's own statement cache, group commit and checkpointer, so that only
// the driver differs. It lives in a module of its own so that Linkbox's
// go.mod carries no cgo driver.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the cgo "sqlite3" driver, for comparison only

	"github.com/linkbox/linkbox/internal/db"
)

// openMattn opens path through the cgo driver with the settings and pool
// shapes the store gives the pure-Go one.
func openMattn(path string) (*db.DB, error) {
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=1&_txlock=immediate"
	open := func(dsn string, n int) (*sql.DB, error) {
		p, err := sql.Open("sqlite3", dsn)
		if err != nil {
			return nil, fmt.Errorf("open mattn: %w", err)
		}
		p.SetMaxOpenConns(n)
		p.SetMaxIdleConns(n)
		p.SetConnMaxLifetime(0)
		return p, nil
	}
	write, err := open(dsn, 1)
	if err != nil {
		return nil, err
	}
	// The writer never checkpoints: the checkpointer does. Its one
	// connection lives as long as the pool, so the pragma holds.
	if _, err := write.Exec("PRAGMA wal_autocheckpoint = 0"); err != nil {
		return nil, fmt.Errorf("mattn writer: %w", err)
	}
	read, err := open(dsn+"&_query_only=1", max(4, 2*runtime.GOMAXPROCS(0)))
	if err != nil {
		return nil, err
	}
	ckpt, err := open(dsn, 1)
	if err != nil {
		return nil, err
	}
	return db.NewSQLite(db.SQLitePools{Write: write, Read: read, Checkpoint: ckpt}, path, db.Options{}), nil
}

func openModernc(path string) (*db.DB, error) {
	return db.Open(context.Background(), "sqlite:"+path)
}

// driver is a SQLite driver under comparison; its name becomes the
// "driver=" sub-benchmark key that benchstat groups by.
type driver struct {
	name string
	open func(path string) (*db.DB, error)
}

var drivers = []driver{{"modernc", openModernc}, {"mattn", openMattn}}

// eachDriver runs fn as a sub-benchmark per driver, each on a fresh,
// migrated store.
func eachDriver(b *testing.B, fn func(b *testing.B, d *db.DB)) {
	b.Helper()
	for _, drv := range drivers {
		b.Run("driver="+drv.name, func(b *testing.B) {
			d := open(b, drv)
			b.ReportAllocs()
			fn(b, d)
		})
	}
}

func open(tb testing.TB, drv driver) *db.DB {
	tb.Helper()
	d, err := drv.open(filepath.Join(tb.TempDir(), "bench.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { d.Close() })
	ctx := context.Background()
	if err := d.Ping(ctx); err != nil {
		tb.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return d
}

const insertUser = `INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func userArgs(i int) []any {
	id := "u" + strconv.Itoa(i)
	return []any{id, "+1555" + strconv.Itoa(1_000_000+i), "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		"Ada", "Lovelace", id + "@example.com", "user", "active", int64(1_700_000_000_000), int64(1_700_000_000_000)}
}

// seedUsers inserts users u0…u(n-1) in one transaction.
func seedUsers(b *testing.B, d *db.DB, n int) {
	b.Helper()
	err := d.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		for i := range n {
			if _, err := tx.Exec(ctx, insertUser, userArgs(i)...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed users: %v", err)
	}
}

// BenchmarkPointRead reads one user by primary key from many goroutines at
// once, through the reader pool.
func BenchmarkPointRead(b *testing.B) {
	const users = 10_000
	eachDriver(b, func(b *testing.B, d *db.DB) {
		seedUsers(b, d, users)
		ctx := context.Background()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			var (
				phone, hash, first, last, email, role, status string
				created, updated                              int64
			)
			for i := 0; pb.Next(); i++ {
				id := "u" + strconv.Itoa(i*7919%users)
				err := d.QueryRow(ctx, `SELECT phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at
					FROM users WHERE id = ?`, id).Scan(&phone, &hash, &first, &last, &email, &role, &status, &created, &updated)
				if err != nil {
					b.Errorf("read %s: %v", id, err)
					return
				}
			}
		})
	})
}

// BenchmarkInsertTx inserts one user per transaction, one after another.
func BenchmarkInsertTx(b *testing.B) {
	eachDriver(b, func(b *testing.B, d *db.DB) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
				_, err := tx.Exec(ctx, insertUser, userArgs(i)...)
				return err
			})
			if err != nil {
				b.Fatalf("insert %d: %v", i, err)
			}
			i++
		}
	})
}

// BenchmarkRotateRefreshToken rotates a refresh token per transaction as the
// token endpoint does: claim the presented token with a conditional UPDATE
// that must win, then INSERT its successor in the same family.
func BenchmarkRotateRefreshToken(b *testing.B) {
	const insertToken = `INSERT INTO refresh_tokens (id, family_id, user_id, token_hash, created_at, expires_at)
		VALUES (?, 'f0', 'u0', ?, ?, ?)`
	eachDriver(b, func(b *testing.B, d *db.DB) {
		seedUsers(b, d, 1)
		ctx := context.Background()
		now := int64(1_700_000_000_000)
		if _, err := d.Exec(ctx, insertToken, "t0", "h0", now, now+3_600_000); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			next := strconv.Itoa(i + 1)
			err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
				if err := db.ExecOne(ctx, tx, `UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`,
					now, "h"+strconv.Itoa(i)); err != nil {
					return fmt.Errorf("claim: %w", err)
				}
				_, err := tx.Exec(ctx, insertToken, "t"+next, "h"+next, now, now+3_600_000)
				return err
			})
			if err != nil {
				b.Fatalf("rotation %d: %v", i, err)
			}
			i++
		}
	})
}

// TestDriversMatch checks that both drivers open connections with the same
// pragmas, so that the benchmarks compare drivers and not settings: the
// writer's are read in a transaction, the readers' outside one.
func TestDriversMatch(t *testing.T) {
	want := map[string]struct{ write, read string }{
		"journal_mode": {"wal", "wal"},
		"synchronous":  {"2", "2"}, // FULL
		"busy_timeout": {"10000", "10000"},
		"foreign_keys": {"1", "1"},
		"query_only":   {"0", "1"},
	}
	for _, drv := range drivers {
		t.Run("driver="+drv.name, func(t *testing.T) {
			d := open(t, drv)
			ctx := context.Background()
			for pragma, w := range want {
				var write, read string
				err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
					return tx.QueryRow(ctx, "PRAGMA "+pragma).Scan(&write)
				})
				if err != nil {
					t.Fatalf("writer PRAGMA %s: %v", pragma, err)
				}
				if err := d.QueryRow(ctx, "PRAGMA "+pragma).Scan(&read); err != nil {
					t.Fatalf("reader PRAGMA %s: %v", pragma, err)
				}
				if write != w.write || read != w.read {
					t.Errorf("%s: writer %q, reader %q; want %q, %q", pragma, write, read, w.write, w.read)
				}
			}
		})
	}
}
