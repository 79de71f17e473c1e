package devicelinks

import (
	"context"
	"fmt"
	"time"
)

// How long dead rows are kept before Sweep deletes them: a link or device
// session, and its states, a day past its expiry (a callback later than
// that finds an unknown state: a 400 page rather than a 303 "expired"); an
// event 30 days, the window GET /events lets a supplier catch up in.
const (
	deadRowTTL = 24 * time.Hour
	eventTTL   = 30 * 24 * time.Hour
)

// Sweep deletes the expired link sessions, OAuth states, device sessions
// and select states dead for over deadRowTTL, and the events older than
// eventTTL, at most db.SweepBatch rows per transaction, found on the read
// pool (see db.SweepExpired). The server runs it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	now := s.now()
	for _, t := range []struct {
		table, key, column string
		keep               time.Duration
	}{
		{"devicelinks_states", "state_hash", "expires_at", deadRowTTL},
		{"devicelinks_sessions", "token_hash", "expires_at", deadRowTTL},
		{"devicelinks_select_states", "state_hash", "expires_at", deadRowTTL},
		{"devicelinks_device_sessions", "token_hash", "expires_at", deadRowTTL},
		{"devicelinks_events", "id", "created_at", eventTTL},
	} {
		if _, err := s.db.SweepExpired(ctx, t.table, t.key, t.column, now.Add(-t.keep).UnixMilli()); err != nil {
			return fmt.Errorf("devicelinks: sweep: %w", err)
		}
	}
	return nil
}
