package sms

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
)

// Outbox delivers SMS durably. A message is written to the sms_outbox table in
// the same transaction as the change that calls for it, and sent afterwards by
// Run, with retries and backoff; a crash between commit and send only delays
// it. Several processes may run outboxes on one store: each message is leased
// to one of them at a time.
type Outbox struct {
	db     *db.DB
	sender Sender
	log    *slog.Logger
	now    func() time.Time
	wake   chan struct{}

	// Poll is how often the store is checked without a Kick: for messages
	// queued by other processes and for retries that come due.
	Poll time.Duration
	// Lease is how long a message claimed by one delivery attempt stays
	// invisible to others; longer than any attempt.
	Lease time.Duration
	// MaxAttempts bounds the attempts per message before it is given up.
	MaxAttempts int
	// Backoff gives the wait after the n-th failed attempt (n ≥ 1).
	Backoff func(n int) time.Duration
	// Workers bounds the messages sent at once.
	Workers int
	// Budget, when set, is consulted by Enqueue before each message: every
	// SMS, whichever door asks for it, goes through Enqueue.
	Budget *Budget
}

// NewOutbox returns an Outbox that delivers through s.
func NewOutbox(d *db.DB, s Sender, log *slog.Logger, now func() time.Time) *Outbox {
	return &Outbox{
		db: d, sender: s, log: log, now: now,
		wake:        make(chan struct{}, 1),
		Poll:        time.Second,
		Lease:       2 * httpTimeout,
		MaxAttempts: 8,
		Backoff:     ExponentialBackoff(time.Second, 5*time.Minute),
		Workers:     8,
	}
}

// ExponentialBackoff doubles the wait from base up to limit, with ±20% jitter
// so that retries from many messages do not arrive together.
func ExponentialBackoff(base, limit time.Duration) func(n int) time.Duration {
	return func(n int) time.Duration {
		d := limit
		if n < 32 && base<<(n-1) < limit {
			d = base << (n - 1)
		}
		return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
	}
}

// Enqueue queues a message to to inside the transaction tx that decides to
// send it, and wakes Run once tx has committed. When the Budget refuses the message, Enqueue writes nothing and returns
// the refusal, an *errs.Error (sms_country_not_allowed,
// sms_budget_exhausted): return it, so that the transaction rolls back
// whole and the client learns why.
func (o *Outbox) Enqueue(ctx context.Context, tx *db.Tx, to, body string) error {
	if o.Budget != nil {
		if err := o.Budget.Take(ctx, to); err != nil {
			return err
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO sms_outbox (id, to_phone, body, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)`,
		ids.New("sms_"), to, body, o.now().UnixMilli(), o.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("sms outbox: enqueue: %w", err)
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

// Run delivers due messages until ctx ends.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	for {
		for {
			n, err := o.deliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				o.log.Error("sms outbox: delivery round failed", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		}
	}
}

type queued struct {
	id, to, body string
	attempts     int
}

// deliverDue claims a batch of due messages and sends them, returning how
// many it claimed.
func (o *Outbox) deliverDue(ctx context.Context) (int, error) {
	batch, err := o.claim(ctx)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	for _, m := range batch {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			o.deliver(ctx, m)
		}()
	}
	wg.Wait()
	return len(batch), nil
}

// claim leases up to 32 due messages to this process.
func (o *Outbox) claim(ctx context.Context) ([]queued, error) {
	now := o.now().UnixMilli()
	due, err := db.QueryAll(ctx, o.db, func(rows *sql.Rows) (m queued, err error) {
		return m, rows.Scan(&m.id, &m.to, &m.body, &m.attempts)
	}, `SELECT id, to_phone, body, attempts FROM sms_outbox
		WHERE sent_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? AND locked_until <= ?
		ORDER BY next_attempt_at LIMIT 32`, now, now)
	if err != nil {
		return nil, fmt.Errorf("sms outbox: due: %w", err)
	}
	if len(due) == 0 {
		return nil, nil // no write transaction for an idle poll
	}
	// One transaction for the batch: one commit, and a failure leaves no
	// message leased by a round that will not send it.
	var claimed []queued
	err = o.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		claimed = due[:0]
		for _, m := range due {
			err := db.ExecOne(ctx, tx, `UPDATE sms_outbox SET locked_until = ?, attempts = attempts + 1
				WHERE id = ? AND locked_until <= ? AND sent_at IS NULL AND failed_at IS NULL`,
				now+o.Lease.Milliseconds(), m.id, now)
			if errors.Is(err, db.ErrNotFound) {
				continue // another process took it
			}
			if err != nil {
				return err
			}
			m.attempts++
			claimed = append(claimed, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sms outbox: claim: %w", err)
	}
	return claimed, nil
}

// deliver makes one attempt and records its outcome. The body, which may hold
// a code, is erased once the message is sent or given up.
func (o *Outbox) deliver(ctx context.Context, m queued) {
	sendCtx, cancel := context.WithTimeout(ctx, httpTimeout)
	err := o.sender.Send(sendCtx, Message{ID: m.id, To: m.to, Body: m.body})
	cancel()
	now := o.now().UnixMilli()
	var q string
	var args []any
	switch {
	case err == nil:
		q, args = `UPDATE sms_outbox SET sent_at = ?, body = '', locked_until = 0, last_error = '' WHERE id = ?`, []any{now, m.id}
	case errors.Is(err, ErrPermanent) || m.attempts >= o.MaxAttempts:
		o.log.Error("sms outbox: giving up", "id", m.id, "attempts", m.attempts, "err", err)
		q, args = `UPDATE sms_outbox SET failed_at = ?, body = '', locked_until = 0, last_error = ? WHERE id = ?`, []any{now, err.Error(), m.id}
	default:
		o.log.Warn("sms outbox: will retry", "id", m.id, "attempts", m.attempts, "err", err)
		next := now + o.Backoff(m.attempts).Milliseconds()
		q, args = `UPDATE sms_outbox SET next_attempt_at = ?, locked_until = 0, last_error = ? WHERE id = ?`, []any{next, err.Error(), m.id}
	}
	// The outcome is recorded even when ctx ended during the send.
	if _, err := o.db.Exec(context.WithoutCancel(ctx), q, args...); err != nil {
		o.log.Error("sms outbox: record outcome", "id", m.id, "err", err)
	}
}
