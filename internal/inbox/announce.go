package inbox

import (
	"context"
	"fmt"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/realtime"
)

// The data of the inbox's realtime events: what a stream must look at
// again. A codes event also makes a stream send new messages.
var (
	eventMessages = []byte("messages")
	eventCodes    = []byte("codes")
)

// userWrites is what a transaction has done so far about one user's inbox:
// however many messages and codes it writes, it locks the user and
// announces them once.
type userWrites struct {
	locked bool // holds the user's ordering lock (PostgreSQL)
	told   bool // the user's streams will be told to look again
	codes  bool // … at their codes too: one died
}

// writesKey keys a user's userWrites among a transaction's values.
type writesKey struct{ userID string }

// lockUser takes the user's ordering lock on PostgreSQL, a
// transaction-level advisory lock in the two-key space, which nothing else
// in Linkbox uses, of class "LKIB"; the key is the user id's 32-bit hash.
const lockUser = `SELECT pg_advisory_xact_lock(1280002370, hashtext(?))`

// prepare readies tx to write userID's inbox, each step once per
// transaction and user: with lock, it takes the user's ordering lock; and it
// has the user's streams told to look again once tx commits, never before
// (a stream must not look for a message that may yet roll back) — at their
// codes too when codes is set.
//
// One user's messages must commit in number order. SQLite's single writer
// commits in number order anyway; PostgreSQL hands out numbers as inserts
// come, so a writer takes an advisory lock on the user, held until commit,
// before it draws its number. The inbox's own lock, not the user's row: the
// accounts' updates of that row do not wait for the inbox, nor the inbox
// for them. Two users whose ids' hashes collide only wait for each other.
//
// The broker publishes the announcement once tx has committed; on
// PostgreSQL its notifier sends the announcements of concurrent commits in
// one statement. (Sent by the writing transaction itself, NOTIFY made
// PostgreSQL serialize those commits, WAL flush included.)
func (s *Service) prepare(ctx context.Context, tx *db.Tx, userID string, lock, codes bool) error {
	w := tx.Value(writesKey{userID}, func() any { return &userWrites{} }).(*userWrites)
	if lock && !w.locked && s.db.Dialect == db.Postgres {
		if _, err := tx.Exec(ctx, lockUser, userID); err != nil {
			return fmt.Errorf("inbox: lock user %s: %w", userID, err)
		}
		w.locked = true
	}
	if !w.told {
		tx.AfterCommit(func() { s.publish(ctx, userID, eventData(w.codes)) })
	}
	w.told = true
	w.codes = w.codes || codes
	return nil
}

// eventData is the data of the event that tells of new messages, and of a
// code that died when codes is set.
func eventData(codes bool) []byte {
	if codes {
		return eventCodes
	}
	return eventMessages
}

// publish tells userID's open streams to look again, through the broker.
// It never waits for a subscriber and never fails: an error is logged, and
// the message still reaches every client at its next event or
// reconnection.
func (s *Service) publish(ctx context.Context, userID string, data []byte) {
	// The commit is done: a cancelled request must not stop the announcement
	// (a broker that waits for a server bounds the wait itself).
	ctx = context.WithoutCancel(ctx)
	if err := s.broker.Publish(ctx, realtime.Event{Topic: Topic(userID), Data: data}); err != nil {
		s.log.WarnContext(ctx, "inbox: publish failed", "user_id", userID, "err", err)
	}
}
