package accounts

import (
	"context"
	"fmt"
	"time"

	"github.com/linkbox/linkbox/internal/db"
)

// pendingGrace is how long a sign-up never verified outlives its last
// verification code (or its creation, if it has none): a day in which to
// ask for a new code, which needs the account, rather than sign up again.
const pendingGrace = 24 * time.Hour

// Sweep deletes what no request will ever look at again: SMS quotas whose
// window and cooldown have both passed (a new window starts from nothing
// anyway), expired refresh tokens (rotation leaves a row per refresh), and
// pending accounts whose verification lapsed over
// pendingGrace ago, which otherwise only a new sign-up for their phone would
// delete. The server runs it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	// The last send is the latest event of a quota: once it is older than
	// the window and the cooldown, so is the window's start.
	quiet := now.Add(-max(smsWindow, smsCooldown)).UnixMilli()
	if _, err := s.db.SweepExpired(ctx, "sms_quota", "quota_key", "last_sent_at", quiet); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if _, err := s.db.SweepExpired(ctx, "refresh_tokens", "id", "expires_at", now.UnixMilli()); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return s.sweepPending(ctx, now.Add(-pendingGrace).UnixMilli())
}

// sweepPending deletes the pending accounts, never verified, created and
// without a live verification code since cutoff (Unix milliseconds). As in
// db.SweepExpired, they are found in key order on the read pool and deleted
// by id, SweepBatch per transaction.
func (s *Service) sweepPending(ctx context.Context, cutoff int64) error {
	err := db.WalkKeys(func(after string) ([]string, error) {
		return db.QueryAll(ctx, s.db, db.Column[string], `SELECT id FROM users WHERE id > ? AND created_at <= ? AND `+lapsedPending+` ORDER BY id LIMIT ?`,
			after, cutoff, cutoff, db.SweepBatch)
	}, func(ids []string) error {
		return s.dropLapsedPending(ctx, ids, cutoff)
	})
	if err != nil {
		return fmt.Errorf("accounts: sweep pending accounts: %w", err)
	}
	return nil
}

// dropLapsedPending deletes, in one transaction, the accounts of ids still
// lapsed at cutoff. The condition is checked again: an account verified or
// sent a new code since it was read stays. Its codes go with it (ON DELETE
// CASCADE).
func (s *Service) dropLapsedPending(ctx context.Context, ids []string, cutoff int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx *db.Tx) error {
		for _, id := range ids {
			_, err := tx.Exec(ctx, `DELETE FROM users WHERE id = ? AND created_at <= ? AND `+lapsedPending,
				id, cutoff, cutoff)
			if err != nil {
				return err
			}
		}
		return nil
	})
}
