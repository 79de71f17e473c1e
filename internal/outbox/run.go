package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

// claimBatch bounds the messages one claim leases.
const claimBatch = 32

// maxErrorBytes caps the last error kept on a row.
const maxErrorBytes = 1000

// Run delivers due messages until ctx ends. Several processes may run
// outboxes on one store.
func (o *Outbox) Run(ctx context.Context) {
	t := time.NewTicker(o.Poll)
	defer t.Stop()
	for {
		for {
			n, err := o.deliverDue(ctx)
			if err != nil && ctx.Err() == nil {
				o.log.Error("outbox: delivery round failed", "err", err)
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

// claimed is a message leased to this process until lease.
type claimed struct {
	Message
	lease int64
}

// deliverDue claims a batch of due messages and delivers them, returning
// how many it claimed.
func (o *Outbox) deliverDue(ctx context.Context) (int, error) {
	batch, err := o.claimDue(ctx)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	sem := make(chan struct{}, o.Workers)
	var wg sync.WaitGroup
	for _, m := range batch {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			o.deliver(ctx, m)
		})
	}
	wg.Wait()
	return len(batch), nil
}

// queries returns the statements that find a due message and that lease a
// batch of them, for n kinds.
func queries(d db.Dialect, n int) (pending, claim string) {
	due := `delivered_at IS NULL AND given_up_at IS NULL AND next_attempt_at <= ? AND leased_until <= ?
		AND kind IN (` + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`
	// On PostgreSQL instances claim side by side: each skips the rows
	// another is claiming instead of waiting for its commit. SQLite's
	// single writer runs one claim at a time.
	lock := ""
	if d == db.Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	pending = `SELECT id FROM outbox WHERE ` + due + ` LIMIT 1`
	claim = `UPDATE outbox SET leased_until = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox WHERE ` + due + `
			ORDER BY next_attempt_at LIMIT ` + strconv.Itoa(claimBatch) + lock + `)
		RETURNING id, kind, payload, attempts, created_at`
	return pending, claim
}

// claimDue leases up to claimBatch due messages to this process.
func (o *Outbox) claimDue(ctx context.Context) ([]claimed, error) {
	if len(o.names) == 0 {
		return nil, nil
	}
	now := o.now().UnixMilli()
	args := []any{now, now}
	for _, k := range o.names {
		args = append(args, k)
	}
	// An idle poll reads, on the read pool: no write transaction.
	var id string
	err := o.db.QueryRow(ctx, o.pending, args...).Scan(&id)
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
		}, o.claim, append([]any{lease}, args...)...)
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
