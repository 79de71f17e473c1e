// Package outbox delivers what must reach the outside — SMS, signed
// webhooks — durably. A message is a row of the outbox table, written in the
// same transaction as the change that calls for it, and delivered afterwards
// by Run through the Deliverer registered for its kind, with retries: a
// crash between commit and delivery only delays it.
//
// Each delivery happens at least once, and a row is claimed by one process
// at a time: a claim leases the row for Lease; a process that dies
// mid-attempt loses its lease, and another claims the row again once the
// lease has run out. On PostgreSQL a claim skips the rows other instances
// are claiming (FOR UPDATE SKIP LOCKED); on SQLite the single writer
// serializes claims.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
	"github.com/linkbox/linkbox/internal/ids"
)

// Message is one row handed to a Deliverer.
type Message struct {
	// ID names the message, "<kind>_…", and stays the same across attempts
	// and replays, so that a receiver can drop a delivery it already took.
	ID      string
	Kind    string
	Payload json.RawMessage // as given to Enqueue, encoded
	Attempt int             // 1 on the first attempt, counted again from 1 after a replay
	Created time.Time
}

// Deliverer delivers the messages of one kind. An error made by Permanent
// gives the message up at once; one made by RetryAfter sets the earliest
// next attempt; any other error is retried on the kind's Retry.
type Deliverer interface {
	Deliver(ctx context.Context, m Message) error
}

// Policy is how the messages of one kind are treated.
type Policy struct {
	// Retry gives the waits between failed attempts and when to give up.
	Retry Retry
	// Erase, when set, says that the payload holds a secret (a code): once
	// the message is delivered or given up, its payload is replaced by
	// Erase's answer. Such a message cannot be replayed.
	Erase func(payload json.RawMessage) json.RawMessage
}

type registration struct {
	deliverer Deliverer
	policy    Policy
}

// Outbox is the durable outbox over one store.
type Outbox struct {
	db    *db.DB
	log   *slog.Logger
	now   func() time.Time
	wake  chan struct{}
	kinds map[string]registration
	names []string // the registered kinds, in order
	claim string   // the claiming statement, for the store's dialect

	// Poll is how often the store is checked without a Kick: for messages
	// queued by other processes and for retries that come due.
	Poll time.Duration
	// Timeout bounds one delivery attempt.
	Timeout time.Duration
	// Lease is how long a claimed message stays invisible to other claims;
	// longer than Timeout, so that an attempt records its outcome before
	// another process may take the message.
	Lease time.Duration
	// Workers bounds the messages of one kind delivered at once.
	Workers int
	// Observe, when set, is told the outcome of every attempt (nil: it was
	// delivered), for metrics. Set it while wiring, before Run.
	Observe func(kind string, err error)
}

// New returns an Outbox over d, delivering no kind until Register.
func New(d *db.DB, log *slog.Logger, now func() time.Time) *Outbox {
	return &Outbox{
		db: d, log: log, now: now,
		wake:    make(chan struct{}, 1),
		kinds:   map[string]registration{},
		claim:   claimQuery(d.Dialect),
		Poll:    time.Second,
		Timeout: 10 * time.Second,
		Lease:   30 * time.Second,
		Workers: 8,
	}
}

// validKind keeps kinds usable as id prefixes.
var validKind = regexp.MustCompile(`^[a-z][a-z0-9]*$`)

// Register has d deliver the messages of kind name, treated per p. Call it
// while wiring, before Enqueue and Run: a process delivers, and accepts,
// only the kinds registered with it. It panics on a malformed or repeated
// kind, or a Policy without Retry: bugs of the wiring.
func (o *Outbox) Register(name string, d Deliverer, p Policy) {
	if !validKind.MatchString(name) {
		panic(fmt.Sprintf("outbox: kind %q: want lower-case letters and digits", name))
	}
	if _, dup := o.kinds[name]; dup {
		panic(fmt.Sprintf("outbox: kind %q registered twice", name))
	}
	if p.Retry == nil {
		panic(fmt.Sprintf("outbox: kind %q registered without a Retry", name))
	}
	o.kinds[name] = registration{deliverer: d, policy: p}
	o.names = append(o.names, name)
}

// ErrUnknownKind is returned by Enqueue for a kind no deliverer was
// registered for in this process.
var ErrUnknownKind = errors.New("outbox: no deliverer registered for this kind")

// Enqueue queues a message of kind, whose payload is encoded with
// encoding/json, inside the transaction tx that decides to send it, and
// wakes Run once tx has committed (once per transaction, however many
// messages it queued). Nothing is sent if tx rolls back.
func (o *Outbox) Enqueue(ctx context.Context, tx *db.Tx, kind string, payload any) error {
	return o.EnqueueAt(ctx, tx, kind, payload, time.Time{})
}

// EnqueueAt is Enqueue for a message first due at at (the zero time: now),
// such as a check to make when something expires.
func (o *Outbox) EnqueueAt(ctx context.Context, tx *db.Tx, kind string, payload any, at time.Time) error {
	if _, ok := o.kinds[kind]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownKind, kind)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("outbox: encode %s payload: %w", kind, err)
	}
	now := o.now().UnixMilli()
	due := now
	if !at.IsZero() {
		due = at.UnixMilli()
	}
	_, err = tx.Exec(ctx, `INSERT INTO outbox (id, kind, payload, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		ids.New(kind+"_"), kind, string(body), due, now)
	if err != nil {
		return fmt.Errorf("outbox: enqueue %s: %w", kind, err)
	}
	tx.Value(o, func() any { tx.AfterCommit(o.Kick); return nil })
	return nil
}

// Kick wakes Run to deliver what was just committed. It never blocks.
func (o *Outbox) Kick() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// errNotReplayable refuses to replay a message that is not given up, or
// whose kind erased its payload.
var errNotReplayable = errs.E(errs.NotFound, "outbox_message_not_found", "No given-up message of a replayable kind has this id")

// Replay makes the given-up message id due again, with its id, its payload
// and a fresh count of attempts; Run delivers it as soon as it is woken.
// It is refused for a message that was delivered or is still pending, and
// for a kind not registered here or whose payload is erased.
func (o *Outbox) Replay(ctx context.Context, id string) error {
	var name string
	if err := o.db.QueryRow(ctx, `SELECT kind FROM outbox WHERE id = ? AND given_up_at IS NOT NULL`, id).Scan(&name); err != nil {
		if errors.Is(err, db.ErrNotFound) {
			return errNotReplayable
		}
		return fmt.Errorf("outbox: replay %s: %w", id, err)
	}
	if k, ok := o.kinds[name]; !ok || k.policy.Erase != nil {
		return errNotReplayable
	}
	err := db.ExecOne(ctx, o.db, `UPDATE outbox SET given_up_at = NULL, attempts = 0, leased_until = 0, next_attempt_at = ?
		WHERE id = ? AND given_up_at IS NOT NULL`, o.now().UnixMilli(), id)
	if errors.Is(err, db.ErrNotFound) {
		return errNotReplayable // replayed by another process meanwhile
	}
	if err != nil {
		return fmt.Errorf("outbox: replay %s: %w", id, err)
	}
	o.Kick()
	return nil
}
