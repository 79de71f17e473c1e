// Package db opens the Linkbox store — SQLite (embedded default) or
// PostgreSQL — applies its migrations and runs queries written once for both.
//
// Queries use "?" placeholders; for PostgreSQL they are rewritten to $1, $2…
// once and cached. Only portable SQL is used: INSERT … ON CONFLICT,
// RETURNING, BIGINT Unix-millisecond times, TEXT ids.
package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// The supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Errors returned at the store boundary in place of driver errors.
var (
	ErrNotFound = errors.New("db: not found")
	ErrConflict = errors.New("db: conflict")
)

// DB is the store. It is safe for concurrent use.
type DB struct {
	Dialect Dialect
	// write runs transactions and writes. For SQLite it holds one connection:
	// SQLite allows one writer at a time, and queueing writers in Go is far
	// cheaper than letting them collide on the file lock and spin in
	// busy_timeout. For PostgreSQL it is the same pool as read.
	write *sql.DB
	// read serves queries outside transactions; in WAL mode SQLite readers
	// never block the writer nor each other.
	read  *sql.DB
	binds sync.Map // query -> query rewritten for the dialect
	// stmts caches prepared statements for SQLite, whose driver would
	// otherwise parse and plan every statement on every call (a quarter of
	// the CPU of a short transaction). pgx caches them by itself.
	stmts *stmtCache
	// batch groups SQLite transactions into shared commits; nil on
	// PostgreSQL, where transactions run side by side.
	batch *batcher
	ckpt  *checkpointer // SQLite only
	file  string        // SQLite only: the database file's path
}

// PoolStats are one connection pool's counts.
type PoolStats struct {
	Pool        string // "write" or "read" on SQLite; "main" on PostgreSQL, whose one pool does both
	InUse, Idle int
}

// Pools returns the counts of the store's connection pools.
func (d *DB) Pools() []PoolStats {
	if d.write == d.read {
		s := d.read.Stats()
		return []PoolStats{{Pool: "main", InUse: s.InUse, Idle: s.Idle}}
	}
	w, r := d.write.Stats(), d.read.Stats()
	return []PoolStats{{Pool: "write", InUse: w.InUse, Idle: w.Idle}, {Pool: "read", InUse: r.InUse, Idle: r.Idle}}
}

// File is the path of the SQLite database file, "" on PostgreSQL.
func (d *DB) File() string { return d.file }

// Options tune how a store is opened; the zero value is the default of
// production. A struct beside the URL, rather than parameters in it: the
// URL names the store and is shared by every process of a deployment (the
// admin commands, the load tool), while these are settings of one process,
// each with a variable of its own.
type Options struct {
	// Sync is SQLite's durability of a commit; "" is SyncFull.
	Sync Sync
	// WALLimit is the size in bytes of SQLite's write-ahead log past which
	// the checkpointer waits for readers to move off it so that it starts
	// over; 0 is DefaultWALLimit.
	WALLimit int64
	// Log receives the store's warnings (a checkpoint that cannot finish,
	// a store file others can read); nil is slog.Default().
	Log *slog.Logger
	// OnGroupCommit, when set, is told the size of each SQLite group
	// commit (how many callers' transactions one commit carried), for
	// metrics. It runs on the writer: it must be quick.
	OnGroupCommit func(size int)
	// checkpointEvery is the checkpointer's interval; 0 is
	// checkpointInterval. Tests make it long and run the ticks themselves.
	checkpointEvery time.Duration
}

// Open connects to the store named by rawURL with the default Options.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	return OpenWith(ctx, rawURL, Options{})
}

// OpenWith connects to the store named by rawURL: "sqlite:PATH" or
// "postgres://…" (also "postgresql://…").
func OpenWith(ctx context.Context, rawURL string, opt Options) (*DB, error) {
	var (
		d   *DB
		err error
	)
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		d, err = openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), opt)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		d, err = openPostgres(rawURL)
	default:
		return nil, fmt.Errorf("db: unsupported database URL %q: want sqlite:PATH or postgres://…", rawURL)
	}
	if err != nil {
		return nil, err
	}
	if err := d.Ping(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func openPostgres(dsn string) (*DB, error) {
	pool, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open postgres: %w", err)
	}
	pool.SetMaxOpenConns(max(16, 4*runtime.GOMAXPROCS(0)))
	pool.SetMaxIdleConns(max(16, 4*runtime.GOMAXPROCS(0)))
	return &DB{Dialect: Postgres, write: pool, read: pool}, nil
}

// Ping checks that the store answers; it backs /readyz.
func (d *DB) Ping(ctx context.Context) error {
	// The read pool: SQLite's only writer connection may be held by a long
	// transaction, and a read proves the file is reachable.
	if err := d.read.PingContext(ctx); err != nil {
		return fmt.Errorf("db: ping: %w", err)
	}
	return nil
}

// Close closes every connection.
func (d *DB) Close() error {
	if d.batch != nil {
		d.batch.close()
	}
	d.stmts.close()
	if d.ckpt != nil {
		defer d.ckpt.close()
	}
	err := d.write.Close()
	if d.read != d.write {
		err = errors.Join(err, d.read.Close())
	}
	return err
}

// bind rewrites "?" placeholders for the dialect.
func (d *DB) bind(query string) string {
	if d.Dialect != Postgres {
		return query
	}
	if q, ok := d.binds.Load(query); ok {
		return q.(string)
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	d.binds.Store(query, b.String())
	return b.String()
}

// stmtCache holds prepared statements per pool and query. Only statements
// with arguments are cached: the queries of the code, a bounded set, while
// argument-less text such as a migration may hold several statements, which
// a prepared statement cannot.
type stmtCache struct {
	m         sync.Map // stmtKey -> *sql.Stmt
	n         atomic.Int32
	preparing sync.Map // stmtKey -> true, once a background prepare started
}

type stmtKey struct {
	pool  *sql.DB
	query string
}

// maxStmts bounds the cache should a caller build queries dynamically.
const maxStmts = 512

// get returns the prepared statement for query on pool, preparing it on a
// miss, or nil to run the query unprepared (no cache, no arguments, cache
// full, or prepare failed — then the plain call reports the error).
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, query string, args []any) *sql.Stmt {
	if len(args) == 0 {
		return nil
	}
	return c.prepare(ctx, pool, query)
}

// prepare is get for a query known to be one statement, with arguments or
// not (the group commit's savepoint statements).
func (c *stmtCache) prepare(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	if c == nil {
		return nil
	}
	if st := c.load(pool, query); st != nil || c.n.Load() >= maxStmts {
		return st
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(stmtKey{pool, query}, st); loaded {
		st.Close()
		return prev.(*sql.Stmt)
	}
	c.n.Add(1)
	return st
}

// cached returns the prepared statement for query on pool if there is one.
// On a miss it has the statement prepared in the background once the pool has
// a free connection: inside a transaction the writer's only connection is
// taken, and waiting for it here would deadlock.
func (c *stmtCache) cached(pool *sql.DB, query string, args []any) *sql.Stmt {
	if c == nil || len(args) == 0 {
		return nil
	}
	if st := c.load(pool, query); st != nil {
		return st
	}
	if _, busy := c.preparing.LoadOrStore(stmtKey{pool, query}, true); !busy && c.n.Load() < maxStmts {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c.get(ctx, pool, query, args)
		}()
	}
	return nil
}

// load returns the prepared statement for query on pool, nil if none.
func (c *stmtCache) load(pool *sql.DB, query string) *sql.Stmt {
	if st, ok := c.m.Load(stmtKey{pool, query}); ok {
		return st.(*sql.Stmt)
	}
	return nil
}

// close closes every cached statement.
func (c *stmtCache) close() {
	if c == nil {
		return
	}
	c.m.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
}

// Querier runs queries; both *DB and *Tx are Queriers, so helpers can serve
// inside and outside transactions.
type Querier interface {
	QueryRow(ctx context.Context, query string, args ...any) *Row
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
}

var (
	_ Querier = (*DB)(nil)
	_ Querier = (*Tx)(nil)
)

// Row is the result of QueryRow; its Scan reports ErrNotFound for no rows.
type Row struct{ row *sql.Row }

// Scan copies the row into dest.
func (r *Row) Scan(dest ...any) error { return mapErr(r.row.Scan(dest...)) }

// detach returns ctx without its cancellation on SQLite, for statements
// that take microseconds there: the driver (and, outside a transaction,
// database/sql) watches a cancellable context with a goroutine per
// statement, which cost more than the statement. It made the load tool's
// link status 5 % faster (point reads) and OTP send's CPU 10 % lower (the
// writer's statements, on the path every writer queues behind; the writer
// checks each caller's context before running its transaction).
func (d *DB) detach(ctx context.Context) context.Context {
	if d.Dialect == SQLite {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// QueryRow runs a query expected to return at most one row, on the read pool.
// It is for lookups by key, so its context is detached on SQLite.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *Row {
	ctx = d.detach(ctx)
	if st := d.stmts.get(ctx, d.read, query, args); st != nil {
		return &Row{st.QueryRowContext(ctx, args...)}
	}
	return &Row{d.read.QueryRowContext(ctx, d.bind(query), args...)}
}

// Query runs a query on the read pool.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := d.stmts.get(ctx, d.read, query, args); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, mapErr(err)
	}
	rows, err := d.read.QueryContext(ctx, d.bind(query), args...)
	return rows, mapErr(err)
}

// Exec runs one statement on the write pool, as its own transaction. Called
// with the context of a transaction's fn it fails with ErrInTx.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if inTransaction(ctx) {
		return nil, ErrInTx
	}
	if st := d.stmts.get(ctx, d.write, query, args); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, mapErr(err)
	}
	res, err := d.write.ExecContext(ctx, d.bind(query), args...)
	return res, mapErr(err)
}

// mapErr turns driver errors into the store's sentinel errors, keeping the
// original in the chain.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return ErrNotFound
	case isUniqueViolation(err):
		return fmt.Errorf("%w: %w", ErrConflict, err)
	}
	return err
}

func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		c := se.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}
