package db

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"slices"
)

// Sync is how durable a commit acknowledged by SQLite is (its
// synchronous pragma).
type Sync string

// The durability settings of SQLite.
const (
	// SyncFull fsyncs the write-ahead log at every commit: a transaction
	// InTx reports committed survives power loss and an OS crash. Group
	// commit shares that fsync among the transactions queued together.
	SyncFull Sync = "full"
	// SyncNormal fsyncs the log only at checkpoints: a commit survives a
	// crash of the process, but the last ones before a power loss or an OS
	// crash may be lost.
	SyncNormal Sync = "normal"
)

// DefaultWALLimit is the size of the write-ahead log past which the
// checkpointer makes it start over (Options.WALLimit).
const DefaultWALLimit = 64 << 20

// storeBusyTimeout is how long the writer and the readers wait for a lock
// another process holds (an admin command's transaction, say).
const storeBusyTimeout = "busy_timeout(10000)"

// pragma is s as the synchronous pragma's argument.
func (s Sync) pragma() (string, error) {
	switch s {
	case "", SyncFull:
		return "FULL", nil
	case SyncNormal:
		return "NORMAL", nil
	}
	return "", fmt.Errorf("db: sqlite: sync %q: want full or normal", s)
}

func openSQLite(path string, opt Options) (*DB, error) {
	if path == "" {
		return nil, errors.New("db: sqlite: empty path")
	}
	sync, err := opt.Sync.pragma()
	if err != nil {
		return nil, err
	}
	if err := createPrivate(path, opt.Log); err != nil {
		return nil, err
	}
	opt.WALLimit = cmp.Or(opt.WALLimit, DefaultWALLimit)
	common := []string{
		"journal_mode(WAL)",
		"foreign_keys(1)",
		"synchronous(" + sync + ")",
		// Once the log starts over (see checkpointer), the commit that
		// writes from its start cuts the file back to this size; without
		// it the file keeps the size of its longest run.
		fmt.Sprintf("journal_size_limit(%d)", opt.WALLimit),
	}
	ckpt := pool(path, slices.Concat([]string{fmt.Sprintf("busy_timeout(%d)", checkpointBusyTimeout.Milliseconds())}, common), 1)
	write := pool(path, slices.Concat([]string{storeBusyTimeout}, common, []string{
		// The writer never checkpoints: the checkpointer does, off its path.
		"wal_autocheckpoint(0)",
		// Writes land on random b-tree pages (users, links, OTPs and the
		// inbox are keyed by random ids), which the default 2 MiB cache
		// kept evicting: the writer, which every write waits for, then read
		// them back from the file, a syscall each. Up to 32 MiB keeps them;
		// the cache grows only as pages are used.
		"cache_size(-32768)",
	}), 1)
	read := pool(path, slices.Concat([]string{storeBusyTimeout}, common, []string{"query_only(1)"}), max(4, 2*runtime.GOMAXPROCS(0)))
	return NewSQLite(SQLitePools{Write: write, Read: read, Checkpoint: ckpt}, path, opt), nil
}

// SQLitePools are the connections of a SQLite store at one file: Write,
// the writer, one connection that never checkpoints (wal_autocheckpoint 0);
// Read, read-only connections; Checkpoint, one connection for the
// checkpointer. Every connection has the store's pragmas.
type SQLitePools struct {
	Write, Read, Checkpoint *sql.DB
}

// NewSQLite assembles a store over pools opened by the driver of the
// caller's choice: the statement cache, group commit and checkpointer that
// make the store. Open uses it for the pure-Go driver; the driver
// comparison in bench/ uses it for the cgo one, so that only the driver
// differs.
func NewSQLite(pools SQLitePools, path string, opt Options) *DB {
	opt.WALLimit = cmp.Or(opt.WALLimit, DefaultWALLimit)
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	d := &DB{Dialect: SQLite, write: pools.Write, read: pools.Read, stmts: &stmtCache{}, file: path}
	d.batch = newBatcher(d, opt.OnGroupCommit)
	d.ckpt = newCheckpointer(pools.Checkpoint, opt, &d.batch.gate)
	return d
}

// createPrivate creates the database file, empty and mode 0600, unless it
// exists. SQLite would create it 0644 (less the umask), and it creates the
// -wal, -shm and -journal files with the mode of the database file, so
// creating that one first makes all four private. The alternatives are
// worse: a umask is the whole process's and would change the mode of every
// file it creates, and a chmod after SQLite opened the file would leave the
// files readable for a moment. An existing file keeps its mode, the
// operator's choice, with a warning when others may read it.
func createPrivate(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("db: sqlite: create %s: %w", path, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("db: sqlite: %w", err)
	}
	// Windows reports 0666 for every writable file: its access is in ACLs.
	if m := fi.Mode().Perm(); m&0o077 != 0 && runtime.GOOS != "windows" {
		log.Warn("the SQLite store is open to other users: chmod 600 it and its -wal and -shm files",
			"file", path, "mode", fmt.Sprintf("%#o", m))
	}
	return nil
}

// pool returns a pool of at most n connections to the SQLite file, each set
// up by pragmas in order (the busy timeout first, so that the others wait
// for a lock rather than fail); opening is lazy and cannot fail here —
// Open's Ping reports a bad path.
func pool(path string, pragmas []string, n int) *sql.DB {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	// IMMEDIATE takes the write lock at BEGIN, so a transaction that reads
	// then writes cannot fail to upgrade its lock halfway through.
	q.Set("_txlock", "immediate")
	p, _ := sql.Open("sqlite", "file:"+path+"?"+q.Encode()) // only fails for an unknown driver
	p.SetMaxOpenConns(n)
	p.SetMaxIdleConns(n)
	p.SetConnMaxLifetime(0)
	return p
}
