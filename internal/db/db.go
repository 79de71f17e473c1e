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
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"

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
}

// Open connects to the store named by rawURL: "sqlite:PATH" or
// "postgres://…" (also "postgresql://…").
func Open(ctx context.Context, rawURL string) (*DB, error) {
	var (
		d   *DB
		err error
	)
	switch {
	case strings.HasPrefix(rawURL, "sqlite:"):
		d, err = openSQLite(strings.TrimPrefix(rawURL, "sqlite:"))
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

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("db: sqlite: empty path")
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	// NORMAL is durable across application crashes in WAL mode; only a power
	// loss may roll back the last transactions.
	q.Add("_pragma", "synchronous(NORMAL)")
	// IMMEDIATE takes the write lock at BEGIN, so a transaction that reads
	// then writes cannot fail to upgrade its lock halfway through.
	q.Set("_txlock", "immediate")
	dsn := "file:" + path + "?" + q.Encode()
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	q.Add("_pragma", "query_only(1)")
	read, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("db: open sqlite: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)
	read.SetConnMaxLifetime(0)
	return &DB{Dialect: SQLite, write: write, read: read}, nil
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

// QueryRow runs a query expected to return at most one row, on the read pool.
func (d *DB) QueryRow(ctx context.Context, query string, args ...any) *Row {
	return &Row{d.read.QueryRowContext(ctx, d.bind(query), args...)}
}

// Query runs a query on the read pool.
func (d *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := d.read.QueryContext(ctx, d.bind(query), args...)
	return rows, mapErr(err)
}

// Exec runs one statement on the write pool, as its own transaction.
func (d *DB) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
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
