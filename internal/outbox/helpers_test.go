package outbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/linkbox/linkbox/internal/clocktest"
	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/outbox"
)

var quiet = slog.New(slog.DiscardHandler)

// clock is the tests' settable clock.
type clock = clocktest.Clock

func newClock() *clock { return clocktest.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)) }

// recorder is a Deliverer that records each attempt and answers with the
// errors of fail, in turn, then nil.
type recorder struct {
	mu       sync.Mutex
	attempts []outbox.Message
	fail     []error
}

func (r *recorder) Deliver(_ context.Context, m outbox.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.attempts = append(r.attempts, m)
	if len(r.fail) == 0 {
		return nil
	}
	err := r.fail[0]
	r.fail = r.fail[1:]
	return err
}

func (r *recorder) seen() []outbox.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]outbox.Message(nil), r.attempts...)
}

var errTransient = errors.New("receiver briefly down")

// enqueue queues payload of kind in a transaction that commits, or rolls
// back when commit is false.
func enqueue(t *testing.T, d *db.DB, o *outbox.Outbox, kind string, payload any, commit bool) {
	t.Helper()
	rollback := errors.New("rollback")
	err := d.InTx(t.Context(), func(ctx context.Context, tx *db.Tx) error {
		if err := o.Enqueue(ctx, tx, kind, payload); err != nil {
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

// deliverDue runs one round of o and returns how many messages it claimed.
func deliverDue(t *testing.T, o *outbox.Outbox) int {
	t.Helper()
	n, err := o.DeliverDue(t.Context())
	if err != nil {
		t.Fatalf("DeliverDue: %v", err)
	}
	return n
}

// run runs o until the returned stop is called (or the test ends); stop
// returns once o has recorded every outcome.
func run(t *testing.T, o *outbox.Outbox) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	stop = func() { cancel(); <-done }
	t.Cleanup(stop)
	return stop
}

// row is a message's state in the store.
type row struct {
	id, kind, payload, lastError string
	attempts                     int
	next                         time.Time
	delivered, givenUp           bool
}

// rows returns the store's messages of kind, oldest first.
func rows(t *testing.T, d *db.DB, kind string) []row {
	t.Helper()
	q, err := d.Query(t.Context(), `SELECT id, kind, payload, last_error, attempts, next_attempt_at, delivered_at, given_up_at
		FROM outbox WHERE kind = ? ORDER BY created_at, id`, kind)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var out []row
	for q.Next() {
		var r row
		var next int64
		var delivered, givenUp *int64
		if err := q.Scan(&r.id, &r.kind, &r.payload, &r.lastError, &r.attempts, &next, &delivered, &givenUp); err != nil {
			t.Fatal(err)
		}
		r.next, r.delivered, r.givenUp = time.UnixMilli(next), delivered != nil, givenUp != nil
		out = append(out, r)
	}
	if err := q.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// only returns the one message of kind.
func only(t *testing.T, d *db.DB, kind string) row {
	t.Helper()
	rs := rows(t, d, kind)
	if len(rs) != 1 {
		t.Fatalf("%d messages of kind %s, want 1: %+v", len(rs), kind, rs)
	}
	return rs[0]
}

// payloadOf decodes a message's payload.
func payloadOf(t *testing.T, raw []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("payload %q: %v", raw, err)
	}
	return m
}
