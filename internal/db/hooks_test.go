package db_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestAfterCommit: hooks run once the caller's transaction has committed —
// in groups too, where a neighbour's failure rolls back only its own
// savepoint — before InTx returns, on the caller's goroutine; never after a
// rollback; keyed ones once per key.
func TestAfterCommit(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx := context.Background()
		const n = 100
		ran := make([]atomic.Int32, n)
		errc := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				errc[i] = d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprintf("hook%d", i)); err != nil {
						return err
					}
					tx.AfterCommit(func() { ran[i].Add(1) })
					for range 3 { // one hook per key, amended
						n := tx.Value("user", func() any {
							n := new(int32)
							tx.AfterCommit(func() { ran[i].Add(*n) })
							return n
						}).(*int32)
						*n += 10
					}
					if i%4 == 1 {
						return errors.New("rolled back")
					}
					return nil
				})
				// The hooks have run by the time InTx returns.
				want := int32(31)
				if i%4 == 1 {
					want = 0
				}
				if got := ran[i].Load(); got != want {
					t.Errorf("transaction %d (err %v): hooks added %d, want %d", i, errc[i], got, want)
				}
			})
		}
		wg.Wait()
		for i, err := range errc {
			if (i%4 == 1) != (err != nil) {
				t.Errorf("transaction %d: err %v", i, err)
			}
		}
	})
}

// TestCallsFromInsideATransaction: InTx, or Exec on the store, called with
// the context of a transaction's fn fails at once with ErrInTx — on SQLite
// it used to wait for the single writer, which was waiting for it, for good
// — and the writer goes on serving.
func TestCallsFromInsideATransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var nested, exec error
		err := d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			nested = d.InTx(ctx, func(context.Context, *db.Tx) error { return nil })
			_, exec = d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('inner', 'v')`)
			return nil
		})
		if err != nil || !errors.Is(nested, db.ErrInTx) || !errors.Is(exec, db.ErrInTx) {
			t.Fatalf("InTx %v; nested InTx %v, Exec %v; want nil, ErrInTx, ErrInTx", err, nested, exec)
		}
		if err := ctx.Err(); err != nil {
			t.Fatalf("the calls waited: %v", err)
		}
		if _, err := d.Exec(ctx, `INSERT INTO settings (key, value) VALUES ('after', 'v')`); err != nil {
			t.Errorf("Exec after the transaction: %v", err)
		}
	})
}
