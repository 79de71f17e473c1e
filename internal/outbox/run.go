package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

// maxErrorBytes caps the last error kept on a row.
const maxErrorBytes = 1000

// Run delivers due messages until ctx ends, then waits for the attempts
// under way to record their outcomes. Each kind has Workers attempts under
// way at most, so that a slow receiver of one kind holds up no other; a
// message is claimed only when a worker is free for it, so that its lease
// runs while it is being delivered, not while it waits. Several processes
// may run outboxes on one store.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	finished := make(chan string, o.Workers*len(o.names)) // the kind of each attempt done
	busy := map[string]int{}
	for {
		for _, kind := range o.names {
			batch, err := o.claimDue(ctx, kind, o.Workers-busy[kind])
			if err != nil && ctx.Err() == nil {
				o.log.Error("outbox: claim failed", "kind", kind, "err", err)
			}
			busy[kind] += len(batch)
			for _, m := range batch {
				wg.Go(func() { o.deliver(ctx, m); finished <- m.Kind })
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-o.wake:
		case <-t.C:
		case kind := <-finished:
			busy[kind]--
			drain(finished, busy) // claim once for every attempt done meanwhile
		}
	}
}

// drain counts out the attempts that finished without waiting for more.
func drain(finished <-chan string, busy map[string]int) {
	for {
		select {
		case kind := <-finished:
			busy[kind]--
		default:
			return
		}
	}
}

// claimed is a message leased to this process until lease.
type claimed struct {
	Message
	lease int64
}

// Statements finding, then leasing, the due messages of a kind. The claim
// locks the rows it takes on PostgreSQL, skipping those another instance
// is taking instead of waiting for it: without the lock, claims that ran
// together took the same rows. SQLite's single writer runs one claim at a
// time.
const (
	dueRows  = `kind = ? AND delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ? AND leased_until <= ?`
	pending  = `SELECT id FROM outbox WHERE ` + dueRows + ` LIMIT 1`
	claimSQL = `UPDATE outbox SET leased_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE ` + dueRows + ` ORDER BY next_attempt_at LIMIT ?%s)
		RETURNING id, kind, payload, attempts, created_at`
)

// claimQuery is claimSQL for dialect d.
func claimQuery(d db.Dialect) string {
	if d == db.Postgres {
		return fmt.Sprintf(claimSQL, " FOR UPDATE SKIP LOCKED")
	}
	return fmt.Sprintf(claimSQL, "")
}

// claimDue leases up to limit due messages of kind to this process.
func (o *Outbox) claimDue(ctx context.Context, kind string, limit int) ([]claimed, error) {
	if limit <= 0 {
		return nil, nil
	}
	now := o.now().UnixMilli()
	// An idle poll reads, on the read pool: no write transaction.
	var id string
	err := o.db.QueryRow(ctx, pending, kind, now, now).Scan(&id)
	if errors.Is(err, db.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("outbox: due: %w", err)
	}
	lease := now + o.Lease.Milliseconds()
	var batch []claimed
	err = o.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		batch, err = db.QueryAll(ctx, tx, func(rows *sql.Rows) (c claimed, err error) {
			var payload string
			var created int64
			err = rows.Scan(&c.ID, &c.Kind, &payload, &c.Attempt, &created)
			c.Payload, c.Created, c.lease = []byte(payload), time.UnixMilli(created), lease
			return c, err
		}, o.claim, lease, kind, now, now, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("outbox: claim: %w", err)
	}
	return batch, nil
}

// deliver makes one attempt and records its outcome.
func (o *Outbox) deliver(ctx context.Context, c claimed) {
	k := o.kinds[c.Kind]
	attemptCtx, cancel := context.WithTimeout(ctx, o.Timeout)
	err := k.deliverer.Deliver(attemptCtx, c.Message)
	cancel()
	if o.Observe != nil {
		o.Observe(c.Kind, err)
	}
	// The outcome is recorded even when ctx ended during the attempt.
	o.record(context.WithoutCancel(ctx), c, k.policy, err)
}

// record writes the outcome of an attempt, unless the message's lease was
// lost meanwhile (the attempt outlived it and another claim owns the
// message): then the outcome is the newer attempt's to write.
func (o *Outbox) record(ctx context.Context, c claimed, p Policy, failure error) {
	now := o.now()
	payload := c.Payload
	if p.Erase != nil {
		payload = p.Erase(payload)
	}
	log := o.log.With("id", c.ID, "kind", c.Kind, "attempts", c.Attempt)
	var q string
	var args []any
	wait, again := retry(p, c.Attempt, failure)
	switch {
	case failure == nil:
		q, args = `UPDATE outbox SET delivered_at = ?, payload = ?, leased_until = 0, last_error = '' WHERE id = ? AND leased_until = ?`,
			[]any{now.UnixMilli(), string(payload), c.ID, c.lease}
	case !again:
		log.Error("outbox: giving up", "err", failure)
		q, args = `UPDATE outbox SET given_up_at = ?, payload = ?, leased_until = 0, last_error = ? WHERE id = ? AND leased_until = ?`,
			[]any{now.UnixMilli(), string(payload), lastError(failure), c.ID, c.lease}
	default:
		log.Warn("outbox: will retry", "in", wait, "err", failure)
		q, args = `UPDATE outbox SET next_attempt_at = ?, leased_until = 0, last_error = ? WHERE id = ? AND leased_until = ?`,
			[]any{now.Add(wait).UnixMilli(), lastError(failure), c.ID, c.lease}
	}
	err := db.ExecOne(ctx, o.db, q, args...)
	switch {
	case errors.Is(err, db.ErrNotFound):
		log.Warn("outbox: the lease ran out during the attempt; its outcome is left to the next claim", "err", failure)
	case err != nil:
		log.Error("outbox: record outcome", "err", err)
	}
}

// retry says whether, and after how long, a failed attempt n is tried
// again: never after a permanent failure, else per the kind's Retry, and
// no sooner than the deliverer's RetryAfter.
func retry(p Policy, n int, failure error) (time.Duration, bool) {
	if failure == nil || errors.Is(failure, ErrPermanent) {
		return 0, false
	}
	wait, again := p.Retry(n)
	var ra *retryAfterError
	if errors.As(failure, &ra) {
		wait = max(wait, min(ra.after, maxRetryAfter))
	}
	return wait, again
}

// lastError is err's text, cut to maxErrorBytes.
func lastError(err error) string {
	s := err.Error()
	if len(s) > maxErrorBytes {
		s = strings.ToValidUTF8(s[:maxErrorBytes], "")
	}
	return s
}
