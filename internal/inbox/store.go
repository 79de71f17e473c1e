package inbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/errs"
)

// Page sizes of List.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

const messageColumns = `id, source_kind, source_id, source_name, type, message, code_sealed, reference, created_at, expires_at, read_at`

var (
	errBadLimit  = errs.E(errs.Invalid, "invalid_limit", fmt.Sprintf("Parameter \"limit\" must be an integer from 1 to %d", MaxLimit))
	errBadCursor = errs.E(errs.Invalid, "invalid_cursor", "Parameter \"before\" must be the id of a message in your inbox")
	errNotFound  = errs.E(errs.NotFound, "message_not_found", "No message in your inbox has this id")
)

// List returns up to limit of userID's messages, newest first, older than
// the message before when it is not "". A limit of 0 means DefaultLimit.
// Errors are *errs.Error for a limit out of 1–MaxLimit and for a before that
// is not one of the user's messages.
func (s *Service) List(ctx context.Context, userID string, limit int, before string) ([]Message, error) {
	msgs, _, err := s.page(ctx, userID, limit, before)
	return msgs, err
}

// page is List, also telling whether older messages remain.
func (s *Service) page(ctx context.Context, userID string, limit int, before string) ([]Message, bool, error) {
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		return nil, false, errBadLimit
	}
	beforeNum, err := s.cursor(ctx, userID, before)
	if err != nil {
		return nil, false, err
	}
	// One row more than asked says whether there is another page.
	msgs, err := s.query(ctx, `SELECT `+messageColumns+` FROM inbox_messages
		WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?`, userID, beforeNum, limit+1)
	if err != nil {
		return nil, false, err
	}
	if len(msgs) > limit {
		return msgs[:limit], true, nil
	}
	return msgs, false, nil
}

// cursor returns the number below which a page starts: that of the
// message before, or past the newest message when before is "".
func (s *Service) cursor(ctx context.Context, userID, before string) (int64, error) {
	if before == "" {
		return 1<<63 - 1, nil
	}
	num, ok := s.ids.parse(before)
	if !ok {
		return 0, errBadCursor
	}
	var one int
	err := s.db.QueryRow(ctx, `SELECT 1 FROM inbox_messages WHERE id = ? AND user_id = ?`, num, userID).Scan(&one)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return 0, errBadCursor
	case err != nil:
		return 0, fmt.Errorf("inbox: read cursor: %w", err)
	}
	return num, nil
}

// since returns up to n of userID's messages numbered after num, oldest
// first: what a stream has not sent yet.
func (s *Service) since(ctx context.Context, userID string, num int64, n int) ([]Message, error) {
	return s.query(ctx, `SELECT `+messageColumns+` FROM inbox_messages
		WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?`, userID, num, n)
}

// liveCode is the condition, taking now in Unix milliseconds, of a message
// that shows a code; scan decides the same way.
const liveCode = `code_sealed IS NOT NULL AND (expires_at IS NULL OR expires_at > ?)`

// recentCodes returns the numbers of userID's newest messages that show a
// code, oldest first, at most watchedCodes of them, among its last
// codeWindow messages: the codes a page rendered before its stream opened
// may still show. A client resuming after message number away (0: a new
// client) may also show codes erased while it was away: those erased since
// that message was created are returned too, for the stream to report dead. The codes stay sealed: only whether there is one matters here.
func (s *Service) recentCodes(ctx context.Context, userID string, away int64) ([]int64, error) {
	nums, err := db.QueryAll(ctx, s.db, db.Column[int64], `SELECT id FROM (SELECT id, code_sealed, expires_at, code_erased_at FROM inbox_messages
		WHERE user_id = ? ORDER BY id DESC LIMIT ?) recent
		WHERE `+liveCode+` OR code_erased_at >= (SELECT created_at FROM inbox_messages WHERE id = ? AND user_id = ?)
		ORDER BY id DESC LIMIT ?`, userID, codeWindow, s.now().UnixMilli(), away, userID, watchedCodes)
	slices.Reverse(nums)
	return nums, err
}

// deadCodes returns userID's messages among nums (at most watchedCodes)
// that no longer show a code. Live codes are not unsealed.
func (s *Service) deadCodes(ctx context.Context, userID string, nums []int64) ([]Message, error) {
	now := s.now()
	args := make([]any, 0, len(nums)+2)
	args = append(args, userID)
	for _, num := range nums {
		args = append(args, num)
	}
	args = append(args, now.UnixMilli())
	return s.queryAt(ctx, s.db, now, `SELECT `+messageColumns+` FROM inbox_messages
		WHERE user_id = ? AND id IN (?`+strings.Repeat(", ?", len(nums)-1)+`) AND NOT (`+liveCode+`)`, args...)
}

// newest returns the number of userID's newest committed message, 0 if
// none.
func (s *Service) newest(ctx context.Context, userID string) (int64, error) {
	var num sql.NullInt64
	err := s.db.QueryRow(ctx, `SELECT (SELECT MAX(id) FROM inbox_messages WHERE user_id = u.id)
		FROM users u WHERE u.id = ?`, userID).Scan(&num)
	switch {
	case errors.Is(err, db.ErrNotFound):
		return 0, errs.E(errs.NotFound, "user_not_found", "This account no longer exists")
	case err != nil:
		return 0, fmt.Errorf("inbox: read newest message: %w", err)
	}
	return num.Int64, nil
}

// MarkRead marks userID's message id read, once: reading it again keeps the
// first time. It returns the message; another user's message is NotFound.
func (s *Service) MarkRead(ctx context.Context, userID, id string) (Message, error) {
	num, ok := s.ids.parse(id)
	if !ok {
		return Message{}, errNotFound
	}
	now := s.now()
	var msgs []Message
	err := s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		var err error
		msgs, err = s.queryAt(ctx, tx, now, `UPDATE inbox_messages SET read_at = COALESCE(read_at, ?)
			WHERE id = ? AND user_id = ? RETURNING `+messageColumns, now.UnixMilli(), num, userID)
		return err
	})
	if err != nil {
		return Message{}, err
	}
	if len(msgs) == 0 {
		return Message{}, errNotFound
	}
	return msgs[0], nil
}

func (s *Service) query(ctx context.Context, query string, args ...any) ([]Message, error) {
	return s.queryAt(ctx, s.db, s.now(), query, args...)
}

// queryAt runs on q a query returning messageColumns; now decides which
// codes are still alive.
func (s *Service) queryAt(ctx context.Context, q db.Querier, now time.Time, query string, args ...any) ([]Message, error) {
	msgs, err := db.QueryAll(ctx, q, func(rows *sql.Rows) (Message, error) { return s.scan(rows, now) }, query, args...)
	if err != nil {
		return nil, fmt.Errorf("inbox: query messages: %w", err)
	}
	return msgs, nil
}

func (s *Service) scan(rows *sql.Rows, now time.Time) (Message, error) {
	var (
		m                  Message
		sealed, reference  sql.NullString
		created            int64
		expires, readMilli sql.NullInt64
	)
	err := rows.Scan(&m.num, &m.Source.Kind, &m.Source.ID, &m.Source.Name, &m.Type, &m.Message, &sealed, &reference, &created, &expires, &readMilli)
	if err != nil {
		return Message{}, fmt.Errorf("inbox: scan message: %w", err)
	}
	m.ID = s.ids.format(m.num)
	m.Reference = reference.String
	m.CreatedAt = time.UnixMilli(created).UTC()
	m.ExpiresAt = fromMillis(expires)
	m.ReadAt = fromMillis(readMilli)
	if sealed.Valid && (m.ExpiresAt.IsZero() || m.ExpiresAt.After(now)) {
		code, err := s.keys.Open(codePurpose, sealed.String)
		if err != nil {
			return Message{}, fmt.Errorf("inbox: open code of %s: %w", m.ID, err)
		}
		m.Code = string(code)
	}
	return m, nil
}

func fromMillis(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMilli(v.Int64).UTC()
}
