package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

const (
	// revocationPoll is how often Run looks for new revocations: a
	// revoked stream closes within about this long of the commit, on every
	// instance. Each look is one range read of the primary key.
	revocationPoll = 250 * time.Millisecond
	// revocationPage bounds the revocations one read loads.
	revocationPage = 500
	// revocationTTL is how long a revocation is kept: an instance whose
	// store was out of reach resumes from the last one it applied, so the
	// rows must outlast any outage it rides out.
	revocationTTL = 24 * time.Hour
	// revocationMemory is how long an applied revocation is remembered
	// for streams being admitted meanwhile, whose credential was checked
	// before it (see register).
	revocationMemory = time.Minute
	// revocationLookback is how far back Run starts: streams may open
	// before its first read, and a revocation committed meanwhile must
	// still reach them. Minutes rather than the moment of the read, as
	// the rows are timed by the clocks of the processes that wrote them.
	revocationLookback = 5 * time.Minute
)

// A revocation says that the user's streams opened with session (every
// one of them when session is "") must close.
type revocation struct {
	id      int64
	userID  string
	session string
	applied time.Time // when this instance applied it
}

// names reports whether rv closes st. A stream whose session is unknown
// closes at every revocation of its user: it may be the one meant.
func (rv revocation) names(st *stream) bool {
	return rv.userID == st.userID && (rv.session == "" || st.session == "" || rv.session == st.session)
}

// RevokeSessions records, inside the caller's transaction tx, that the
// user's streams opened with session — every one of the user's streams when
// session is "" — must close. This instance's close as tx commits; those of
// every other instance within about half a second (Run applies it),
// including when the revocation was made by another process (`linkbox
// users set-status` on SQLite); none closes if the transaction rolls back.
//
// On PostgreSQL it locks the revocations until q commits, so that they
// commit in the order of their ids and Run, which reads past the last id
// it saw, misses none: call it as the transaction's last statement, so
// that no other lock is waited for while it is held.
func (s *Service) RevokeSessions(ctx context.Context, tx *db.Tx, userID, session string) error {
	if s.db.Dialect == db.Postgres {
		// Identity values are handed out as inserts come, not in commit
		// order. The lock lets plain reads through.
		if _, err := tx.Exec(ctx, `LOCK TABLE stream_revocations IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("inbox: lock stream revocations: %w", err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO stream_revocations (user_id, session, created_at) VALUES (?, ?, ?)`,
		userID, session, s.now().UnixMilli())
	if err != nil {
		return fmt.Errorf("inbox: record stream revocation: %w", err)
	}
	tx.AfterCommit(func() { s.closeNamed(revocation{userID: userID, session: session}) })
	return nil
}

// closeNamed closes this instance's streams that rv names, at once. Run
// applies rv again when it reads it, which finds them gone: rv is not
// recorded as applied here, since ids of other revocations may lie below
// its own.
func (s *Service) closeNamed(rv revocation) {
	var closing []*stream
	s.streamsMu.Lock()
	for _, st := range s.byUser[rv.userID] {
		if rv.names(st) {
			closing = append(closing, st)
		}
	}
	s.streamsMu.Unlock()
	for _, st := range closing {
		st.end(errRevoked)
	}
}

// Run applies to this instance's streams the revocations recorded by any
// process, until ctx ends: every revocationPoll it reads those after the
// last it applied, starting with those of the last revocationLookback. Only
// a serving process runs it.
func (s *Service) Run(ctx context.Context) {
	t := time.NewTicker(revocationPoll)
	defer t.Stop()
	after, failing := int64(-1), false // -1: where to start is not known yet
	for {
		var err error
		if after < 0 {
			after, err = s.startingRevocation(ctx)
		} else {
			after, err = s.applyRevocations(ctx, after)
		}
		failing = s.notePoll(ctx, err, failing)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// notePoll logs the first failure of a series and the recovery: a store out
// of reach would otherwise log four lines a second. It returns whether this
// poll failed.
func (s *Service) notePoll(ctx context.Context, err error, failing bool) bool {
	switch {
	case err != nil && !failing && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "inbox: cannot read stream revocations; revoked streams stay open until it can", "err", err)
	case err == nil && failing:
		s.log.InfoContext(ctx, "inbox: reading stream revocations again")
	}
	return err != nil
}

// startingRevocation returns the id of the newest revocation older than
// revocationLookback, 0 if none, or -1 and the error. It walks back from
// the newest: only the lookback's rows are read.
func (s *Service) startingRevocation(ctx context.Context) (int64, error) {
	var id int64
	err := s.db.QueryRow(ctx, `SELECT id FROM stream_revocations WHERE created_at <= ? ORDER BY id DESC LIMIT 1`,
		s.now().Add(-revocationLookback).UnixMilli()).Scan(&id)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return 0, nil
	case err != nil:
		return -1, fmt.Errorf("inbox: read where stream revocations start: %w", err)
	}
	return id, nil
}

// applyRevocations applies the revocations numbered after after, and
// returns the id of the last one applied.
func (s *Service) applyRevocations(ctx context.Context, after int64) (int64, error) {
	for {
		revs, err := db.QueryAll(ctx, s.db, func(rows *sql.Rows) (rv revocation, err error) {
			return rv, rows.Scan(&rv.id, &rv.userID, &rv.session)
		}, `SELECT id, user_id, session FROM stream_revocations WHERE id > ? ORDER BY id LIMIT ?`, after, revocationPage)
		if err != nil {
			return after, fmt.Errorf("inbox: read stream revocations: %w", err)
		}
		if len(revs) == 0 {
			return after, nil
		}
		s.apply(revs)
		after = revs[len(revs)-1].id
		if len(revs) < revocationPage {
			return after, nil
		}
	}
}

// apply closes the streams that revs name, and remembers revs for the
// streams being admitted meanwhile.
func (s *Service) apply(revs []revocation) {
	now := s.now()
	var closing []*stream
	s.streamsMu.Lock()
	for _, rv := range revs {
		for _, st := range s.byUser[rv.userID] {
			if rv.names(st) {
				closing = append(closing, st)
			}
		}
		rv.applied = now
		s.recent = append(s.recent, rv)
	}
	s.applied = revs[len(revs)-1].id
	s.forgetRevocations(now.Add(-revocationMemory))
	s.streamsMu.Unlock()
	for _, st := range closing {
		st.end(errRevoked)
	}
}

// forgetRevocations drops the revocations applied before cutoff from
// recent; s.streamsMu is held.
func (s *Service) forgetRevocations(cutoff time.Time) {
	n := 0
	for n < len(s.recent) && s.recent[n].applied.Before(cutoff) {
		n++
	}
	if n > 0 {
		s.forgotten = s.recent[n-1].id
		s.recent = slices.Delete(s.recent, 0, n)
	}
}

// Sweep deletes the revocations older than revocationTTL.
func (s *Service) Sweep(ctx context.Context) error {
	cutoff := s.now().Add(-revocationTTL).UnixMilli()
	err := db.WalkKeys(func(after int64) ([]int64, error) {
		return db.QueryAll(ctx, s.db, db.Column[int64], `SELECT id FROM stream_revocations WHERE id > ? AND created_at <= ? ORDER BY id LIMIT ?`, after, cutoff, db.SweepBatch)
	}, func(ids []int64) error {
		return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
			_, err := tx.Exec(ctx, `DELETE FROM stream_revocations WHERE id >= ? AND id <= ? AND created_at <= ?`,
				ids[0], ids[len(ids)-1], cutoff)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("inbox: sweep stream revocations: %w", err)
	}
	return nil
}
