package db

import (
	"bytes"
	"context"
	"database/sql"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openTestSQLite opens a store in a temporary directory with opt, whose
// checkpointer never ticks by itself: the test runs its ticks.
func openTestSQLite(t *testing.T, opt Options) *DB {
	t.Helper()
	opt.checkpointEvery = time.Hour
	d, err := OpenWith(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "linkbox.db"), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func pragma(t *testing.T, pool *sql.DB, name string) string {
	t.Helper()
	var v string
	if err := pool.QueryRowContext(context.Background(), "PRAGMA "+name).Scan(&v); err != nil {
		t.Fatalf("PRAGMA %s: %v", name, err)
	}
	return v
}

// TestSQLiteSync: commits are fsynced (FULL) unless normal is asked for;
// anything else is refused.
func TestSQLiteSync(t *testing.T) {
	for _, tt := range []struct {
		sync Sync
		want string
	}{{"", "2"}, {SyncFull, "2"}, {SyncNormal, "1"}} {
		d := openTestSQLite(t, Options{Sync: tt.sync})
		for name, pool := range map[string]*sql.DB{"writer": d.write, "checkpointer": d.ckpt.db} {
			if got := pragma(t, pool, "synchronous"); got != tt.want {
				t.Errorf("Sync %q: %s synchronous = %s, want %s", tt.sync, name, got, tt.want)
			}
		}
	}
	if _, err := OpenWith(context.Background(), "sqlite:"+filepath.Join(t.TempDir(), "x.db"), Options{Sync: "off"}); err == nil {
		t.Error("OpenWith(Sync: off) succeeded, want an error")
	}
}

// TestCheckpointBoundsWAL: a reader holding an old snapshot lets the WAL
// grow past its limit, and the checkpoint that cannot make it start over
// is logged, once; once the reader is done, the next tick makes the log
// start over and the next commit cuts the file back to the limit.
func TestCheckpointBoundsWAL(t *testing.T) {
	const limit = 256 << 10
	var logged bytes.Buffer
	d := openTestSQLite(t, Options{WALLimit: limit, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx := context.Background()
	if _, err := d.Exec(ctx, `CREATE TABLE blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	reader, err := d.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var n int
	if _, err := reader.ExecContext(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if err := reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM blobs`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	write := func(rows int) {
		t.Helper()
		err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
			for range rows {
				if _, err := tx.Exec(ctx, `INSERT INTO blobs (b) VALUES (randomblob(?))`, 8000); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	write(4 * limit / 8000)
	d.ckpt.tick(ctx)
	d.ckpt.tick(ctx)
	if got := walSize(t, d); got <= limit {
		t.Fatalf("WAL is %d bytes with a reader on it, want more than the %d-byte limit", got, limit)
	}
	if got := strings.Count(logged.String(), "checkpoint could not finish"); got != 1 {
		t.Errorf("%d warnings for two blocked checkpoints, want 1 (at most one a minute):\n%s", got, logged.String())
	}
	if _, err := reader.ExecContext(ctx, "COMMIT"); err != nil {
		t.Fatal(err)
	}
	d.ckpt.tick(ctx)
	write(1)
	if got := walSize(t, d); got > limit {
		t.Errorf("WAL is %d bytes after the reader left, want at most %d", got, limit)
	}
}

// TestCheckpointNotStarvedByWriters: with transactions queued back to back,
// the checkpoint that makes the WAL start over still gets its turn: the
// writer takes SQLite's lock again the moment it commits, so the
// checkpoint used to lose the race for it, and the WAL grew on.
func TestCheckpointNotStarvedByWriters(t *testing.T) {
	const limit = 256 << 10
	var logged bytes.Buffer
	d := openTestSQLite(t, Options{WALLimit: limit, Log: slog.New(slog.NewTextHandler(&logged, nil))})
	ctx := context.Background()
	if _, err := d.Exec(ctx, `CREATE TABLE blobs (b BLOB)`); err != nil {
		t.Fatal(err)
	}
	insert := func() error {
		_, err := d.Exec(ctx, `INSERT INTO blobs (b) VALUES (randomblob(?))`, 4000)
		return err
	}
	for range 2 * limit / 4000 {
		if err := insert(); err != nil {
			t.Fatal(err)
		}
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := d.InTx(ctx, func(ctx context.Context, tx *Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO blobs (b) VALUES (randomblob(?))`, 4000)
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for range 3 {
		d.ckpt.tick(ctx)
	}
	close(stop)
	wg.Wait()
	if strings.Contains(logged.String(), "could not finish") {
		t.Errorf("the checkpoint could not make the WAL start over under steady writes:\n%s", logged.String())
	}
}

func walSize(t *testing.T, d *DB) int64 {
	t.Helper()
	fi, err := os.Stat(d.File() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}
