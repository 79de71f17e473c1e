package inbox_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/inbox"
	"github.com/linkbox/linkbox/internal/realtime"
)

// countedBroker counts its Publish calls.
type countedBroker struct {
	realtime.Broker
	published atomic.Int64
}

func (c *countedBroker) Publish(ctx context.Context, e realtime.Event) error {
	c.published.Add(1)
	return c.Broker.Publish(ctx, e)
}

// TestAnnouncedOncePerTransaction: a transaction tells a user's streams
// once, however many messages it adds for them, with the codes event if a
// code died; one that rolls back tells nothing.
func TestAnnouncedOncePerTransaction(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		var inner realtime.Broker = realtime.NewMemory()
		if strings.HasPrefix(url, "postgres") {
			inner = postgresBroker(t, url)
		}
		counted := &countedBroker{Broker: inner}
		broker := realtime.Broker(counted)
		e := newEnv(t, url, options{broker: broker})
		user, other := e.newUser(t), e.newUser(t)
		events := make(chan string, 16)
		sub := broker.Subscribe(inbox.Topic(user), func(ev realtime.Event, ok bool) {
			if ok {
				events <- string(ev.Data)
			}
		})
		t.Cleanup(sub.Close)
		ctx := context.Background()
		var code int64
		inTx := func(fn func(ctx context.Context, tx *db.Tx) error) error { return e.db.InTx(ctx, fn) }
		err := inTx(func(ctx context.Context, tx *db.Tx) error {
			for _, m := range []inbox.NewMessage{note(user, "one"), otp(user, "123456", start.Add(time.Minute)), note(other, "x"), note(user, "two")} {
				num, err := e.svc.Add(ctx, tx, m)
				if err != nil {
					return err
				}
				if m.Type == inbox.TypeOTP {
					code = num
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		errRollBack := errors.New("roll back")
		err = inTx(func(ctx context.Context, tx *db.Tx) error {
			if _, err := e.svc.Add(ctx, tx, note(user, "rolled back")); err != nil {
				return err
			}
			return errRollBack
		})
		if !errors.Is(err, errRollBack) {
			t.Fatalf("InTx = %v, want the rollback", err)
		}
		err = inTx(func(ctx context.Context, tx *db.Tx) error {
			if err := e.svc.EraseCode(ctx, tx, code); err != nil {
				return err
			}
			_, err := e.svc.Add(ctx, tx, note(user, "three"))
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		// Events keep their order, so a third one, or the rolled back
		// transaction's, would come before "codes".
		for _, want := range []string{"messages", "codes"} {
			select {
			case got := <-events:
				if got != want {
					t.Fatalf("event %q, want %q", got, want)
				}
			case <-time.After(waitTimeout):
				t.Fatalf("no event, want %q", want)
			}
		}
		if n := counted.published.Load(); n != 3 {
			t.Errorf("the broker published %d events, want 3: one per user and committed transaction", n)
		}
	})
}

// TestAddLeavesUsersRowFree: while a transaction that added a message is
// open, the account's row stays free for the accounts' updates; the
// ordering lock is the inbox's own.
func TestAddLeavesUsersRowFree(t *testing.T) {
	e := newEnv(t, dbtest.Postgres(t), options{})
	user := e.newUser(t)
	err := e.db.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		if _, err := e.svc.Add(ctx, tx, note(user, "held")); err != nil {
			return err
		}
		// Another connection, as an account update would come.
		return e.db.InTx(context.Background(), func(ctx context.Context, other *db.Tx) error {
			if _, err := other.Exec(ctx, `SET LOCAL lock_timeout = '2s'`); err != nil {
				return err
			}
			_, err := other.Exec(ctx, `UPDATE users SET updated_at = 1 WHERE id = ?`, user)
			return err
		})
	})
	if err != nil {
		t.Fatalf("update the user's row while an Add is open: %v", err)
	}
}
