package accounts

import (
	"context"
	"fmt"
)

// Sweep deletes what no request will ever look at again: SMS quotas whose
// window and cooldown have both passed (a new window starts from nothing
// anyway), and expired refresh tokens, which sign-in sweeps only for the
// account signing in. The server runs it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	// The last send is the latest event of a quota: once it is older than
	// the window and the cooldown, so is the window's start.
	quiet := now.Add(-max(smsWindow, smsCooldown)).UnixMilli()
	if _, err := s.db.SweepExpired(ctx, "sms_quota", "phone", "last_sent_at", quiet); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	if _, err := s.db.SweepExpired(ctx, "refresh_tokens", "id", "expires_at", now.UnixMilli()); err != nil {
		return fmt.Errorf("accounts: %w", err)
	}
	return nil
}
