package db_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// writeLoad writes settings rows from several goroutines until stop is
// called, and keeps the keys of those whose InTx returned nil: the
// acknowledged writes.
type writeLoad struct {
	mu    sync.Mutex
	acked []string
	more  chan struct{} // receives after each acknowledged write
	done  chan struct{} // closed once every writer has returned
	stop  func()
}

func startWrites(t *testing.T, d *db.DB) *writeLoad {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &writeLoad{more: make(chan struct{}, 1), done: make(chan struct{})}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				key := fmt.Sprintf("load-%d-%d", g, i)
				err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, key)
					return err
				})
				if err != nil {
					if ctx.Err() == nil {
						t.Errorf("write %s: %v", key, err)
					}
					return
				}
				w.mu.Lock()
				w.acked = append(w.acked, key)
				w.mu.Unlock()
				select {
				case w.more <- struct{}{}:
				default:
				}
			}
		})
	}
	go func() { wg.Wait(); close(w.done) }()
	w.stop = func() { cancel(); <-w.done }
	t.Cleanup(w.stop)
	return w
}

// snapshot is the keys acknowledged so far.
func (w *writeLoad) snapshot() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.acked)
}

// waitFor waits until at least n writes are acknowledged, failing t if
// the writers stopped first.
func (w *writeLoad) waitFor(t *testing.T, n int) {
	t.Helper()
	for len(w.snapshot()) < n {
		select {
		case <-w.more:
		case <-w.done:
			t.Fatalf("the writers stopped after %d writes", len(w.snapshot()))
		}
	}
}

// settingKeys are the settings keys of the store at url.
func settingKeys(t *testing.T, url string) map[string]bool {
	t.Helper()
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	keys, err := db.QueryAll(context.Background(), d, func(r *sql.Rows) (string, error) {
		var k string
		return k, r.Scan(&k)
	}, `SELECT key FROM settings`)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// TestBackupUnderWrites: a backup taken while four writers commit holds
// every write acknowledged before it began, is private, and passes the
// checks of a restore; a second backup to the same path is refused and
// leaves the first as it was.
func TestBackupUnderWrites(t *testing.T) {
	url := dbtest.SQLite(t)
	d := dbtest.Open(t, url)
	load := startWrites(t, d)
	load.waitFor(t, 200)
	before := load.snapshot()
	path := filepath.Join(t.TempDir(), "backup.db")
	c, err := db.Backup(context.Background(), url, path)
	if err != nil {
		t.Fatal(err)
	}
	during := len(load.snapshot()) - len(before)
	load.waitFor(t, len(before)+during+50) // the writers go on after it
	load.stop()
	if c.Path != path || c.Version == 0 || c.Bytes == 0 {
		t.Errorf("Backup = %+v, want the path, a schema version and a size", c)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if m := fi.Mode().Perm(); m != 0o600 {
		t.Errorf("backup mode %#o, want 0600", m)
	}
	got := settingKeys(t, "sqlite:"+path)
	for _, k := range before {
		if !got[k] {
			t.Fatalf("the backup lacks %s, acknowledged before it began (%d acknowledged then, %d during it)", k, len(before), during)
		}
	}
	t.Logf("%d writes acknowledged before the backup, %d while it ran, %d rows in it", len(before), during, len(got))

	first, _ := os.ReadFile(path)
	if _, err := db.Backup(context.Background(), url, path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a backup over an existing file: %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, first) {
		t.Error("a refused backup changed the existing file")
	}
	if left := tempFiles(t, filepath.Dir(path)); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// tempFiles are the names of the files in dir that Backup or Restore
// write before renaming them.
func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestBackupRestore: a restore replaces the store, closed, with the backup
// whole — what was written after the backup is gone, and the old log
// replays nothing into it — and is refused while the store is open.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	url := dbtest.SQLite(t)
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('kept', 'v')`); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.Backup(ctx, url, path); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('after', 'v')`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Restore(ctx, url, path); !errors.Is(err, db.ErrStoreInUse) {
		t.Errorf("a restore while the store is open: %v, want ErrStoreInUse", err)
	}
	if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('still-open', 'v')`); err != nil {
		t.Errorf("the store after a refused restore: %v", err)
	}
	// The log as a process killed now would leave it, holding the writes
	// made after the backup: put back once the store is closed (closing
	// folds it into the file and deletes it).
	file := strings.TrimPrefix(url, "sqlite:")
	wal, err := os.ReadFile(file + "-wal")
	if err != nil || len(wal) == 0 {
		t.Fatalf("the store's log: %d bytes, %v", len(wal), err)
	}
	d.Close()
	write(t, file+"-wal", wal)
	c, err := db.Restore(ctx, url, path)
	if err != nil {
		t.Fatal(err)
	}
	if c.Path != file || c.Version == 0 {
		t.Errorf("Restore = %+v, want the store's path and a schema version", c)
	}
	if got := settingKeys(t, url); !got["kept"] || got["after"] || got["still-open"] {
		t.Errorf("restored settings = %v, want kept only", got)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the restored store: %v, %v; want mode 0600", fi, err)
	}
	if left := tempFiles(t, filepath.Dir(file)); len(left) > 0 {
		t.Errorf("temporary files left: %v", left)
	}
	// Into a new place: the store did not exist.
	fresh := "sqlite:" + filepath.Join(t.TempDir(), "new.db")
	if _, err := db.Restore(ctx, fresh, path); err != nil {
		t.Fatal(err)
	}
	if got := settingKeys(t, fresh); !got["kept"] {
		t.Errorf("restored into a new place = %v, want kept", got)
	}
}

// TestBackupRestoreRefusesOtherFiles: a restore of a file that is not an
// intact Linkbox store at a schema version this build knows is refused,
// and the store's file is left byte for byte as it was.
func TestBackupRestoreRefusesOtherFiles(t *testing.T) {
	ctx := context.Background()
	url := dbtest.SQLite(t)
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	if _, err := db.Backup(ctx, url, good); err != nil {
		t.Fatal(err)
	}
	goodBytes, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, 64<<10)
	rand.Read(noise)
	files := map[string]func(path string){
		"random bytes": func(p string) { write(t, p, noise) },
		"empty":        func(p string) { write(t, p, nil) },
		"truncated":    func(p string) { write(t, p, goodBytes[:len(goodBytes)/2]) },
		"pages overwritten": func(p string) {
			b := slices.Clone(goodBytes)
			copy(b[4096:], noise[:8192]) // the pages after the first
			write(t, p, b)
		},
		"another SQLite database": func(p string) { sqliteFile(t, p, `CREATE TABLE notes (body TEXT)`) },
		"a newer schema": func(p string) {
			write(t, p, goodBytes)
			sqliteFile(t, p, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`)
		},
		"a foreign migration": func(p string) {
			write(t, p, goodBytes)
			sqliteFile(t, p, `UPDATE schema_migrations SET name = 'other' WHERE version = 1`)
		},
	}
	file := strings.TrimPrefix(url, "sqlite:")
	store, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for name, build := range files {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "bad.db")
			build(p)
			if _, err := db.Restore(ctx, url, p); !errors.Is(err, db.ErrUnknownStore) {
				t.Errorf("Restore: %v, want ErrUnknownStore", err)
			}
			if now, _ := os.ReadFile(file); !bytes.Equal(now, store) {
				t.Error("a refused restore changed the store")
			}
			if left := tempFiles(t, filepath.Dir(file)); len(left) > 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	if _, err := db.Restore(ctx, url, filepath.Join(dir, "missing.db")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a restore of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// sqliteFile runs stmt on the SQLite file at path, creating it if need be.
func sqliteFile(t *testing.T, path, stmt string) {
	t.Helper()
	d, err := db.Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(context.Background(), stmt); err != nil {
		t.Fatal(err)
	}
}

// TestBackupPostgres: a PostgreSQL store is pg_dump's and pg_restore's;
// Backup and Restore say so and touch nothing.
func TestBackupPostgres(t *testing.T) {
	url := dbtest.Postgres(t)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.Backup(ctx, url, path); !errors.Is(err, db.ErrPostgresStore) {
		t.Errorf("Backup: %v, want ErrPostgresStore", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Backup of a PostgreSQL store made a file: %v", err)
	}
	if _, err := db.Restore(ctx, url, path); !errors.Is(err, db.ErrPostgresStore) {
		t.Errorf("Restore: %v, want ErrPostgresStore", err)
	}
}

// helperStore names, in the environment of the test binary run again as a
// helper process, the store that process holds open.
const helperStore = "LINKBOX_TEST_HELPER_STORE"

// TestBackupHelperProcess is not a test: run by
// TestBackupRestoreRefusedAcrossProcesses as a process of its own, it opens
// the store named by helperStore, says so on stdout, and holds it open
// until its stdin closes.
func TestBackupHelperProcess(t *testing.T) {
	url := os.Getenv(helperStore)
	if url == "" {
		t.Skip("a helper process of TestBackupRestoreRefusedAcrossProcesses")
	}
	d, err := db.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Exec(context.Background(), `INSERT INTO settings (key, value) VALUES ('helper', 'v')`); err != nil {
		t.Fatal(err)
	}
	fmt.Println("open")
	io.Copy(io.Discard, os.Stdin)
}

// TestBackupRestoreRefusedAcrossProcesses: a restore is refused while
// another process has the store open (SQLite's locks are per process:
// the in-process case alone would not show it), and goes through once
// that process has closed it.
func TestBackupRestoreRefusedAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	url := dbtest.SQLite(t)
	d, err := db.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d.Close()
	path := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.Backup(ctx, url, path); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestBackupHelperProcess$")
	cmd.Env = append(os.Environ(), helperStore+"="+url)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	if line, err := bufio.NewReader(stdout).ReadString('\n'); line != "open\n" {
		t.Fatalf("the helper process said %q, %v", line, err)
	}
	if _, err := db.Restore(ctx, url, path); !errors.Is(err, db.ErrStoreInUse) {
		t.Errorf("a restore while another process has the store open: %v, want ErrStoreInUse", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the helper process: %v", err)
	}
	if _, err := db.Restore(ctx, url, path); err != nil {
		t.Fatalf("a restore once the other process closed the store: %v", err)
	}
	if got := settingKeys(t, url); got["helper"] {
		t.Errorf("restored settings = %v, want the backup's, without the helper's write", got)
	}
}
