//go:build cgo

// The benchmarks compare the pure-Go SQLite driver the store uses with the
// cgo one; the file needs cgo, so a CGO_ENABLED=0 build simply omits it.

package db

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	_ "github.com/mattn/go-sqlite3" // the cgo "sqlite3" driver, for comparison only
)

// openMattn opens path through the cgo driver with the settings and pool
// shapes openSQLite gives the pure-Go one, so that only the driver differs.
func openMattn(path string) (*DB, error) {
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=FULL&_busy_timeout=10000&_foreign_keys=1&_txlock=immediate"
	write, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open mattn writer: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	read, err := sql.Open("sqlite3", dsn+"&_query_only=1")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open mattn readers: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	// The same statement cache, group commit and background checkpoints as
	// the store's own SQLite, so that only the driver differs. The writer
	// pool's one connection lives as long as the pool, so the pragma holds.
	if _, err := write.Exec("PRAGMA wal_autocheckpoint = 0"); err != nil {
		return nil, fmt.Errorf("mattn writer: %w", err)
	}
	ckpt, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open mattn checkpointer: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	d := &DB{Dialect: SQLite, write: write, read: read, stmts: &stmtCache{}}
	d.batch = newBatcher(d)
	d.ckpt = newCheckpointer(ckpt, Options{WALLimit: DefaultWALLimit, Log: slog.Default()}, &d.batch.gate)
	return d, nil
}

// benchDriver is a SQLite driver under comparison; its name becomes the
// "driver=" sub-benchmark key that benchstat groups by.
type benchDriver struct {
	name string
	open func(path string) (*DB, error)
}

func sqliteDrivers() []benchDriver {
	modernc := func(path string) (*DB, error) { return openSQLite(path, Options{Log: slog.Default()}) }
	return []benchDriver{{"modernc", modernc}, {"mattn", openMattn}}
}

// eachDriver runs fn as a sub-benchmark per driver, each on a fresh,
// migrated store.
func eachDriver(b *testing.B, fn func(b *testing.B, d *DB)) {
	b.Helper()
	for _, drv := range sqliteDrivers() {
		b.Run("driver="+drv.name, func(b *testing.B) {
			d, err := drv.open(filepath.Join(b.TempDir(), "bench.db"))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { d.Close() })
			ctx := context.Background()
			if err := d.Ping(ctx); err != nil {
				b.Fatal(err)
			}
			if err := d.Migrate(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			fn(b, d)
		})
	}
}

const insertUser = `INSERT INTO users (id, phone, password_hash, first_name, last_name, email, role, status, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func userArgs(i int) []any {
	id := "u" + strconv.Itoa(i)
	return []any{id, "+1555" + strconv.Itoa(1_000_000+i), "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA",
		"Ada", "Lovelace", id + "@example.com", "user", "active", int64(1_700_000_000_000), int64(1_700_000_000_000)}
}

// seedUsers inserts users u0…u(n-1) in one transaction.
func seedUsers(b *testing.B, d *DB, n int) {
	b.Helper()
	ctx := context.Background()
	err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
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
	eachDriver(b, func(b *testing.B, d *DB) {
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
	eachDriver(b, func(b *testing.B, d *DB) {
		ctx := context.Background()
		i := 0
		for b.Loop() {
			err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
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
	eachDriver(b, func(b *testing.B, d *DB) {
		seedUsers(b, d, 1)
		ctx := context.Background()
		now := int64(1_700_000_000_000)
		if _, err := d.Exec(ctx, insertToken, "t0", "h0", now, now+3_600_000); err != nil {
			b.Fatal(err)
		}
		i := 0
		for b.Loop() {
			next := strconv.Itoa(i + 1)
			err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
				if err := ExecOne(ctx, tx, `UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL`,
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

// TestBenchDriversMatch checks that both drivers open connections with the
// same pragmas, so the benchmarks compare drivers and not settings.
func TestBenchDriversMatch(t *testing.T) {
	want := map[string]struct{ write, read string }{
		"journal_mode": {"wal", "wal"},
		"synchronous":  {"2", "2"}, // FULL
		"busy_timeout": {"10000", "10000"},
		"foreign_keys": {"1", "1"},
		"query_only":   {"0", "1"},
	}
	for _, drv := range sqliteDrivers() {
		t.Run("driver="+drv.name, func(t *testing.T) {
			d, err := drv.open(filepath.Join(t.TempDir(), "pragmas.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			for pragma, w := range want {
				if got := pragmaValue(t, d.write, pragma); got != w.write {
					t.Errorf("writer %s = %q, want %q", pragma, got, w.write)
				}
				if got := pragmaValue(t, d.read, pragma); got != w.read {
					t.Errorf("reader %s = %q, want %q", pragma, got, w.read)
				}
			}
		})
	}
}

func pragmaValue(t *testing.T, pool *sql.DB, pragma string) string {
	t.Helper()
	var v string
	if err := pool.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", pragma, err)
	}
	return v
}
