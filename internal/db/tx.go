package db

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// Tx is a transaction. Inside a transaction every query must go through the
// Tx: on SQLite the writer pool has one connection, held by the transaction.
type Tx struct {
	tx *sql.Tx
	db *DB
	// hooks run once the transaction has committed; values are the
	// transaction's own (Value). Each caller of InTx has a Tx of its own,
	// even within a group.
	hooks  []func()
	values map[any]any
}

// ErrInTx is returned by InTx and DB.Exec called with the context of a
// transaction's fn: the store must then be used through the Tx. On SQLite
// the writer runs one transaction at a time, so such a call used to wait for
// itself for good; on PostgreSQL it ran outside the transaction, which was
// then no longer atomic.
var ErrInTx = errors.New("db: the store was called directly from inside a transaction: use its Tx")

// txKey marks the context InTx hands to fn.
type txKey struct{}

func inTransaction(ctx context.Context) bool { return ctx.Value(txKey{}) != nil }

// InTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise; when it returns nil, fn's writes are committed and the
// hooks fn registered with AfterCommit have run. fn receives ctx marked as
// inside the transaction: calling InTx or DB.Exec with it fails with
// ErrInTx. fn must not keep tx after it returns. On SQLite, transactions
// that queue for the single writer are committed in groups (see batcher).
func (d *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx *Tx) error) error {
	if inTransaction(ctx) {
		return ErrInTx
	}
	ctx = context.WithValue(ctx, txKey{}, struct{}{})
	if d.batch != nil {
		return d.batch.do(ctx, fn)
	}
	tx, err := d.inTx(ctx, fn)
	if err == nil {
		tx.runHooks()
	}
	return err
}

// inTx runs fn in a transaction of its own, returning its Tx.
func (d *DB) inTx(ctx context.Context, fn func(context.Context, *Tx) error) (*Tx, error) {
	sqlTx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("db: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
	}()
	tx := &Tx{tx: sqlTx, db: d}
	if err := fn(ctx, tx); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return nil, errors.Join(err, fmt.Errorf("db: rollback: %w", rbErr))
		}
		return nil, err
	}
	if err := sqlTx.Commit(); err != nil {
		return nil, fmt.Errorf("db: commit: %w", mapErr(err))
	}
	return tx, nil
}

// AfterCommit has fn run once the transaction has committed — never if it
// rolls back, nor if its savepoint in a group does — on the goroutine of
// InTx's caller, before InTx returns. It is where the transaction's effects
// are announced: a live event, a worker woken for an outbox row.
func (t *Tx) AfterCommit(fn func()) {
	t.hooks = append(t.hooks, fn)
}

// Value returns the transaction's value under key, made by mk the first
// time it is asked for: state that lives as long as the transaction, such
// as what a hook is to announce, which later writes of the same transaction
// amend (one announcement per user, however many messages it wrote for
// them). key must be comparable.
func (t *Tx) Value(key any, mk func() any) any {
	if v, ok := t.values[key]; ok {
		return v
	}
	if t.values == nil {
		t.values = map[any]any{}
	}
	v := mk()
	t.values[key] = v
	return v
}

func (t *Tx) runHooks() {
	for _, fn := range t.hooks {
		fn()
	}
}

// Dialect is the engine the transaction runs on.
func (t *Tx) Dialect() Dialect { return t.db.Dialect }

// stmt returns the cached statement for query bound to the transaction, or
// nil to run it unprepared. On SQLite the writer pool has one connection, so
// the statement prepared on the pool is reused as is. It never prepares on
// the pool itself: the transaction holds the pool's only connection.
func (t *Tx) stmt(ctx context.Context, query string, args []any) *sql.Stmt {
	if st := t.db.stmts.cached(t.db.write, query, args); st != nil {
		return t.tx.StmtContext(ctx, st)
	}
	return nil
}

// QueryRow runs a query expected to return at most one row.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *Row {
	ctx = t.db.detach(ctx)
	if st := t.stmt(ctx, query, args); st != nil {
		return &Row{st.QueryRowContext(ctx, args...)}
	}
	return &Row{t.tx.QueryRowContext(ctx, t.db.bind(query), args...)}
}

// Query runs a query.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	ctx = t.db.detach(ctx)
	if st := t.stmt(ctx, query, args); st != nil {
		rows, err := st.QueryContext(ctx, args...)
		return rows, mapErr(err)
	}
	rows, err := t.tx.QueryContext(ctx, t.db.bind(query), args...)
	return rows, mapErr(err)
}

// Exec runs one statement.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	ctx = t.db.detach(ctx)
	if st := t.stmt(ctx, query, args); st != nil {
		res, err := st.ExecContext(ctx, args...)
		return res, mapErr(err)
	}
	res, err := t.tx.ExecContext(ctx, t.db.bind(query), args...)
	return res, mapErr(err)
}

// ExecOne runs a statement that must change exactly one row; ErrNotFound
// otherwise. It is the check behind conditional updates ("… WHERE used_at IS
// NULL") that must win a race or fail.
func ExecOne(ctx context.Context, q Querier, query string, args ...any) error {
	res, err := q.Exec(ctx, query, args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("db: rows affected: %w", err)
	}
	if n != 1 {
		return ErrNotFound
	}
	return nil
}

// Column is the scan of QueryAll for rows of one column: a list of ids,
// of names, of what a DELETE … RETURNING gave back.
func Column[T any](rows *sql.Rows) (T, error) {
	var v T
	err := rows.Scan(&v)
	return v, err
}

// QueryAll runs a query on q and returns every row, read by scan; it is
// never nil, so an empty result encodes as []. The rows are read to the end
// and closed before it returns: a transaction's connection runs one
// statement at a time.
func QueryAll[T any](ctx context.Context, q Querier, scan func(*sql.Rows) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, mapErr(err)
	}
	return out, nil
}
