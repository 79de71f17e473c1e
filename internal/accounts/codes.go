package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
	"github.com/linkbox/linkbox/internal/ids"
	"github.com/linkbox/linkbox/internal/secrets"
)

// Purposes of verification codes: each user has at most one live code per
// purpose.
const (
	purposeVerify = "verify"
	purposeReset  = "reset"
)

// smsBodies are the texts of the codes, by purpose.
var smsBodies = map[string]string{
	purposeVerify: "Your Linkbox verification code is %s. It expires in 10 minutes.",
	purposeReset:  "Your Linkbox password reset code is %s. It expires in 10 minutes.",
}

// sendCode replaces u's code for purpose with a new one and queues its SMS,
// all inside tx. It returns a rate_limited error, writing nothing, when the
// phone's SMS quota refuses.
func (s *Service) sendCode(ctx context.Context, tx *db.Tx, u User, purpose string, now time.Time) error {
	if err := takeSMSQuota(ctx, tx, purpose, u.Phone, now); err != nil {
		return err
	}
	return s.queueCode(ctx, tx, u, purpose, now)
}

// queueCode is sendCode once the quota has agreed.
func (s *Service) queueCode(ctx context.Context, tx *db.Tx, u User, purpose string, now time.Time) error {
	code := ids.Digits(6)
	_, err := tx.Exec(ctx, `INSERT INTO verification_codes (user_id, purpose, code_hash, attempts, sent_at, expires_at)
		VALUES (?, ?, ?, 0, ?, ?)
		ON CONFLICT (user_id, purpose) DO UPDATE SET code_hash = excluded.code_hash,
			attempts = 0, sent_at = excluded.sent_at, expires_at = excluded.expires_at`,
		u.ID, purpose, s.codeHash(u.ID, purpose, code), now.UnixMilli(), now.Add(codeTTL).UnixMilli())
	if err != nil {
		return fmt.Errorf("accounts: store code: %w", err)
	}
	if err := s.smsq.Enqueue(ctx, tx, u.Phone, fmt.Sprintf(smsBodies[purpose], code)); err != nil {
		return fmt.Errorf("accounts: queue SMS: %w", err)
	}
	return nil
}

// codeHash binds a code to its user and purpose, so a stored hash cannot be
// matched by a code sent for anything else.
func (s *Service) codeHash(userID, purpose, code string) string {
	return s.keys.Hash("verification-code", userID+"|"+purpose+"|"+code)
}

// takeSMSQuota counts one SMS for purpose to phone, or refuses with
// rate_limited when the last one is younger than the cooldown or the
// hour-long window that began with the first is full. Each purpose has a
// quota of its own: a stranger asking for this phone's password reset must
// not spend the quota of its sign-up code. The conditional upsert decides
// atomically on both engines, so concurrent requests cannot both slip under
// the cap.
func takeSMSQuota(ctx context.Context, tx *db.Tx, purpose, phone string, now time.Time) error {
	ms := now.UnixMilli()
	key := purpose + ":" + phone
	windowOver, cooled := now.Add(-smsWindow).UnixMilli(), now.Add(-smsCooldown).UnixMilli()
	err := db.ExecOne(ctx, tx, `INSERT INTO sms_quota (quota_key, window_start, sent, last_sent_at) VALUES (?, ?, 1, ?)
		ON CONFLICT (quota_key) DO UPDATE SET
			sent = CASE WHEN sms_quota.window_start <= ? THEN 1 ELSE sms_quota.sent + 1 END,
			window_start = CASE WHEN sms_quota.window_start <= ? THEN excluded.window_start ELSE sms_quota.window_start END,
			last_sent_at = excluded.last_sent_at
		WHERE sms_quota.last_sent_at <= ? AND (sms_quota.window_start <= ? OR sms_quota.sent < ?)`,
		key, ms, ms, windowOver, windowOver, cooled, windowOver, smsPerWindow)
	if !errors.Is(err, db.ErrNotFound) {
		return err
	}
	var start, last int64
	var sent int
	if err := tx.QueryRow(ctx, `SELECT window_start, sent, last_sent_at FROM sms_quota WHERE quota_key = ?`,
		key).Scan(&start, &sent, &last); err != nil {
		return fmt.Errorf("accounts: read SMS quota: %w", err)
	}
	var wait time.Duration
	if last > cooled {
		wait = time.UnixMilli(last).Add(smsCooldown).Sub(now)
	}
	if start > windowOver && sent >= smsPerWindow {
		wait = max(wait, time.UnixMilli(start).Add(smsWindow).Sub(now))
	}
	e := rateLimited(wait)
	e.Message = "Too many SMS to this phone number; try again later"
	return e
}

// useCode spends one attempt on u's code for purpose and compares it. The
// attempt is counted before the comparison, by a conditional update that
// takes the row's lock, so that concurrent guesses cannot share one attempt.
// The returned verdict (nil: the code matched and is deleted) is an outcome
// to report after the transaction commits, so the attempt stays counted; err
// is a store failure that must roll it back.
func (s *Service) useCode(ctx context.Context, tx *db.Tx, u User, purpose, code string, now time.Time) (verdict, err error) {
	err = db.ExecOne(ctx, tx, `UPDATE verification_codes SET attempts = attempts + 1
		WHERE user_id = ? AND purpose = ? AND attempts < ? AND expires_at > ?`,
		u.ID, purpose, maxCodeAttempts, now.UnixMilli())
	if errors.Is(err, db.ErrNotFound) {
		return deadCodeReason(ctx, tx, u.ID, purpose, now)
	}
	if err != nil {
		return nil, err
	}
	var stored string
	if err := tx.QueryRow(ctx, `SELECT code_hash FROM verification_codes WHERE user_id = ? AND purpose = ?`,
		u.ID, purpose).Scan(&stored); err != nil {
		return nil, err
	}
	if !secrets.Equal(stored, s.codeHash(u.ID, purpose, code)) {
		return errInvalidCode, nil
	}
	_, err = tx.Exec(ctx, `DELETE FROM verification_codes WHERE user_id = ? AND purpose = ?`, u.ID, purpose)
	return nil, err
}

// deadCodeReason explains why no attempt could be spent.
func deadCodeReason(ctx context.Context, tx *db.Tx, userID, purpose string, now time.Time) (verdict, err error) {
	var attempts int
	var expires int64
	err = tx.QueryRow(ctx, `SELECT attempts, expires_at FROM verification_codes WHERE user_id = ? AND purpose = ?`,
		userID, purpose).Scan(&attempts, &expires)
	switch {
	case errors.Is(err, db.ErrNotFound):
		// No code: the same answer as an unknown phone's.
		return errInvalidCode, nil
	case err != nil:
		return nil, err
	case expires <= now.UnixMilli():
		return errCodeExpired, nil
	}
	return errTooManyAttempts, nil
}
