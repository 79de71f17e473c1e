package sms_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/dbtest"
	"github.com/linkbox/linkbox/internal/outbox"
	"github.com/linkbox/linkbox/internal/sms"
	"github.com/linkbox/linkbox/internal/sms/smstest"
	"github.com/linkbox/linkbox/internal/webhooks"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// queue is one process's SMS queue and the outbox behind it.
type queue struct {
	*sms.Queue
	outbox *outbox.Outbox
}

// newQueue returns a queue delivering to g, a real webhook gateway, with
// millisecond backoff.
func newQueue(t *testing.T, d *db.DB, g *smstest.Gateway) queue {
	t.Helper()
	signer, err := webhooks.NewSigner(g.Secret())
	if err != nil {
		t.Fatal(err)
	}
	o := outbox.New(d, quiet, time.Now)
	o.Poll = 10 * time.Millisecond
	q := sms.NewQueue(o, &sms.Webhook{URL: g.URL(), Signer: signer}, outbox.Exponential(time.Millisecond, time.Millisecond, 8))
	return queue{q, o}
}

// run runs q's outbox until the test ends.
func run(t *testing.T, q queue) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.outbox.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func enqueue(t *testing.T, d *db.DB, q queue, to, body string, commit bool) {
	t.Helper()
	rollback := errors.New("rollback")
	err := d.InTx(context.Background(), func(ctx context.Context, tx *db.Tx) error {
		if err := q.Enqueue(ctx, tx, to, body); err != nil {
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

// state is an SMS's row in the outbox.
type state struct {
	delivered, givenUp bool
	attempts           int
	payload            map[string]string
}

// status returns the state of the one SMS to to.
func status(t *testing.T, d *db.DB, to string) state {
	t.Helper()
	rows, err := db.QueryAll(context.Background(), d, func(rows *sql.Rows) (s state, err error) {
		var delivered, givenUp *int64
		var payload string
		if err := rows.Scan(&delivered, &givenUp, &s.attempts, &payload); err != nil {
			return s, err
		}
		s.delivered, s.givenUp = delivered != nil, givenUp != nil
		return s, json.Unmarshal([]byte(payload), &s.payload)
	}, `SELECT delivered_at, given_up_at, attempts, payload FROM outbox WHERE kind = 'sms'`)
	if err != nil {
		t.Fatal(err)
	}
	var found []state
	for _, s := range rows {
		if s.payload["to"] == to {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d SMS to %s in the outbox, want 1", len(found), to)
	}
	return found[0]
}

// eventually waits for the SMS to to reach a state that ok accepts.
func eventually(t *testing.T, d *db.DB, to string, ok func(state) bool) state {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		s := status(t, d, to)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("SMS to %s: %+v", to, s)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestQueueDeliversCommittedOnly(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		q := newQueue(t, d, g)
		run(t, q)
		enqueue(t, d, q, "+15550000001", "rolled back", false)
		enqueue(t, d, q, "+15550000002", "code 123456", true)
		if m := wait(t, g, "+15550000002"); m.Body != "code 123456" {
			t.Fatalf("body = %q", m.Body)
		}
		for _, m := range g.Messages() {
			if m.To == "+15550000001" {
				t.Fatal("a message of a rolled-back transaction was sent")
			}
		}
		// The outcome is written right after the gateway answers; the
		// body, with its code, is erased, the recipient kept.
		s := eventually(t, d, "+15550000002", func(s state) bool { return s.delivered })
		if _, kept := s.payload["body"]; kept || s.attempts != 1 {
			t.Errorf("sent SMS: %+v, want its body erased after 1 attempt", s)
		}
	})
}

func TestQueueSurvivesACrashBetweenCommitAndSend(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		// The first process commits and dies before its outbox runs.
		enqueue(t, d, newQueue(t, d, g), "+15550000003", "hello", true)
		// The next process delivers it.
		run(t, newQueue(t, d, g))
		if m := wait(t, g, "+15550000003"); m.Body != "hello" {
			t.Fatalf("body = %q", m.Body)
		}
	})
}

func TestQueueRetriesThenGivesUpOnPermanentErrors(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		q := newQueue(t, d, g)
		g.FailNext(2, http.StatusServiceUnavailable)
		run(t, q)
		enqueue(t, d, q, "+15550000004", "retry me", true)
		wait(t, g, "+15550000004")
		if s := eventually(t, d, "+15550000004", func(s state) bool { return s.delivered }); s.attempts != 3 {
			t.Errorf("attempts = %d, want 3 (two failures, one success)", s.attempts)
		}

		g.FailNext(1, http.StatusBadRequest)
		enqueue(t, d, q, "+15550000005", "rejected", true)
		s := eventually(t, d, "+15550000005", func(s state) bool { return s.givenUp })
		if _, kept := s.payload["body"]; kept || s.attempts != 1 || s.payload["to"] != "+15550000005" {
			t.Errorf("permanent failure: %+v; want 1 attempt, body erased", s)
		}
		var gaveUp string
		if err := d.QueryRow(context.Background(), `SELECT id FROM outbox WHERE given_up_at IS NOT NULL`).Scan(&gaveUp); err != nil {
			t.Fatal(err)
		}
		if err := q.outbox.Replay(context.Background(), gaveUp); err == nil {
			t.Error("an SMS, its body erased, was replayed")
		}
	})
}

func TestQueuesInTwoProcessesSendEachMessageOnce(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, url string) {
		d := dbtest.Open(t, url)
		g := smstest.NewGateway(t)
		a, b := newQueue(t, d, g), newQueue(t, d, g)
		const n = 40
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				enqueue(t, d, a, "+1555000"+string(rune('A'+i%26))+string(rune('a'+i/26)), "x", true)
			})
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

func TestDefaultRetry(t *testing.T) {
	retry := sms.DefaultRetry()
	if wait, again := retry(1); !again || wait < 800*time.Millisecond || wait > 1200*time.Millisecond {
		t.Errorf("after the first failure: %v, %v; want 1 s ±20%%", wait, again)
	}
	if _, again := retry(7); !again {
		t.Error("the 8th attempt is not made")
	}
	if _, again := retry(8); again {
		t.Error("a 9th attempt would be made")
	}
}
