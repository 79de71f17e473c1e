package outbox

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// Retention is how long a finished message is kept: a delivered one for
// Delivered (its id still answers a receiver's question about it), a
// given-up one for GivenUp, so that an operator has time to see and
// replay it. Sweep deletes them after.
var Retention = struct{ Delivered, GivenUp time.Duration }{7 * 24 * time.Hour, 30 * 24 * time.Hour}

// Sweep deletes the messages delivered or given up longer ago than
// Retention says. A pending message is never swept, however old.
func (o *Outbox) Sweep(ctx context.Context) error {
	now := o.now()
	for column, keep := range map[string]time.Duration{"delivered_at": Retention.Delivered, "given_up_at": Retention.GivenUp} {
		if _, err := o.db.SweepExpired(ctx, "outbox", "id", column, now.Add(-keep).UnixMilli()); err != nil {
			return fmt.Errorf("outbox: sweep: %w", err)
		}
	}
	return nil
}

// Depth is how many messages of one kind wait to be delivered, and how long
// the oldest of them has waited: since it came due (a message enqueued for
// later is not waiting before its time), or since it was enqueued once an
// attempt failed.
type Depth struct {
	Kind    string
	Pending int
	Oldest  time.Duration // 0 when none is pending
}

// Depths returns the pending messages of every registered kind, a kind with
// none included at zero, in the order the kinds were registered.
func (o *Outbox) Depths(ctx context.Context) ([]Depth, error) {
	now := o.now()
	type row struct {
		kind    string
		pending int
		oldest  int64
	}
	rows, err := db.QueryAll(ctx, o.db, func(rs *sql.Rows) (row, error) {
		var r row
		return r, rs.Scan(&r.kind, &r.pending, &r.oldest)
	}, `SELECT kind, COUNT(*), MIN(CASE WHEN attempts = 0 THEN next_attempt_at ELSE created_at END) FROM outbox
		WHERE delivered_at IS NULL AND given_up_at IS NULL AND NOT (attempts = 0 AND next_attempt_at > ?)
		GROUP BY kind`, now.UnixMilli())
	if err != nil {
		return nil, fmt.Errorf("outbox: depths: %w", err)
	}
	byKind := map[string]row{}
	for _, r := range rows {
		byKind[r.kind] = r
	}
	out := make([]Depth, 0, len(o.names))
	for _, k := range o.names {
		d := Depth{Kind: k}
		if r, ok := byKind[k]; ok {
			d.Pending, d.Oldest = r.pending, max(now.Sub(time.UnixMilli(r.oldest)), 0)
		}
		out = append(out, d)
	}
	return out, nil
}

// States a listed message is in.
const (
	Pending   = "pending"   // waiting for its next attempt, or being attempted
	Delivered = "delivered" // delivered; kept for Retention.Delivered
	GivenUp   = "given_up"  // given up; kept for Retention.GivenUp, replayable
)

// Entry is a message as an operator lists it; its payload is left out (it
// may hold what only its receiver should read).
type Entry struct {
	ID          string     `json:"id"`
	Kind        string     `json:"kind"`
	State       string     `json:"state"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
	Created     time.Time  `json:"created_at"`
	NextAttempt *time.Time `json:"next_attempt_at,omitempty"` // pending only
	Finished    *time.Time `json:"finished_at,omitempty"`     // delivered or given up
}

// Filter narrows List; its zero value lists every message.
type Filter struct {
	Kind  string // "" for every kind
	State string // Pending, Delivered, GivenUp, or "" for every state
	Limit int    // at most this many, newest first; 0 for 100
}

var errBadState = errs.E(errs.Invalid, "invalid_state", "The state must be pending, delivered or given_up")

// List returns the messages that match f, newest first.
func (o *Outbox) List(ctx context.Context, f Filter) ([]Entry, error) {
	where := map[string]string{
		"":        "TRUE",
		Pending:   "delivered_at IS NULL AND given_up_at IS NULL",
		Delivered: "delivered_at IS NOT NULL",
		GivenUp:   "given_up_at IS NOT NULL",
	}[f.State]
	if where == "" {
		return nil, errBadState
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	return db.QueryAll(ctx, o.db, scanEntry, `SELECT id, kind, attempts, last_error, created_at, next_attempt_at, delivered_at, given_up_at
		FROM outbox WHERE `+where+` AND (? = '' OR kind = ?) ORDER BY created_at DESC, id DESC LIMIT ?`, f.Kind, f.Kind, f.Limit)
}

func scanEntry(rows *sql.Rows) (Entry, error) {
	var e Entry
	var created, next int64
	var delivered, givenUp sql.NullInt64
	if err := rows.Scan(&e.ID, &e.Kind, &e.Attempts, &e.LastError, &created, &next, &delivered, &givenUp); err != nil {
		return e, err
	}
	e.Created = time.UnixMilli(created).UTC()
	at := func(ms int64) *time.Time { t := time.UnixMilli(ms).UTC(); return &t }
	switch {
	case delivered.Valid:
		e.State, e.Finished = Delivered, at(delivered.Int64)
	case givenUp.Valid:
		e.State, e.Finished = GivenUp, at(givenUp.Int64)
	default:
		e.State, e.NextAttempt = Pending, at(next)
	}
	return e, nil
}
