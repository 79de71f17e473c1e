package inbox

import (
	"context"
	"fmt"
	"strings"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/realtime"
)

// The data of the inbox's realtime events: what a stream must look at
// again. A codes event also makes a stream send new messages.
var (
	eventMessages = []byte("messages")
	eventCodes    = []byte("codes")
)

// txNotifier is a broker whose subscribers, on every instance, hear the
// notifications a transaction on the store sends on Channel with
// realtime.Encode's payload: a *realtime.Postgres listening on the store's
// database.
type txNotifier interface {
	Channel() string
}

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

// The parts of the statement that prepares a PostgreSQL transaction.
const (
	// lockUser takes the user's ordering lock, a transaction-level
	// advisory lock in the two-key space, which nothing else in Linkbox
	// uses, of class "LKIB"; the key is the user id's 32-bit hash.
	lockUser = `pg_advisory_xact_lock(1280002370, hashtext(?))`
	// notifyUser queues the user's event, which PostgreSQL sends as the
	// transaction commits, and never if it rolls back.
	notifyUser = `pg_notify(?, ?)`
)

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
// On PostgreSQL with a txNotifier broker the transaction sends the
// notification itself, in the statement that locks, so no request waits
// after its commit for the broker's one notifier connection, and this
// instance's streams hear it from the broker's LISTEN as the others do.
// Otherwise the broker publishes it once tx has committed.
func (s *Service) prepare(ctx context.Context, tx *db.Tx, userID string, lock, codes bool) error {
	w := tx.Value(writesKey{userID}, func() any { return &userWrites{} }).(*userWrites)
	lock = lock && !w.locked && s.db.Dialect == db.Postgres
	tell := !w.told || codes && !w.codes
	var calls []string
	var args []any
	if lock {
		calls, args = append(calls, lockUser), append(args, userID)
	}
	if tell && s.channel != "" {
		payload, err := realtime.Encode(realtime.Event{Topic: Topic(userID), Data: eventData(codes)})
		if err != nil {
			return fmt.Errorf("inbox: announce to user %s: %w", userID, err)
		}
		calls, args = append(calls, notifyUser), append(args, s.channel, payload)
	}
	if len(calls) > 0 {
		if _, err := tx.Exec(ctx, `SELECT `+strings.Join(calls, ", "), args...); err != nil {
			return fmt.Errorf("inbox: lock or announce to user %s: %w", userID, err)
		}
	}
	if !w.told && s.channel == "" {
		tx.AfterCommit(func() { s.publish(ctx, userID, eventData(w.codes)) })
	}
	w.locked = w.locked || lock
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
