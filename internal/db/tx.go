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
}

// InTx runs fn in a transaction, committing if fn returns nil and rolling
// back otherwise; when it returns nil, fn's writes are committed. fn must not
// keep tx after it returns, nor call InTx itself. On SQLite, transactions
// that queue for the single writer are committed in groups (see batcher).
func (d *DB) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if d.batch != nil {
		return d.batch.do(ctx, fn)
	}
	return d.inTx(ctx, fn)
}

// inTx runs fn in a transaction of its own.
func (d *DB) inTx(ctx context.Context, fn func(tx *Tx) error) error {
	sqlTx, err := d.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
	}()
	if err := fn(&Tx{tx: sqlTx, db: d}); err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("db: rollback: %w", rbErr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", mapErr(err))
	}
	return nil
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
