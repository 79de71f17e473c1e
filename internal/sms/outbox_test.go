package sms_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
	"github.com/linkbox/linkbox/internal/webhooks"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newOutbox returns an outbox delivering to g, a real webhook gateway, with
// millisecond backoff.
func newOutbox(t *testing.T, d *db.DB, g *smstest.Gateway) *sms.Outbox {
	t.Helper()
	signer, err := webhooks.NewSigner(g.Secret())
	if err != nil {
		t.Fatal(err)
	}
	o := sms.NewOutbox(d, &sms.Webhook{URL: g.URL(), Signer: signer}, quiet, time.Now)
	o.Backoff = func(int) time.Duration { return time.Millisecond }
	o.Poll = 10 * time.Millisecond
	return o
}

func run(t *testing.T, o *sms.Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func enqueue(t *testing.T, d *db.DB, o *sms.Outbox, to, body string, commit bool) {
	t.Helper()
	rollback := errors.New("rollback")
	err := d.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		if err := o.Enqueue(context.Background(), tx, to, body); err != nil {
			return err
		}
		if !commit {
			return rollback
		}
		return nil
	})
	if commit && err != nil || !commit && !errors.Is(err, rollback) {
		t.Fatalf("InTx: %v", err)
	}
	o.Kick()
}

func wait(t *testing.T, g *smstest.Gateway, to string) sms.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := g.Wait(ctx, to)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func status(t *testing.T, d *db.DB, to string) (sent, failed bool, attempts int, body string) {
	t.Helper()
	var s, f *int64
	err := d.QueryRow(context.Background(), `SELECT sent_at, failed_at, attempts, body FROM sms_outbox WHERE to_phone = ?`, to).
		Scan(&s, &f, &attempts, &body)
	if err != nil {
		t.Fatal(err)
	}
	return s != nil, f != nil, attempts, body
}

func TestOutboxDeliversCommittedOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		o := newOutbox(t, d, g)
		run(t, o)
		enqueue(t, d, o, "+15550000001", "rolled back", false)
		enqueue(t, d, o, "+15550000002", "code 123456", true)
		if m := wait(t, g, "+15550000002"); m.Body != "code 123456" {
			t.Fatalf("body = %q", m.Body)
		}
		for _, m := range g.Messages() {
			if m.To == "+15550000001" {
				t.Fatal("a message of a rolled-back transaction was sent")
			}
		}
		o.Kick()
		// The outcome is written right after the gateway answers.
		deadline := time.Now().Add(5 * time.Second)
		for {
			sent, _, _, body := status(t, d, "+15550000002")
			if sent && body == "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("message not marked sent with its body erased")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestOutboxSurvivesACrashBetweenCommitAndSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		// The first process commits and dies before its outbox runs.
		enqueue(t, d, newOutbox(t, d, g), "+15550000003", "hello", true)
		// The next process delivers it.
		run(t, newOutbox(t, d, g))
		if m := wait(t, g, "+15550000003"); m.Body != "hello" {
			t.Fatalf("body = %q", m.Body)
		}
	})
}

func TestOutboxRetriesThenGivesUpOnPermanentErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		o := newOutbox(t, d, g)
		g.FailNext(2, http.StatusServiceUnavailable)
		run(t, o)
		enqueue(t, d, o, "+15550000004", "retry me", true)
		wait(t, g, "+15550000004")
		if _, _, attempts, _ := status(t, d, "+15550000004"); attempts != 3 {
			t.Errorf("attempts = %d, want 3 (two failures, one success)", attempts)
		}

		g.FailNext(1, http.StatusBadRequest)
		enqueue(t, d, o, "+15550000005", "rejected", true)
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, failed, attempts, body := status(t, d, "+15550000005")
			if failed {
				if attempts != 1 || body != "" {
					t.Errorf("permanent failure: attempts %d body %q; want 1 attempt, body erased", attempts, body)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("permanent failure not recorded")
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestOutboxesInTwoProcessesSendEachMessageOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		a, b := newOutbox(t, d, g), newOutbox(t, d, g)
		const n = 40
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				enqueue(t, d, a, "+1555000"+string(rune('A'+i%26))+string(rune('a'+i/26)), "x", true)
			}()
		}
		wg.Wait()
		run(t, a)
		run(t, b)
		deadline := time.Now().Add(10 * time.Second)
		for len(g.Messages()) < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		seen := map[string]int{}
		for _, m := range g.Messages() {
			seen[m.ID]++
		}
		if len(seen) != n {
			t.Fatalf("delivered %d distinct messages, want %d", len(seen), n)
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("message %s delivered %d times", id, c)
			}
		}
	})
}

func TestExponentialBackoff(t *testing.T) {
	b := sms.ExponentialBackoff(time.Second, time.Minute)
	for n, want := range map[int]time.Duration{1: time.Second, 3: 4 * time.Second, 7: time.Minute, 100: time.Minute} {
		got := b(n)
		if got < want*8/10 || got > want*12/10 {
			t.Errorf("backoff(%d) = %v, want %v ±20%%", n, got, want)
		}
	}
}
