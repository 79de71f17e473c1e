// Package inbox keeps each account's codes and notifications, their read
// state, and streams new ones to the account's open clients as Server-Sent
// Events.
//
// Every message gets a number in the writing transaction, and one user's
// messages commit in number order. Events on the realtime topic
// "inbox:"+userID only say "look again": a stream loads the messages
// numbered after the last one it sent, so a lost, duplicated or coalesced
// event never loses or repeats a message. Numbers are shown only
// enciphered, as message ids, and a client resumes with Last-Event-ID = the
// id of the last message it saw.
package inbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/realtime"
	"github.com/linkbox/linkbox/internal/secrets"
)

// DefaultHeartbeat is how often an idle stream sends a comment: often enough
// that proxies with a 30 s or longer idle timeout keep the connection open.
const DefaultHeartbeat = 25 * time.Second

// codePurpose is the keyring purpose that seals OTP codes at rest.
const codePurpose = "inbox-code"

// Service stores inbox messages and serves them over HTTP.
type Service struct {
	// HeartbeatInterval is how often an idle stream sends a comment line;
	// DefaultHeartbeat unless changed before Routes (zero or less: the
	// default).
	HeartbeatInterval time.Duration

	// StreamsPerUser caps one user's open streams on this instance: a new
	// stream beyond it closes the user's oldest. StreamsPerIP caps the
	// streams of one client address (an IPv6 client's /64) on this
	// instance: a new stream beyond it is refused, 429. Zero: no cap.
	// NewService sets the defaults; change them before Routes.
	StreamsPerUser int
	StreamsPerIP   int

	db     *db.DB
	keys   *secrets.Keyring
	ids    idCodec
	broker realtime.Broker
	log    *slog.Logger
	now    func() time.Time

	// base is the context of the streams' store calls: a stream outlives
	// its request. Close cancels it.
	base   context.Context
	cancel context.CancelFunc

	streamsMu sync.Mutex // guards the fields below
	// byUser holds each user's open streams, oldest first; nil once closed.
	byUser map[string][]*stream
	byAddr map[string]int // open streams per client address (httpx.IPKey)
	open   int            // open streams in all
	// applied is the id of the newest revocation applied to the streams;
	// recent are those applied within revocationMemory, oldest first, and
	// forgotten the newest dropped from recent (see register).
	applied   int64
	recent    []revocation
	forgotten int64
}

// Default caps of a user's and of a client address's streams.
const (
	DefaultStreamsPerUser = 10
	DefaultStreamsPerIP   = 100
)

// NewService returns the inbox over d, sealing codes with keys and announcing
// new messages on broker.
func NewService(d *db.DB, keys *secrets.Keyring, broker realtime.Broker, log *slog.Logger, now func() time.Time) *Service {
	s := &Service{HeartbeatInterval: DefaultHeartbeat, StreamsPerUser: DefaultStreamsPerUser, StreamsPerIP: DefaultStreamsPerIP,
		db: d, keys: keys, ids: newIDCodec(keys.Key(idPurpose)), broker: broker, log: log, now: now,
		byUser: map[string][]*stream{}, byAddr: map[string]int{}}
	s.base, s.cancel = context.WithCancel(context.Background())
	return s
}

// Topic is the realtime topic announcing userID's new messages.
func Topic(userID string) string { return "inbox:" + userID }

// Add stores m in the caller's transaction tx and returns its number, which
// EraseCode takes. The user's streams are told once tx has committed, never
// before: a stream must not look for a message that may yet roll back.
func (s *Service) Add(ctx context.Context, tx *db.Tx, m NewMessage) (int64, error) {
	if err := m.validate(); err != nil {
		return 0, err
	}
	// Before the insert: the number is drawn under the user's lock.
	if err := s.prepare(ctx, tx, m.UserID, true, false); err != nil {
		return 0, err
	}
	var num int64
	err := tx.QueryRow(ctx, `INSERT INTO inbox_messages
		(user_id, source_kind, source_id, source_name, type, message, code_sealed, reference, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		m.UserID, m.Source.Kind, m.Source.ID, m.Source.Name, m.Type, m.Message,
		s.seal(m.Code), nullString(m.Reference, m.Type == TypeOTP), s.now().UnixMilli(), nullMillis(m.ExpiresAt)).Scan(&num)
	if err != nil {
		return 0, fmt.Errorf("inbox: insert message: %w", err)
	}
	return num, nil
}

// seal returns code sealed for storage, or nil (NULL) when there is none.
func (s *Service) seal(code string) any {
	if code == "" {
		return nil
	}
	return s.keys.Seal(codePurpose, []byte(code))
}

// EraseCode forgets the code of message number num, in the caller's
// transaction tx: the OTP is dead (used, or too many wrong tries) and the
// inbox must stop showing it; the user's streams are told once tx has
// committed. Erasing twice is harmless; an unknown message is
// db.ErrNotFound.
func (s *Service) EraseCode(ctx context.Context, tx *db.Tx, num int64) error {
	var userID string
	err := tx.QueryRow(ctx, `UPDATE inbox_messages SET code_sealed = NULL, code_erased_at = COALESCE(code_erased_at, ?)
		WHERE id = ? RETURNING user_id`, s.now().UnixMilli(), num).Scan(&userID)
	if err != nil {
		return fmt.Errorf("inbox: erase code of message %d: %w", num, err)
	}
	return s.prepare(ctx, tx, userID, false, true)
}

func nullString(v string, keep bool) any {
	if !keep {
		return nil
	}
	return v
}

func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
