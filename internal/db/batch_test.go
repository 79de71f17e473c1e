package db_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
)

// TestConcurrentTransactionsStayAtomic runs many transactions at once — on
// SQLite they share commits — and checks that each one's writes are all there
// when it succeeded and none when it failed or panicked, and that every
// caller is told its own outcome — a panic is raised in the caller.
func TestConcurrentTransactionsStayAtomic(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		ctx := context.Background()
		const n = 200
		errc := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					if p := recover(); p != nil {
						errc[i] = fmt.Errorf("panic: %v", p)
					}
				}()
				errc[i] = d.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
					for _, suffix := range []string{"a", "b"} {
						if _, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, fmt.Sprintf("k%d%s", i, suffix), "v"); err != nil {
							return err
						}
					}
					switch i % 10 {
					case 3:
						return fmt.Errorf("fail %d", i)
					case 7:
						panic("boom")
					case 9: // a conflict on the key another transaction wrote
						_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, ?)`, fmt.Sprintf("k%da", i), "dup")
						return err
					}
					return nil
				})
			}()
		}
		wg.Wait()
		for i, err := range errc {
			var want string
			switch i % 10 {
			case 3:
				want = fmt.Sprintf("fail %d", i)
			case 7:
				want = "panic"
			}
			switch {
			case i%10 == 9 && !errors.Is(err, db.ErrConflict):
				t.Errorf("tx %d: got %v, want ErrConflict", i, err)
			case want == "" && i%10 != 9 && err != nil:
				t.Errorf("tx %d: got %v, want success", i, err)
			case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
				t.Errorf("tx %d: got %v, want an error with %q", i, err, want)
			}
			var count int
			if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM settings WHERE key IN (?, ?)`, fmt.Sprintf("k%da", i), fmt.Sprintf("k%db", i)).Scan(&count); err != nil {
				t.Fatal(err)
			}
			if wantRows := map[bool]int{true: 2, false: 0}[errc[i] == nil]; count != wantRows {
				t.Errorf("tx %d (err %v): %d rows, want %d", i, errc[i], count, wantRows)
			}
		}
	})
}

func TestInTxAfterClose(t *testing.T) {
	d, err := db.Open(context.Background(), dbtest.SQLite(t))
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if err := d.InTx(context.Background(), func(context.Context, *db.Tx) error { return nil }); err == nil {
		t.Fatal("InTx on a closed store succeeded")
	}
}

func TestInTxCancelledBeforeItRuns(t *testing.T) {
	d := dbtest.Open(t, dbtest.SQLite(t))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := d.InTx(ctx, func(context.Context, *db.Tx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("got err %v, ran %v; want context.Canceled and fn not run", err, ran)
	}
}

// TestGroupCommitObservedAndPools: OnGroupCommit is told every SQLite
// commit's size, the sizes adding up to the transactions run, and Pools
// names SQLite's two pools and PostgreSQL's one.
func TestGroupCommitObservedAndPools(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var mu sync.Mutex
		commits, carried := 0, 0
		d, err := db.OpenWith(t.Context(), url, db.Options{OnGroupCommit: func(n int) {
			mu.Lock()
			defer mu.Unlock()
			commits++
			carried += n
		}})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.Migrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		before := carried
		mu.Unlock()
		const n = 100
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				if err := d.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
					_, err := tx.Exec(ctx, `INSERT INTO settings (key, value) VALUES (?, 'v')`, fmt.Sprint("g", i))
					return err
				}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		pools := d.Pools()
		if d.Dialect == db.Postgres {
			if commits != 0 || len(pools) != 1 || pools[0].Pool != "main" || pools[0].Idle+pools[0].InUse == 0 {
				t.Errorf("PostgreSQL: %d group commits observed, pools %+v; want none and one pool", commits, pools)
			}
			return
		}
		if carried-before != n || commits == 0 {
			t.Errorf("observed %d transactions in %d commits, want %d", carried-before, commits, n)
		}
		if len(pools) != 2 || pools[0].Pool != "write" || pools[1].Pool != "read" || pools[0].InUse != 0 || pools[0].Idle != 1 {
			t.Errorf("SQLite pools = %+v", pools)
		}
	})
}
