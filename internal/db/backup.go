package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Errors of Backup and Restore.
var (
	// ErrPostgresStore: a PostgreSQL store is copied by pg_dump and put
	// back by pg_restore, which know its server; Linkbox copies SQLite
	// files only.
	ErrPostgresStore = errors.New("db: the store is PostgreSQL")
	// ErrStoreInUse: another connection — a serving process, an admin
	// command — has the store open, and replacing the file under it would
	// leave it writing to the old one, or mixing its log into the new one.
	ErrStoreInUse = errors.New("db: another process has the store open")
	// ErrUnknownStore: the file is not an intact Linkbox store at a schema
	// version this build knows.
	ErrUnknownStore = errors.New("db: not an intact Linkbox store at a schema version this build knows")
)

// Copy describes a store file that Backup wrote or Restore put in place.
type Copy struct {
	Path    string // the file
	Version int    // its schema version: the last migration applied to it
	Bytes   int64  // its size
}

// Backup writes a copy of the SQLite store named by databaseURL to path, a
// new file readable by its owner only (an existing one is refused). The
// copy is VACUUM INTO's: one read transaction's snapshot, so it holds every
// transaction committed before it began and none in part, while the store
// goes on serving (readers never block the writer in WAL mode). It is
// checked as Restore checks a file, then renamed into place, so a copy
// found at path is whole.
func Backup(ctx context.Context, databaseURL, path string) (Copy, error) {
	file, err := sqlitePath(databaseURL)
	if err != nil {
		return Copy{}, err
	}
	if _, err := os.Stat(file); err != nil {
		return Copy{}, fmt.Errorf("db: backup: the store: %w", err)
	}
	if err := absent(path); err != nil {
		return Copy{}, fmt.Errorf("db: backup: %w", err)
	}
	tmp, remove, err := privateTemp(path)
	if err != nil {
		return Copy{}, fmt.Errorf("db: backup: %w", err)
	}
	defer remove()
	if err := vacuumInto(ctx, file, tmp); err != nil {
		return Copy{}, err
	}
	c, err := check(ctx, tmp)
	if err != nil {
		return Copy{}, fmt.Errorf("db: backup: the copy: %w", err)
	}
	// Checked again: a file made at path meanwhile is not to be replaced.
	if err := absent(path); err != nil {
		return Copy{}, fmt.Errorf("db: backup: %w", err)
	}
	c.Path = path
	return c, place(tmp, path)
}

// Restore puts a copy of the SQLite file src, once checked to be an intact
// Linkbox store at a schema version this build knows (older ones are
// migrated by the next start), in place of the store named by databaseURL,
// in one rename: the store is the old one or the new one, never a mix.
// Every process must have closed the store first; one that has it open
// is detected, and the restore refused with ErrStoreInUse. A refused
// restore leaves the store as it was.
func Restore(ctx context.Context, databaseURL, src string) (Copy, error) {
	file, err := sqlitePath(databaseURL)
	if err != nil {
		return Copy{}, err
	}
	tmp, remove, err := privateTemp(file)
	if err != nil {
		return Copy{}, fmt.Errorf("db: restore: %w", err)
	}
	defer remove()
	if err := copyFile(src, tmp); err != nil {
		return Copy{}, fmt.Errorf("db: restore: %w", err)
	}
	c, err := check(ctx, tmp)
	if err != nil {
		return Copy{}, fmt.Errorf("db: restore: %s: %w", src, err)
	}
	release, err := holdIdle(ctx, file)
	if err != nil {
		return Copy{}, fmt.Errorf("db: restore: %w", err)
	}
	defer release()
	// A log or journal left beside the file would be replayed into the new
	// one. Nobody has the store open (holdIdle), so none is in use.
	for _, suffix := range []string{"-wal", "-shm", "-journal"} {
		if err := os.Remove(file + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return Copy{}, fmt.Errorf("db: restore: %w", err)
		}
	}
	c.Path = file
	return c, place(tmp, file)
}

// sqlitePath is the file of the SQLite store rawURL names.
func sqlitePath(rawURL string) (string, error) {
	switch {
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return "", ErrPostgresStore
	case !strings.HasPrefix(rawURL, "sqlite:") || rawURL == "sqlite:":
		return "", fmt.Errorf("db: unsupported database URL %q: want sqlite:PATH or postgres://…", rawURL)
	}
	return strings.TrimPrefix(rawURL, "sqlite:"), nil
}

// absent reports fs.ErrExist when something is at path.
func absent(path string) error {
	_, err := os.Lstat(path)
	switch {
	case err == nil:
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	case errors.Is(err, fs.ErrNotExist):
		return nil
	}
	return err
}

// privateTemp creates an empty file, mode 0600, in the directory of path
// (so that a rename moves it there in one step), and returns its name and
// what removes it unless it was renamed.
func privateTemp(path string) (string, func(), error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return "", nil, err
	}
	name := f.Name()
	if err := f.Close(); err != nil {
		os.Remove(name)
		return "", nil, err
	}
	return name, func() { os.Remove(name) }, nil
}

// vacuumInto writes the snapshot of the store at file into tmp, an empty
// file (VACUUM INTO refuses any other), on a connection of its own: the
// store's readers are query_only, which VACUUM INTO is not.
func vacuumInto(ctx context.Context, file, tmp string) error {
	conn := pool(file, []string{storeBusyTimeout}, 1)
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `VACUUM INTO ?`, tmp); err != nil {
		return fmt.Errorf("db: backup: vacuum into: %w", err)
	}
	return nil
}

// check verifies that the SQLite file at path is intact and a Linkbox
// store whose migrations are the first of this build's, and leaves it a
// file complete by itself (journal mode DELETE: no log beside it to lose;
// serve turns WAL back on).
func check(ctx context.Context, path string) (Copy, error) {
	conn := pool(path, []string{"busy_timeout(1000)"}, 1)
	defer conn.Close()
	var result string
	if err := conn.QueryRowContext(ctx, `PRAGMA integrity_check(1)`).Scan(&result); err != nil {
		return Copy{}, fmt.Errorf("%w: %w", ErrUnknownStore, err)
	}
	if result != "ok" {
		return Copy{}, fmt.Errorf("%w: damaged: %s", ErrUnknownStore, result)
	}
	version, err := schemaVersion(ctx, conn)
	if err != nil {
		return Copy{}, err
	}
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		return Copy{}, fmt.Errorf("db: journal mode: %w", err)
	}
	if err := conn.Close(); err != nil {
		return Copy{}, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return Copy{}, err
	}
	return Copy{Path: path, Version: version, Bytes: fi.Size()}, nil
}

// schemaVersion checks that the migrations recorded in the store are the
// first of this build's, by number and name, and returns the last.
func schemaVersion(ctx context.Context, conn *sql.DB) (int, error) {
	known, err := loadMigrations(string(SQLite))
	if err != nil {
		return 0, err
	}
	rows, err := conn.QueryContext(ctx, `SELECT version, name FROM schema_migrations ORDER BY version`)
	if err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnknownStore, err)
	}
	defer rows.Close()
	n := 0
	for ; rows.Next(); n++ {
		var m migration
		if err := rows.Scan(&m.version, &m.name); err != nil {
			return 0, fmt.Errorf("%w: %w", ErrUnknownStore, err)
		}
		switch {
		case n >= len(known):
			return 0, fmt.Errorf("%w: it has migration %04d_%s, newer than this build's last, %04d: restore it with the version that made it",
				ErrUnknownStore, m.version, m.name, known[len(known)-1].version)
		case m.version != known[n].version || m.name != known[n].name:
			return 0, fmt.Errorf("%w: its migration %04d_%s is not this build's %04d_%s",
				ErrUnknownStore, m.version, m.name, known[n].version, known[n].name)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrUnknownStore, err)
	}
	if n == 0 {
		return 0, fmt.Errorf("%w: no migration applied", ErrUnknownStore)
	}
	return known[n-1].version, nil
}

// copyFile copies the file src into dst, which exists.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// holdIdle takes the store at file for this process alone, if the file
// exists, and holds it until release: it fails with ErrStoreInUse while
// another connection has the file open. Leaving WAL mode needs the only
// connection to the file (the others share the log through it) and folds
// the log into the file; the exclusive locking mode keeps the lock it
// takes so until the connection closes, so that a process opening the
// store meanwhile waits rather than open the file about to be replaced.
func holdIdle(ctx context.Context, file string) (release func(), err error) {
	if _, err := os.Stat(file); errors.Is(err, fs.ErrNotExist) {
		return func() {}, nil
	}
	conn := pool(file, []string{"busy_timeout(1000)", "locking_mode(EXCLUSIVE)"}, 1)
	var mode string
	if err := conn.QueryRowContext(ctx, `PRAGMA journal_mode = DELETE`).Scan(&mode); err != nil {
		conn.Close()
		if isBusy(err) {
			return nil, fmt.Errorf("%w (a linkbox serve, or an admin command): stop it first", ErrStoreInUse)
		}
		return nil, fmt.Errorf("the store %s cannot be opened, so whether it is in use is unknown: move it away, then restore: %w", file, err)
	}
	return func() { conn.Close() }, nil
}

func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}

// place renames tmp to path and syncs both, so that path holds the whole
// of tmp, or what it held before, even across a power loss.
func place(tmp, path string) error {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("db: sync %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("db: %w", err)
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	if err := dir.Sync(); err != nil {
		return fmt.Errorf("db: sync %s: %w", filepath.Dir(path), err)
	}
	return nil
}
